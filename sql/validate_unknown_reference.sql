-- Values of a reference column that are missing from the referenced table's key: one row per
-- unknown value (first line, number of rows), first 50 by line, with the count of unknown values.
-- Placeholders: {raw_table}, {column}, {parent_table}, {parent_column} (quoted contract names).
with child as (
    select line, {column} as value
    from {raw_table}
    where {column} is not null
),
parent as (
    select distinct {parent_column} as value
    from {parent_table}
),
unknown as (
    select child.value, min(child.line) as first_line, count(*) as rows
    from child
    anti join parent on child.value = parent.value
    group by child.value
),
final as (
    select *, count(*) over () as total
    from unknown
    order by first_line
    limit 50
)
select * from final

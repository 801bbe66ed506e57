-- Key values that occur more than once: every repeated row after the first, first 50 by line,
-- with the total count. Placeholders: {raw_table}; {key} = key columns joined with ' / '.
with keyed as (
    select line, {key} as key_value
    from {raw_table}
),
numbered as (
    select line, key_value,
        row_number() over (partition by key_value order by line) as occurrence,
        min(line) over (partition by key_value) as first_line
    from keyed
    where key_value is not null
),
repeated as (
    select line, key_value, first_line, count(*) over () as total
    from numbered
    where occurrence > 1
),
final as (
    select * from repeated
    order by line
    limit 50
)
select * from final

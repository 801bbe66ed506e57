-- The tables and views already in the database file, with their columns in order: read before
-- the schema is created or extended, to recognise an older safestock's tables (and widen their
-- columns) and to refuse a table of someone else's that is named like one of ours.
with relations as (
    select table_name, table_type
    from information_schema.tables
    where table_catalog = current_database() and table_schema = current_schema()
),

relation_columns as (
    select table_name, column_name, lower(data_type) as data_type, ordinal_position
    from information_schema.columns
    where table_catalog = current_database() and table_schema = current_schema()
),

final as (
    select
        r.table_name,
        r.table_type,
        c.column_name,
        c.data_type,
        c.ordinal_position
    from relations as r
    left join relation_columns as c on c.table_name = r.table_name
)

select * from final
order by table_name, ordinal_position;

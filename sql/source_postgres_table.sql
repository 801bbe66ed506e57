-- Pull one input table from PostgreSQL (run by the PostgreSQL server through ADBC, not by DuckDB):
-- the configured table, view or query with its columns renamed to the contract's, plus the key
-- columns that name a row in messages (as "__row_key_N"). Placeholders (loader-generated):
-- {relation} = a quoted table name or a parenthesised query; {columns} = "<source>" as "<contract>", …
with source as (
    select *
    from {relation} as source
),
final as (
    select {columns}
    from source
)
select * from final

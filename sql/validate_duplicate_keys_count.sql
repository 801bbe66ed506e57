-- The number of rows whose key repeats an earlier row's (0: every key unique), for skipping
-- sql/validate_duplicate_keys.sql (a window over every row, sorted by key) when there are none.
-- Placeholders: {raw_table}; {key} = key columns joined with ' / '.
with keyed as (
    select {key} as key_value
    from {raw_table}
),
final as (
    select count(key_value) - count(distinct key_value) as repeated
    from keyed
)
select * from final

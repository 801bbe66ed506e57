-- The newest successful run (latest as_of, then latest finish).
with succeeded as (
    select run_id, as_of, finished_at
    from runs
    where status = 'succeeded'
),

final as (
    select run_id, as_of
    from succeeded
    order by as_of desc, finished_at desc
    limit 1
)

select * from final;

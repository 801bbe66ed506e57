-- Every run attempt (running, succeeded, failed, superseded), oldest first.
with attempts as (
    select * from runs
),

final as (
    select * from attempts order by started_at, run_id
)

select * from final;

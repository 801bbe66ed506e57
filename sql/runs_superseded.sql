-- Earlier successful runs for the same as_of that this run replaces.
with same_week as (
    select run_id
    from runs
    where as_of = $as_of
      and run_id <> $run_id
      and status = 'succeeded'
),

final as (
    select run_id from same_week
)

select * from final;

-- Views over the output tables. The tables themselves are generated from the registry
-- (pipelines/storage/tables.py, DDL in pipelines/storage/schema.py); only what is not a registered
-- table is written by hand here.

-- Forecast tracking: every stored forecast of a succeeded run next
-- to what actually sold in that week, once the week is in sales_weekly. The planner report's
-- accuracy-over-time section and notebooks read this.
create or replace view forecast_vs_actual as
with tracked_runs as (
    select run_id, as_of
    from runs
    where status = 'succeeded'
),

final as (
    select
        f.run_id,
        r.as_of,
        f.sku,
        f.week,
        f.step,
        f.model,
        f.mean as forecast,
        s.quantity as actual,
        f.mean - s.quantity as error,
        s.quantity between f.lo80 and f.hi80 as inside80,
        s.quantity between f.lo95 and f.hi95 as inside95
    from forecasts as f
    inner join tracked_runs as r on r.run_id = f.run_id
    inner join sales_weekly as s on s.sku = f.sku and s.week = f.week
)

select * from final;

-- The weekly totals rebuilt from every stored day of sales_history (inside the run's write
-- transaction, after the history's own change): a database whose totals do not cover the history
-- (sql/sales_history_weekly_sync.sql: written before they existed) is back-filled by its first
-- write. The same rule as sql/sales_history_weekly_refresh_insert.sql over all weeks.
delete from sales_history_weekly;

insert into sales_history_weekly by name
with weekly as (
    select
        sku,
        cast(date_trunc('week', "date") as date) as week,
        sum(quantity) as quantity,
        count(*) as days
    from sales_history
    group by all
),
final as (
    select sku, week, quantity, cast(days as integer) as days
    from weekly
)
select * from final;

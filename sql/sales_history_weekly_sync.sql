-- Whether the stored weekly totals (sales_history_weekly) cover sales_history: their stored days
-- add up to its rows. False for a database written before the weekly totals existed (the table is
-- created empty beside a filled history) or by a safestock that did not maintain them; then
-- storage/history.py reads weekly sales from every stored day (sql/sales_history_weekly_all_days.sql)
-- and the next write rebuilds the totals (sql/sales_history_weekly_rebuild.sql).
with weekly_days as (
    select coalesce(sum(days), 0) as days
    from sales_history_weekly
),
history_days as (
    select count(*) as days
    from sales_history
),
final as (
    select weekly_days.days = history_days.days as in_sync
    from weekly_days, history_days
)
select * from final

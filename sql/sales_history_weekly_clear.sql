-- A file run's write empties the weekly totals (after the history's own change, same transaction):
-- it plans from its files and never reads them, and re-aggregating every week of its files would
-- cost each file run seconds. The next database run finds them out of step
-- (sql/sales_history_weekly_sync.sql), reads from the days and rebuilds them.
delete from sales_history_weekly

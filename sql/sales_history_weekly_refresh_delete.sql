-- First half of keeping the weekly totals with the history (inside the run's write transaction,
-- after sql/sales_history_delete.sql and sql/sales_history_insert.sql;
-- sql/sales_history_weekly_refresh_insert.sql follows): the stored weekly totals of the weeks the
-- pull touched — the ISO weeks (Monday) from the week of $replace_from to the week of $replace_to
-- (NULL: no end) — of the affected SKUs (the run's items, Parquet at $skus_path, and the SKUs of the
-- pulled days, Parquet at $path) are deleted. $replace_from NULL: nothing was replaced, nothing deleted.
delete from sales_history_weekly
where $replace_from is not null
  and week >= cast(date_trunc('week', cast($replace_from as date)) as date)
  and week <= coalesce(cast(date_trunc('week', cast($replace_to as date)) as date), cast('infinity' as date))
  and sku in (select sku from read_parquet($skus_path) union select sku from read_parquet($path))

-- First half of writing one pull into the accumulated sales history (inside the run's write
-- transaction; sql/sales_history_insert.sql follows): the stored rows of the run's items
-- (Parquet at $skus_path) in the pull's window [$replace_from, $replace_to] (NULL $replace_to: no
-- end) are deleted, whatever their source. A late correction thus replaces the old value, a row the
-- source deleted within the window disappears, a (sku, date) is never stored twice, and SKUs the run
-- does not know keep their history. $replace_from NULL (an empty full pull): nothing deleted.
delete from sales_history
where $replace_from is not null
  and "date" >= cast($replace_from as date)
  and "date" <= coalesce(cast($replace_to as date), cast('infinity' as date))
  and sku in (select sku from read_parquet($skus_path))

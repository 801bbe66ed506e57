-- The newest data wins, per SKU and week: drop the stored rows of the (sku, week) pairs that the
-- incoming history holds, then insert it. Rows of SKUs the incoming history does not hold are kept
-- (a run over a subset of SKUs never erases the others' history).
-- Expects a registered relation `incoming_sales_weekly(sku, week, quantity)`.
delete from sales_weekly as stored
using incoming_sales_weekly as incoming
where stored.sku = incoming.sku and stored.week = incoming.week;

insert into sales_weekly by name
select sku, week, quantity from incoming_sales_weekly;

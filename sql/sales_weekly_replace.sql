-- The newest data wins: drop the stored weeks that the incoming history covers, then insert it.
-- Expects a registered relation `incoming_sales_weekly(sku, week, quantity)`.
delete from sales_weekly
where week between (select min(week) from incoming_sales_weekly)
               and (select max(week) from incoming_sales_weekly);

insert into sales_weekly by name
select sku, week, quantity from incoming_sales_weekly;

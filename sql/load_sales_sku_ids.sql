-- The integer numbers the sales aggregates are keyed by (sales_daily_keyed.sku_id): every distinct
-- sku of a staged table, numbered 1..n in sku order (byte order), so that ordering by sku_id is
-- ordering by sku. The fast path numbers the staged items (a sales sku not among them is an
-- unknown reference: sku_id NULL); the staged path numbers the staged sales' own skus.
-- Placeholder: staged_table = raw_items or raw_sales (trimmed VARCHAR column sku).
create or replace temp table sales_sku_ids as
with skus as (
    select distinct sku
    from {staged_table}
    where sku is not null
),
final as (
    select sku, cast(row_number() over (order by sku) as integer) as sku_id
    from skus
)
select * from final

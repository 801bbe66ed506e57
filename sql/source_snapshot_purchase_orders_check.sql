-- Can an incremental read of purchase_orders check only its pulled rows
-- (pipelines/storage/source_snapshots.py)? The loader checks the pulled rows (values, keys among
-- them, their references); what it cannot see from them alone is counted here, over the stored
-- typed rows that are kept (not pulled again):
--   repeated_keys   kept rows whose contract key (po_id, sku) a pulled row also has;
--   unknown_skus    kept rows whose sku is no longer in this run's items;
--   unknown_suppliers kept rows whose supplier_id is no longer in this run's suppliers.
-- Any count above 0 makes the run check the merged table whole, so the issues are those of a
-- whole read. Values compare as the loader stages them: text trimmed, '' = null
-- (contract.staged_value_sql). Run in the pulled DuckDB file, the results database attached as
-- "stored". Placeholders (quoted internal identifiers): {snapshot} =
-- stored."source_snapshot_typed_purchase_orders"; {changed} = "__pulled_purchase_orders";
-- {key_match} = changed."__row_key_0" is not distinct from snapshot."__row_key_0" and …
with kept as (
    select snapshot.po_id, snapshot.sku, snapshot.supplier_id
    from {snapshot} as snapshot
    where not exists (select 1 from {changed} as changed where {key_match})
),
pulled_keys as (
    select distinct nullif(trim(cast(po_id as varchar)), '') as po_id,
           nullif(trim(cast(sku as varchar)), '') as sku
    from {changed}
),
item_skus as (
    select distinct nullif(trim(cast(sku as varchar)), '') as sku from items
),
supplier_ids as (
    select distinct nullif(trim(cast(supplier_id as varchar)), '') as supplier_id from suppliers
),
final as (
    select
        (select count(*) from kept join pulled_keys using (po_id, sku)) as repeated_keys,
        (select count(*) from kept anti join item_skus using (sku)) as unknown_skus,
        (select count(*) from kept anti join supplier_ids using (supplier_id)) as unknown_suppliers
)
select * from final

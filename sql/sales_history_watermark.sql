-- The watermark of one source in the accumulated sales history: its newest stored day (NULL: the
-- source has never been pulled into this database, so the run pulls everything).
with stored as (
    select "date"
    from sales_history
    where source = $source
),
final as (
    select max("date") as watermark
    from stored
)
select * from final

-- Exceptions of a run for the top of the buyer report: kind, supplier (with its name), SKU, detail,
-- value (days, or lines for a supplier to chase: see the exceptions table) and, for order lines
-- (expedite, overdue), the line's value. Per kind: its rows and the value of its order lines.
-- At most $rows_per_kind rows of each kind (largest value first), kinds in the order expedite,
-- overdue, late_po, chase_supplier. Parameters: $run_id, $rows_per_kind
with found as (
    select * from exceptions where run_id = $run_id
),

lines as (
    select sku, line_value from purchase_recommendations where run_id = $run_id
),

suppliers as (
    select supplier_id, any_value(name) as supplier_name
    from suppliers_snapshot
    where run_id = $run_id
    group by supplier_id
),

joined as (
    select
        found.kind,
        case found.kind when 'expedite' then 1 when 'overdue' then 2 when 'late_po' then 3 else 4 end
            as kind_rank,
        found.supplier_id,
        suppliers.supplier_name,
        found.sku,
        found.detail,
        found.value,
        case when found.kind in ('expedite', 'overdue') then lines.line_value end as line_value
    from found
    left join lines on lines.sku = found.sku
    left join suppliers on suppliers.supplier_id = found.supplier_id
),

ranked as (
    select
        *,
        count(*) over (partition by kind) as kind_rows,
        count(*) over (partition by kind) > $rows_per_kind as kind_capped,
        $rows_per_kind as rows_per_kind,
        sum(line_value) over (partition by kind) as kind_line_value,
        row_number() over (
            partition by kind order by value desc, supplier_id nulls last, sku nulls last
        ) as kind_row
    from joined
),

final as (
    select * from ranked
    where kind_row <= $rows_per_kind
    order by kind_rank, kind_row
)

select * from final

-- The SKU codes of one run closest to a code that is not in it (for "did you mean"): the same code
-- in another case, codes that contain it or that it contains, then by edit distance.
-- Parameters: $run_id, $sku, $limit
with run_skus as (
    select sku from inventory_policy where run_id = $run_id
),

scored as (
    select
        sku,
        lower(sku) = lower($sku) as same_but_case,
        contains(lower(sku), lower($sku)) or contains(lower($sku), lower(sku)) as contains_match,
        levenshtein(lower(sku), lower($sku)) as distance
    from run_skus
),

final as (
    select sku
    from scored
    where same_but_case or contains_match or distance <= greatest(2, length($sku) // 3)
    order by same_but_case desc, distance, contains_match desc, sku
    limit $limit
)

select * from final

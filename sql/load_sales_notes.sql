-- Counts for the data-quality notes about sales relative to $as_of: rows after as_of (dropped),
-- rows in the partial ISO week containing as_of (excluded unless as_of is a Sunday), and
-- negative lines (returns) within the history used, and the rows aggregated into complete weeks
-- (rows_after_as_of + rows_in_partial_week + rows_aggregated = all validated sales rows), and
-- the last day with sales on or before as_of (NULL: no sales history, e.g. a new store).
with daily as (
    select
        *,
        cast(date_trunc('week', day) as date) + 6 <= cast($as_of as date) as in_complete_week
    from sales_daily_keyed
),
final as (
    select
        coalesce(sum(lines) filter (where day > cast($as_of as date)), 0) as rows_after_as_of,
        min(first_line) filter (where day > cast($as_of as date)) as first_line_after_as_of,
        coalesce(sum(lines) filter (where day <= cast($as_of as date) and not in_complete_week), 0)
            as rows_in_partial_week,
        coalesce(sum(negative_lines) filter (where in_complete_week), 0) as negative_lines,
        coalesce(sum(lines) filter (where in_complete_week), 0) as rows_aggregated,
        max(day) filter (where day <= cast($as_of as date)) as last_sales_day
    from daily
)
select * from final

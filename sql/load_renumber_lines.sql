-- Give staged rows their file line numbers back after rejected records were skipped: a valid
-- row that was the k-th kept record sits after every rejected line r_i (i-th rejected, by line)
-- with r_i - i - 1 < k kept records before it. Placeholders: {stage_table}, {rejects_table},
-- {raw_table}.
create or replace temp table {raw_table} as
with rejected as (
    select distinct line from {rejects_table}
),
ranked as (
    select line, row_number() over (order by line) as rejected_so_far
    from rejected
),
thresholds as (
    select line - rejected_so_far - 1 as kept_before, max(rejected_so_far) as rejected_so_far
    from ranked
    group by all
),
final as (
    select staged.* replace (staged.line + coalesce(thresholds.rejected_so_far, 0) as line)
    from {stage_table} as staged
    asof left join thresholds on staged.line - 1 > thresholds.kept_before
)
select * from final

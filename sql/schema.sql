-- safestock output schema. Every table is created idempotently; the column names below are
-- the public interface (see README "Output tables"). Add columns, never rename them.
-- `run_id` identifies one pipeline attempt; `runs.as_of` is the planning date it was made for.
-- A successful re-run for the same as_of deletes the earlier run's rows and marks it 'superseded'.

create table if not exists runs (
    run_id              varchar primary key,
    as_of               date not null,
    started_at          timestamp not null,
    finished_at         timestamp,
    status              varchar not null,      -- running | succeeded | failed | superseded
    error               varchar,
    input_dir           varchar,
    pid                 integer,
    skus                integer,
    first_forecast_week date,
    horizon_weeks       integer,
    service_level_type  varchar,
    input_files         varchar,               -- JSON: file -> {sha256, rows}
    config              varchar                -- JSON of the policy configuration used
);

-- Weekly demand history (ISO weeks, `week` = Monday), zero-filled from each SKU's first sale.
-- The newest data wins: a run replaces the weeks its input covers.
create table if not exists sales_weekly (
    sku      varchar not null,
    week     date not null,
    quantity double not null
);

create table if not exists sku_class (
    run_id        varchar not null,
    sku           varchar not null,
    demand_class  varchar not null,            -- smooth | erratic | intermittent | lumpy | new | inactive
    adi           double,
    cv2           double,
    abc           varchar,
    xyz           varchar,
    history_weeks integer,
    demand_value  double
);

create table if not exists forecasts (
    run_id varchar not null,
    sku    varchar not null,
    week   date not null,
    step   integer not null,                   -- 1 = first week after as_of
    mean   double not null,
    lo80   double, hi80 double,
    lo95   double, hi95 double,
    model  varchar not null,
    sd     double,
    family varchar                             -- normal | poisson | negbin: distribution for sums over weeks
);

create table if not exists forecast_accuracy (
    run_id   varchar not null,
    sku      varchar not null,
    model    varchar not null,
    rmsse    double,
    mase     double,
    wape     double,
    bias     double,
    selected boolean not null
);

create table if not exists forecast_coverage (
    run_id       varchar not null,
    demand_class varchar not null,
    series       integer,
    coverage80   double,
    coverage95   double,
    pit_coverage80    double,
    pit_coverage95    double,
    window_coverage80 double,
    window_coverage95 double,
    level_error_weeks double
);

create table if not exists lead_times (
    run_id                varchar not null,
    sku                   varchar not null,
    supplier_id           varchar not null,
    lead_time_weeks_mean  double,
    lead_time_weeks_sd    double,
    lead_time_weeks_p90   double,
    receipts              integer,
    source                varchar               -- sku | supplier | nominal
);

create table if not exists inventory_policy (
    run_id                 varchar not null,
    sku                    varchar not null,
    supplier_id            varchar not null,
    service_level          double,
    service_level_type     varchar,
    lead_time_weeks_mean   double,
    lead_time_weeks_sd     double,
    review_period_weeks    double,
    demand_per_week_mean   double,
    demand_per_week_sd     double,
    protection_demand_mean double,
    protection_demand_sd   double,
    safety_stock           double,
    reorder_point          double,
    order_up_to            double,
    eoq                    double,
    method                 varchar,
    level_error_weeks      double
);

create table if not exists backorder_risk (
    run_id                   varchar not null,
    sku                      varchar not null,
    supplier_id              varchar not null,
    on_hand                  double,
    on_order                 double,
    backordered              double,
    inventory_position       double,
    stockout_probability     double,
    expected_backorder_units double,
    expected_backorder_value double,
    weeks_of_cover           double,
    projected_stockout_week  date,
    order_by                 date
);

create table if not exists projection (
    run_id                   varchar not null,
    sku                      varchar not null,
    week                     date not null,
    step                     integer not null,
    demand_mean              double,
    receipts                 double,
    on_hand_expected         double,
    backorder_probability    double,
    expected_backorder_units double
);

create table if not exists supplier_risk (
    run_id                   varchar not null,
    supplier_id              varchar not null,
    name                     varchar,
    skus                     integer,
    skus_at_risk             integer,
    expected_backorder_units double,
    expected_backorder_value double,
    lead_time_weeks_mean     double,
    lead_time_weeks_p90      double,
    on_time_rate             double,
    receipts                 integer,
    mean_days_late           double
);

create table if not exists purchase_recommendations (
    run_id           varchar not null,
    supplier_id      varchar not null,
    sku              varchar not null,
    order_quantity   double not null,
    packs            integer,
    order_by         date,
    expected_arrival date,
    unit_cost        double,
    line_value       double,
    reason           varchar not null,
    status           varchar                   -- recommended | deferred
);

-- What was dropped, flagged or defaulted while loading (for the data-quality report section).
create table if not exists data_quality (
    run_id      varchar not null,
    file        varchar,
    line        bigint,
    column_name varchar,
    severity    varchar,                        -- warning | info
    message     varchar not null,
    rows        bigint
);

-- Input snapshots per run, so every report can be traced to what it was computed from.
create table if not exists items_snapshot (
    run_id varchar not null, sku varchar not null, supplier_id varchar, description varchar,
    unit_cost double, pack_size double, moq double, service_level double, status varchar
);
create table if not exists suppliers_snapshot (
    run_id varchar not null, supplier_id varchar not null, name varchar, lead_time_days double,
    review_period_days double, min_order_value double
);
create table if not exists inventory_snapshot (
    run_id varchar not null, sku varchar not null, on_hand double, backordered double, as_of date
);
create table if not exists purchase_orders_snapshot (
    run_id varchar not null, po_id varchar not null, sku varchar not null, supplier_id varchar,
    quantity double, order_date date, expected_date date, received_date date,
    received_quantity double, status varchar
);

-- Replay of the policy on recent history, per demand class (how the policy would have done).
create table if not exists policy_backtest (
    run_id               varchar not null,
    demand_class         varchar not null,
    skus                 integer,
    weeks                integer,
    service_level_target double,
    cycle_service_level  double,
    fill_rate_target     double,
    fill_rate            double,
    average_on_hand      double,
    backorder_units      double,
    review_cycle_service_level double,        -- share of review periods without a stock-out
    cycles               bigint,               -- replenishment cycles measured
    demand_units         double
);

-- Forecast tracking: every stored forecast of a succeeded run next
-- to what actually sold in that week, once the week is in sales_weekly. The planner report's
-- accuracy-over-time section and notebooks read this.
create or replace view forecast_vs_actual as
with tracked_runs as (
    select run_id, as_of
    from runs
    where status = 'succeeded'
),

final as (
    select
        f.run_id,
        r.as_of,
        f.sku,
        f.week,
        f.step,
        f.model,
        f.mean as forecast,
        s.quantity as actual,
        f.mean - s.quantity as error,
        s.quantity between f.lo80 and f.hi80 as inside80,
        s.quantity between f.lo95 and f.hi95 as inside95
    from forecasts as f
    inner join tracked_runs as r on r.run_id = f.run_id
    inner join sales_weekly as s on s.sku = f.sku and s.week = f.week
)

select * from final;

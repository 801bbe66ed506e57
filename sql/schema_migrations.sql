-- Columns added after a table was first released: databases written by an older safestock gain
-- them here (new databases already have them from schema.sql). Only ever append to this file.
alter table forecasts add column if not exists family varchar;
alter table policy_backtest add column if not exists review_cycle_service_level double;
alter table policy_backtest add column if not exists cycles bigint;
alter table policy_backtest add column if not exists demand_units double;
alter table forecast_coverage add column if not exists pit_coverage80 double;
alter table forecast_coverage add column if not exists pit_coverage95 double;
alter table forecast_coverage add column if not exists window_coverage80 double;
alter table forecast_coverage add column if not exists window_coverage95 double;
alter table forecast_coverage add column if not exists level_error_weeks double;
alter table inventory_policy add column if not exists level_error_weeks double;

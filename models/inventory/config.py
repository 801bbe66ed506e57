"""Configuration and the lead-time result container of the inventory stage."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


def _default_service_level_by_abc() -> dict[str, float]:
    return {"A": 0.98, "B": 0.95, "C": 0.90}


@dataclass(frozen=True)
class PolicyConfig:
    """Inventory-policy settings (every field has a default; the TOML ``[policy]`` table overrides).

    service_level_type: 'cycle' = probability of no stock-out per replenishment cycle (P1 in
        Silver, Pyke & Thomas); 'fill_rate' = share of demand met from stock (P2).
    at_risk_probability: a SKU is *at risk* when the probability of a backorder within its
        protection interval (lead time + review period), given its current inventory position and
        no new order, is at least this value (``backorder_risk.stockout_probability``).
    nominal_lead_time_cv: coefficient of variation assumed for a supplier's nominal
        ``lead_time_days`` when it has no receipts (no data is not the same as no variability).
    lateness_recent_days: receipts in this many days before ``as_of`` are "recent" for the
        supplier lateness trend (recent minus older mean lateness).
    fallback_lead_time_days: lead time for an item whose supplier has neither receipts nor a
        nominal lead time.
    max_top_up_ratio: a supplier order below its ``min_order_value`` is topped up (extra packs on
        the highest-risk lines) only when the extra value is at most this multiple of the value
        of the lines actually needed; otherwise the supplier's lines are deferred.
    max_cover_weeks: an order line is capped at this many weeks of forecast demand (the SKU's
        mean weekly demand over the protection interval x this); 0 = no cap. The cap is rounded
        down to whole packs; the minimum orderable quantity (MOQ rounded up to packs, at least one
        pack) wins over it, and so does a top-up to the supplier's minimum order value - both are
        supplier terms the line cannot go below; the line's reason says when the cap binds.
    undershoot_correction: the reorder point protects lead-time demand plus the undershoot of s
        (``undershoot.py``); False = the textbook D_{L+R}.
    lead_time_mixture: normal-family SKUs with a variable lead time get the exact mixture of the
        demand over the gamma lead-time distribution (``lead_time_mixture.py``; method suffix
        '+lt_mixture') instead of one normal with σ² = E[L]σ_d² + d²σ_L².
    lattice_undershoot: Poisson-family SKUs (integer demand, integer s, review-period variance
        <= mean) get the undershoot of integer demand: exact lattice ladder for Q <= 64 units,
        else E[U] - 1/2, Var U - 1/12 of the continuous ones (``undershoot.py``).
    service_calibration: the policy replay is run at the target and at shifted nominal levels,
        and each demand class (and finer group with enough cycles) gets the nominal level at which
        the replay meets its target, shrunk toward the target when the evidence is thin
        (``calibration.py``, table ``service_calibration``); False = s and S at the target itself.
        Needs the policy replay (``policy_backtest_weeks`` > 0).
    empirical_interval: the replay also runs the empirical protection-interval candidate (s = the
        quantile of realised demand / forecast over past protection intervals, scaled to the
        current forecast; ``empirical_demand.py``), and each demand class where it beats the
        calibrated parametric policy on the replay (table ``service_calibration``, column
        ``interval_model``) gets it (method '+empirical'). Cycle-service targets only; needs
        ``service_calibration``.
    """

    service_level_type: str = "cycle"
    service_level_by_abc: dict = field(default_factory=_default_service_level_by_abc)
    default_service_level: float = 0.95
    ordering_cost: float = 50.0
    holding_cost_rate: float = 0.25
    horizon_weeks: int = 26
    at_risk_probability: float = 0.5
    min_receipts_for_sku_lead_time: int = 5
    nominal_lead_time_cv: float = 0.2
    lateness_recent_days: int = 91
    fallback_lead_time_days: float = 28.0
    max_top_up_ratio: float = 1.0
    max_cover_weeks: float = 52.0
    undershoot_correction: bool = True
    lead_time_mixture: bool = True
    lattice_undershoot: bool = True
    service_calibration: bool = True
    empirical_interval: bool = False


@dataclass(frozen=True)
class LeadTimes:
    """Lead-time estimates (weeks).

    per_sku: sku, supplier_id, lead_time_weeks_mean, lead_time_weeks_sd, lead_time_weeks_p90,
        receipts, source ('sku' | 'supplier' | 'nominal') - one row per item.
    per_supplier: supplier_id, lead_time_weeks_mean, lead_time_weeks_sd, lead_time_weeks_p90,
        on_time_rate, receipts, mean_days_late, lateness_trend_days, source ('receipts'|'nominal').
    """

    per_sku: pd.DataFrame
    per_supplier: pd.DataFrame

"""The demo generator's optional selling prices, promotions and persistent trends (issue 17).

Opt-in (``generate_demo_data(promotion_share=..., trend_share=...)``, both 0 by default): every
draw here comes from a generator of its own seeded ``[seed, 17]``, so the default demo's draws,
and the figures pinned on them, do not move.

* **Prices** (with ``promotion_share > 0``): every SKU sells at a regular price of unit cost
  x U(1.3, 2.2), rounded to cents. A share ``promotion_share`` of the SKUs runs promotions: in
  any week that is not already promoted, a promotion starts with probability
  :data:`PROMOTION_START_PROBABILITY`, lasts 1 or 2 whole ISO weeks and cuts the price by
  U(10 %, 30 %). Demand in a promoted week is multiplied by ``1 + ELASTICITY x cut`` (×1.2 to
  ×1.6 for cuts of 10-30 %: a constant-slope approximation of a price elasticity of -2 around
  the regular price).
* **Persistent trends** (``trend_share``): that share of the SKUs whose pattern is smooth or
  erratic grows or shrinks by 0.5-1 % a week over the whole history (log-trend per year
  ±U(0.005, 0.01) x 52, the issue's "steady trend" case), replacing their drawn trend.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from safestock.pipelines.demo.params import SkuParams

PRICE_SEED_KEY = 17
REGULAR_MARKUP = (1.3, 2.2)
PROMOTION_START_PROBABILITY = 0.08
PROMOTION_CUT = (0.10, 0.30)
ELASTICITY = 2.0
TREND_PER_WEEK = (0.005, 0.01)


@dataclass(frozen=True)
class DemoPrices:
    """Weekly selling price and demand multiplier per week x SKU, and which SKUs got what."""

    price: np.ndarray              # (n_weeks, n) price of the SKU in the week
    demand_multiplier: np.ndarray  # (n_weeks, n) 1 + ELASTICITY x cut in promoted weeks, else 1
    promoted: np.ndarray           # (n,) bool: the SKU runs promotions
    promotion_weeks: np.ndarray    # (n,) number of promoted weeks


def promotion_weeks_of(n_weeks: int, rng: np.random.Generator) -> np.ndarray:
    """(n_weeks,) cut per week of one promoted SKU (0 = regular price): a promotion starts in a
    free week with probability PROMOTION_START_PROBABILITY and lasts 1-2 weeks."""
    cut = np.zeros(n_weeks)
    week = 0
    while week < n_weeks:
        if rng.random() < PROMOTION_START_PROBABILITY:
            length = int(rng.integers(1, 3))
            cut[week:week + length] = rng.uniform(*PROMOTION_CUT)
            week += length + 1                     # at least one regular week between promotions
        else:
            week += 1
    return cut


def draw_prices(unit_cost: np.ndarray, n_weeks: int, promotion_share: float, seed: int) -> DemoPrices:
    """Regular prices for every SKU and promotions for ``promotion_share`` of them (module docstring).
    The loop runs over promoted SKUs' weeks once at generation time (not a forecasting hot path)."""
    rng = np.random.default_rng([seed, PRICE_SEED_KEY])
    n = unit_cost.size
    regular = np.round(unit_cost * rng.uniform(*REGULAR_MARKUP, n), 2)
    regular = np.maximum(regular, 0.01)
    promoted = np.zeros(n, dtype=bool)
    promoted[rng.permutation(n)[: int(round(promotion_share * n))]] = True
    cut = np.zeros((n_weeks, n))
    for i in np.flatnonzero(promoted):
        cut[:, i] = promotion_weeks_of(n_weeks, rng)
    price = np.maximum(np.round(regular[None, :] * (1 - cut), 2), 0.01)
    return DemoPrices(price=price, demand_multiplier=1 + ELASTICITY * cut, promoted=promoted,
                      promotion_weeks=(cut > 0).sum(axis=0))


def with_persistent_trends(params: SkuParams, trend_share: float, seed: int) -> tuple[SkuParams, np.ndarray]:
    """``params`` with ``trend_share`` of all SKUs (drawn among smooth/erratic patterns) given a
    steady log-trend of ±0.5-1 % a week, and the (n,) bool mask of those SKUs."""
    rng = np.random.default_rng([seed, PRICE_SEED_KEY, 1])
    n = params.rate.size
    eligible = np.flatnonzero(np.isin(params.pattern, ("smooth", "erratic"))
                              & ~np.isin(params.demand_class, ("new", "discontinued")))
    chosen = rng.permutation(eligible)[: min(eligible.size, int(round(trend_share * n)))]
    trend = params.trend.copy()
    trend[chosen] = rng.choice([-1.0, 1.0], chosen.size) * rng.uniform(*TREND_PER_WEEK, chosen.size) * 52
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return dataclasses.replace(params, trend=trend), mask

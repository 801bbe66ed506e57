"""Seeded demo data in the safestock input contract (see docs/demo-data.md).

`generate_demo_data` is pure numpy/pandas: it draws suppliers and items, then runs one
day-by-day simulation, vectorised over SKUs, of customer demand and of a periodic-review (s, Q)
replenishment policy. Sales lines, purchase-order lines (history and open orders) and the
inventory snapshot at `as_of` all come out of that simulation
(`safestock.pipelines.demo.replenishment`), so stock-outs, backorders, late and partial deliveries are
consequences of the policy, not painted on. `write_demo_data` is the only function doing I/O.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pa_parquet
from safestock.pipelines.demo.params import SkuParams
from safestock.pipelines.demo.prices import draw_prices, with_persistent_trends
from safestock.pipelines.demo.replenishment import simulate_replenishment

DEFAULT_AS_OF = dt.date(2026, 11, 15)  # a Sunday: the history ends on a complete ISO week
CONTRACT_TABLES = ("sales", "items", "suppliers", "inventory", "purchase_orders")
OPTIONAL_CONTRACT_TABLES = ("stock_history",)  # written when generated (lost_sales_share > 0)
TRUTH_TABLE = "demo_truth"  # generator ground truth, not part of the input contract
#: Days of stock history written with lost-sales items (a year, as retailers usually keep).
STOCK_HISTORY_DAYS = 364

# Share of SKUs per generating class; "new" and "discontinued" reuse one of the four patterns.
CLASS_SHARES = {"smooth": 0.35, "erratic": 0.15, "intermittent": 0.20, "lumpy": 0.12,
                "new": 0.10, "discontinued": 0.08}
NEW_PATTERN_SHARES = {"smooth": 0.6, "erratic": 0.25, "intermittent": 0.15}
DISCONTINUED_PATTERN_SHARES = {"smooth": 0.4, "erratic": 0.2, "intermittent": 0.25, "lumpy": 0.15}
# Uniform (low, high) ranges per demand pattern: customer orders per day, mean units per order,
# gamma shape of the order size (CV^2 = 1/shape), seasonal amplitude, log-trend per year and
# gamma shape of a weekly demand shock (0 = no shock).
PATTERNS: dict[str, dict[str, tuple[float, float]]] = {
    "smooth": {"rate": (1.0, 6.0), "size": (2.0, 8.0), "shape": (3.0, 6.0),
               "amp": (0.0, 0.5), "trend": (-0.15, 0.30), "shock": (0.0, 0.0)},
    "erratic": {"rate": (0.8, 3.0), "size": (2.0, 12.0), "shape": (0.5, 1.0),
                "amp": (0.0, 0.3), "trend": (-0.15, 0.15), "shock": (1.0, 1.5)},
    "intermittent": {"rate": (0.015, 0.09), "size": (1.5, 5.0), "shape": (6.0, 10.0),
                     "amp": (0.0, 0.0), "trend": (-0.1, 0.1), "shock": (0.0, 0.0)},
    "lumpy": {"rate": (0.015, 0.09), "size": (8.0, 40.0), "shape": (0.25, 0.5),
              "amp": (0.0, 0.0), "trend": (-0.1, 0.1), "shock": (0.0, 0.0)},
}
# Supplier delivery profiles: (share, mean delay as fraction of nominal lead time, lead-time CV,
# probability that a line is received short).
SUPPLIER_PROFILES = {"reliable": (0.5, (0.0, 0.0), (0.03, 0.08), (0.01, 0.04)),
                     "late": (0.3, (0.1, 0.35), (0.25, 0.45), (0.05, 0.15)),
                     "variable": (0.2, (0.0, 0.1), (0.2, 0.35), (0.03, 0.10))}
NOMINAL_LEAD_TIMES = np.array([7, 10, 14, 21, 28, 35, 42, 56, 70, 84])
_NOUNS = ["bearing", "gasket", "filter", "valve", "hose", "bracket", "sensor", "pump", "seal",
          "fuse", "relay", "cable", "belt", "spring", "bolt set", "lamp", "switch", "coupling"]
#: Category of each noun (items.category): derived from the description, so no random draw is added.
_NOUN_CATEGORY = ["mechanical", "fluid handling", "fluid handling", "fluid handling", "fluid handling",
                  "mechanical", "electrical", "fluid handling", "fluid handling", "electrical", "electrical",
                  "electrical", "mechanical", "mechanical", "fasteners", "electrical", "electrical", "mechanical"]
_ADJECTIVES = ["steel", "brass", "heavy-duty", "compact", "standard", "industrial", "premium"]
_SIZES = ["6mm", "10mm", "25mm", "1/2in", "S", "M", "L", "XL", "12V", "24V"]
_SUPPLIER_WORDS = (["Nordic", "Atlas", "Delta", "Orion", "Vega", "Summit", "Harbor", "Granite",
                    "Pioneer", "Falcon", "Cedar", "Apex", "Meridian", "Polar", "Sierra"],
                   ["Components", "Supply", "Industrial", "Trading", "Parts", "Logistics"],
                   ["Ltd", "GmbH", "Inc", "BV", "SA"])


def _split_counts(shares: dict[str, float], n: int) -> dict[str, int]:
    """Largest-remainder rounding of shares to integer counts summing to n."""
    raw = np.array(list(shares.values())) * n / sum(shares.values())
    counts = np.floor(raw).astype(int)
    counts[np.argsort(counts - raw)[: n - counts.sum()]] += 1
    return dict(zip(shares, counts.tolist()))


def _labels(shares: dict[str, float], n: int, rng: np.random.Generator) -> np.ndarray:
    """n labels with exactly the given shares (rounded), in random order."""
    counts = _split_counts(shares, n)
    return rng.permutation(np.repeat(np.array(list(counts), dtype=object), list(counts.values())))


def _draw_sku_params(n_skus: int, n_days: int, rng: np.random.Generator) -> SkuParams:
    """Demand class, demand process parameters and life cycle of every SKU."""
    demand_class = _labels(CLASS_SHARES, n_skus, rng)
    pattern = demand_class.copy()
    for label, shares in (("new", NEW_PATTERN_SHARES), ("discontinued", DISCONTINUED_PATTERN_SHARES)):
        mask = demand_class == label
        pattern[mask] = _labels(shares, int(mask.sum()), rng)
    values = {}
    for name in ("rate", "size", "shape", "amp", "trend", "shock"):
        low = np.array([PATTERNS[p][name][0] for p in pattern])
        high = np.array([PATTERNS[p][name][1] for p in pattern])
        values[name] = rng.uniform(low, high)
    start_day = np.zeros(n_skus, dtype=np.int64)
    late_start = (rng.random(n_skus) < 0.15) & np.isin(demand_class, list(PATTERNS))
    start_day[late_start] = rng.integers(0, max(1, n_days // 2), late_start.sum())
    end_day = np.full(n_skus, n_days, dtype=np.int64)
    is_new, is_disc = demand_class == "new", demand_class == "discontinued"
    start_day[is_new] = np.maximum(0, n_days - rng.integers(28, 183, is_new.sum()))
    end_day[is_disc] = np.maximum(7, n_days - rng.integers(91, 365, is_disc.sum()))
    return SkuParams(demand_class, pattern.astype(str), values["rate"], values["size"],
                     values["shape"], values["amp"], rng.uniform(0, 2 * np.pi, n_skus),
                     values["trend"], values["shock"], start_day, end_day)


def _draw_suppliers(n_suppliers: int, rng: np.random.Generator) -> pd.DataFrame:
    """Suppliers with nominal terms and their (hidden) delivery behaviour."""
    profile = _labels({k: v[0] for k, v in SUPPLIER_PROFILES.items()}, n_suppliers, rng)
    ranges = np.array([[*SUPPLIER_PROFILES[p][1], *SUPPLIER_PROFILES[p][2], *SUPPLIER_PROFILES[p][3]]
                       for p in profile]).reshape(n_suppliers, 3, 2)
    drawn = rng.uniform(ranges[:, :, 0], ranges[:, :, 1])
    review = np.where(rng.random(n_suppliers) < 0.25, 14, 7)
    review[rng.integers(n_suppliers)] = 14
    min_order_value = np.zeros(n_suppliers)
    n_mov = min(n_suppliers, max(2, round(0.15 * n_suppliers)))
    min_order_value[rng.choice(n_suppliers, n_mov, replace=False)] = rng.choice(
        [250.0, 500.0, 1000.0, 2500.0], n_mov)
    words = [f"{a} {b} {c}" for a in _SUPPLIER_WORDS[0] for b in _SUPPLIER_WORDS[1]
             for c in _SUPPLIER_WORDS[2]]
    return pd.DataFrame({
        "supplier_id": [f"SUP-{i:03d}" for i in range(1, n_suppliers + 1)],
        "name": [words[i] for i in rng.choice(len(words), n_suppliers, replace=False)],
        "lead_time_days": rng.choice(NOMINAL_LEAD_TIMES, n_suppliers),
        "review_period_days": review,
        "min_order_value": min_order_value,
        "profile": profile.astype(str),
        "delay_fraction": drawn[:, 0], "lead_time_cv": drawn[:, 1], "partial_probability": drawn[:, 2],
        "review_offset": rng.integers(0, review),
    })


def _draw_items(params: SkuParams, n_suppliers: int, rng: np.random.Generator) -> pd.DataFrame:
    """Item master: supplier assignment (skewed), cost, pack size, MOQ, service level, status, category (from the
    description's noun)."""
    n = len(params.rate)
    weights = 1.0 / np.arange(1, n_suppliers + 1) ** 0.7
    supplier_idx = rng.choice(n_suppliers, n, p=weights / weights.sum())
    supplier_idx[rng.permutation(n)[: min(n, n_suppliers)]] = np.arange(min(n, n_suppliers))
    weekly_mean = 7 * params.rate * params.size_mean
    pack = rng.choice([1, 1, 1, 2, 4, 5, 6, 10, 12, 20, 25, 50], n)
    pack = np.where(weekly_mean < 3 * pack, 1, pack)
    moq = np.where(rng.random(n) < 0.3, pack * rng.choice([2, 5, 10], n), 0)
    service_level = np.where(rng.random(n) < 0.05, rng.choice([0.9, 0.95, 0.975, 0.99], n), np.nan)
    # the three draws in the order they always had (the random stream of later draws must not shift)
    adjective, noun, size = (rng.integers(len(_ADJECTIVES), size=n), rng.integers(len(_NOUNS), size=n),
                             rng.integers(len(_SIZES), size=n))
    description = [f"{_ADJECTIVES[a]} {_NOUNS[b]} {_SIZES[c]}" for a, b, c in zip(adjective, noun, size)]
    return pd.DataFrame({
        "sku": [f"SKU-{i:06d}" for i in range(1, n + 1)],
        "supplier_id": [f"SUP-{i + 1:03d}" for i in supplier_idx],
        "unit_cost": np.round(np.maximum(0.05, np.exp(rng.normal(np.log(15), 1.1, n))), 2),
        "pack_size": pack, "moq": moq, "description": description,
        "service_level": service_level,
        "status": np.where(params.demand_class == "discontinued", "discontinued", "active"),
        "category": np.asarray(_NOUN_CATEGORY)[noun],  # from the description's noun: no new draw
    })


def default_supplier_count(n_skus: int) -> int:
    """About one supplier per 25 SKUs, at least 3 and at most 60."""
    return int(np.clip(round(n_skus / 25), 3, 60))


def generate_demo_data(n_skus: int = 500, *, n_suppliers: int | None = None, years: float = 3.0,
                       as_of: dt.date = DEFAULT_AS_OF, seed: int = 42,
                       lost_sales_share: float = 0.0, promotion_share: float = 0.0,
                       trend_share: float = 0.0) -> dict[str, pd.DataFrame]:
    """Generate the five contract tables plus `demo_truth` (generator ground truth).

    `lost_sales_share` > 0: that share of the SKUs (drawn from a generator of its own, so the
    other draws are unchanged) lose the demand an empty shelf meets instead of backordering it
    (their sales are truncated by stock; `items.unmet_demand` = lost), and the result also holds
    `stock_history` (end-of-day on hand of every SKU over the last year, from the same
    simulation) and, in `demo_truth`, `unmet_demand`, `demand_units` and `lost_units`.

    `promotion_share` > 0: `sales` gets a `unit_price` column (every SKU's regular price, and
    temporary cuts of 10-30 % for 1-2 weeks for that share of the SKUs, lifting their demand
    x (1 + 2 cut)); `trend_share` > 0: that share of the SKUs keeps a steady 0.5-1 % weekly
    trend over the history (`demo.prices`). Both draw from a generator of their own and are 0
    by default, so the default demo is unchanged; `demo_truth` then also holds
    `promotion_weeks` and `persistent_trend`.

    Deterministic for a given set of arguments. History covers `round(years * 52)` complete
    weeks ending on `as_of` (inclusive). `sku` in `sales` and `purchase_orders` is categorical
    (memory); dates are `datetime64[ns]` at midnight; open PO lines have NaT/NaN receipts.
    """
    n_suppliers = default_supplier_count(n_skus) if n_suppliers is None else n_suppliers
    if n_skus < 1 or n_suppliers < 1 or years <= 0:
        raise ValueError("n_skus and n_suppliers must be >= 1 and years > 0")
    rng = np.random.default_rng(seed)
    n_days = max(7, int(round(years * 52)) * 7)
    start = np.datetime64(as_of, "D") - (n_days - 1)
    params = _draw_sku_params(n_skus, n_days, rng)
    suppliers = _draw_suppliers(n_suppliers, rng)
    items = _draw_items(params, n_suppliers, rng)
    first_weekday = (as_of - dt.timedelta(days=n_days - 1)).weekday()
    if not 0.0 <= lost_sales_share <= 1.0:
        raise ValueError("lost_sales_share must be in [0, 1]")
    if not (0.0 <= promotion_share <= 1.0 and 0.0 <= trend_share <= 1.0):
        raise ValueError("promotion_share and trend_share must be in [0, 1]")
    trending = np.zeros(n_skus, dtype=bool)
    if trend_share > 0:
        params, trending = with_persistent_trends(params, trend_share, seed)
    prices = None
    if promotion_share > 0:
        prices = draw_prices(items["unit_cost"].to_numpy(), (first_weekday + n_days + 6) // 7, promotion_share, seed)
    with_stock = lost_sales_share > 0
    lost = np.zeros(n_skus, dtype=bool)
    if with_stock:
        lost_rng = np.random.default_rng([seed, 16])
        lost[lost_rng.permutation(n_skus)[: int(round(lost_sales_share * n_skus))]] = True
    sim = simulate_replenishment(params, items, suppliers, n_days, first_weekday, rng,
                                 lost=lost, record_stock=with_stock,
                                 demand_multiplier=None if prices is None else prices.demand_multiplier)

    def to_dates(days: np.ndarray) -> np.ndarray:
        return (start + days.astype("timedelta64[D]")).astype("datetime64[ns]")

    sku_codes = items["sku"].to_numpy()
    sales = pd.DataFrame({
        "date": to_dates(sim.sales_day),
        "sku": pd.Categorical.from_codes(sim.sales_sku, categories=sku_codes),
        "quantity": sim.sales_quantity,
    })
    if prices is not None:
        sales["unit_price"] = prices.price[(first_weekday + sim.sales_day) // 7, sim.sales_sku]
    supplier_of_sku = items["supplier_id"].str.slice(4).astype(int).to_numpy() - 1
    po_supplier = supplier_of_sku[sim.po_sku]
    # One purchase order per supplier and order day; its lines are the SKUs ordered that day.
    _, po_number = np.unique(sim.po_day * n_suppliers + po_supplier, return_inverse=True)
    po_categories = [f"PO-{i:07d}" for i in range(1, int(po_number.max(initial=-1)) + 2)]
    arrival_day = sim.po_day + sim.po_lead_time
    is_open = arrival_day > n_days - 1
    nominal = suppliers["lead_time_days"].to_numpy()[po_supplier]
    purchase_orders = pd.DataFrame({
        "po_id": pd.Categorical.from_codes(po_number, categories=po_categories),
        "sku": pd.Categorical.from_codes(sim.po_sku, categories=sku_codes),
        "supplier_id": suppliers["supplier_id"].to_numpy()[po_supplier],
        "quantity": sim.po_quantity,
        "order_date": to_dates(sim.po_day),
        "expected_date": to_dates(sim.po_day + nominal),
        "received_date": np.where(is_open, np.datetime64("NaT"), to_dates(arrival_day)),
        "received_quantity": np.where(is_open, np.nan, sim.po_received.astype(float)),
        "status": np.where(is_open, "open", "closed"),
    })
    inventory = pd.DataFrame({
        "sku": sku_codes,
        "on_hand": np.maximum(sim.net_inventory, 0),
        "as_of": pd.Timestamp(as_of),
        "backordered": np.maximum(-sim.net_inventory, 0),
    })
    truth = pd.DataFrame({
        "sku": sku_codes, "demand_class": params.demand_class.astype(str),
        "pattern": params.pattern, "mean_daily_demand": params.rate * params.size_mean,
        "first_demand_date": to_dates(params.start_day),
        "last_demand_date": to_dates(params.end_day - 1),
        "supplier_profile": suppliers["profile"].to_numpy()[supplier_of_sku],
        "stockout_days": sim.stockout_days,
    })
    if prices is not None or trend_share > 0:
        truth["promotion_weeks"] = 0 if prices is None else prices.promotion_weeks
        truth["persistent_trend"] = trending
    supplier_columns = ["supplier_id", "name", "lead_time_days", "review_period_days",
                        "min_order_value"]
    tables = {"sales": sales, "items": items, "suppliers": suppliers[supplier_columns].copy(),
              "inventory": inventory, "purchase_orders": purchase_orders, TRUTH_TABLE: truth}
    if with_stock:
        unmet = np.where(lost, "lost", "backorder")
        items["unmet_demand"] = unmet
        truth["unmet_demand"] = unmet
        truth["demand_units"] = sim.demand_units
        truth["lost_units"] = sim.lost_units
        first_day = max(0, n_days - STOCK_HISTORY_DAYS)
        days, sku_index = np.nonzero(np.ones((n_days - first_day, n_skus), dtype=bool))
        days += first_day
        alive = (params.start_day[sku_index] <= days) & (params.end_day[sku_index] > days)
        tables["stock_history"] = pd.DataFrame({
            "sku": pd.Categorical.from_codes(sku_index[alive], categories=sku_codes),
            "date": to_dates(days[alive]),
            "on_hand": sim.on_hand_daily[first_day:].ravel()[alive],
        }).sort_values(["sku", "date"], kind="stable").reset_index(drop=True)
    return tables


def _to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Arrow table with dates as date32 and categoricals as plain strings."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.date32()))
        elif pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.string()))
    return table


def write_demo_data(tables: dict[str, pd.DataFrame], out_dir: Path, fmt: str = "csv",
                    include_truth: bool = False) -> dict[str, Path]:
    """Write the contract tables as `<name>.csv` (ISO dates, empty = missing) or `.parquet`.

    The ground-truth table is written only with `include_truth` (it is not an input file).
    Returns {table name: path written}.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [n for n in (*CONTRACT_TABLES, *OPTIONAL_CONTRACT_TABLES, TRUTH_TABLE) if n in tables]
    if not include_truth:
        names = [n for n in names if n != TRUTH_TABLE]
    written: dict[str, Path] = {}
    for name in names:
        table = _to_arrow(tables[name])
        path = out_dir / f"{name}.{fmt}"
        if fmt == "parquet":
            pa_parquet.write_table(table, path)
        else:
            with open(path, "wb") as sink:
                sink.write((",".join(table.column_names) + "\n").encode())
                try:
                    options = pa_csv.WriteOptions(include_header=False, quoting_style="none")
                    pa_csv.write_csv(table, sink, options)
                except pa.ArrowInvalid:  # a value holds a comma or quote: quote minimally
                    sink.seek(0)
                    sink.truncate()
                    table.to_pandas().to_csv(sink, index=False, lineterminator="\n")
        written[name] = path
    return written

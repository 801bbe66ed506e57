"""Added time of the stock-out stage (issue 16 target: <= 10 s at 100,000 SKUs x a year of daily stock).

Generates an input folder under /tmp (never in the repository): `--skus` lost-sales SKUs with
daily sales over `--days` days (Poisson, 0.5-4 units a day, 0-6 days out of stock before each
receipt), their purchase orders (a receipt every 3 weeks) and a `stock_history.parquet` of every
SKU x day. Each arm runs in a fresh process (its own peak RSS): the loader's set-up (items
staged, sales checked and aggregated, the weekly demand matrix) is not timed; the stage the
issue adds is:

- stock_history: the file checked in one scan and aggregated to weekly in-stock shares
  (pipelines/inputs/stock_fast.py, sql/stock_weekly_aggregate.sql), then the in-stock share
  grid, `unconstrain_demand` and the `demand_weekly` rows;
- inferred: no stock history; stock-outs inferred for every SKU (all `lost`, all with receipts:
  pipelines/inputs/stockout_inference.py), then the same unconstrained stage.

Prints each arm's added seconds and peak RSS.

    .venv/bin/python benchmarks/censoring_speed.py --skus 100000 --days 365
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

AS_OF = dt.date(2026, 11, 15)  # a Sunday


def generate(folder: Path, n_skus: int, n_days: int, seed: int = 7) -> None:
    """Write the input folder (Parquet for the two big tables)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    skus = np.array([f"SKU-{i:06d}" for i in range(n_skus)], dtype=object)
    days = np.datetime64(AS_OF, "D") - np.arange(n_days)[::-1]
    rate = rng.uniform(0.5, 4.0, n_skus).astype(np.float32)
    # receipts every 21 days (phase per SKU); the 0-6 days before a receipt are out of stock
    phase = rng.integers(0, 21, n_skus)
    gap = rng.integers(0, 7, n_skus)
    day_index = np.arange(n_days)
    to_receipt = (phase[:, None] - day_index[None, :]) % 21  # 0 on a receipt day
    out = (to_receipt > 0) & (to_receipt <= gap[:, None])
    sold = np.where(out, 0, rng.poisson(rate[:, None], (n_skus, n_days))).astype(np.int32)
    sku_dict = pa.DictionaryArray.from_arrays(pa.array(np.repeat(np.arange(n_skus, dtype=np.int32), n_days)),
                                              pa.array(skus.tolist()))
    on_hand = np.where(out, 0, rng.integers(1, 50, (n_skus, n_days))).astype(np.int32)
    pq.write_table(pa.table({"sku": sku_dict.cast(pa.string()), "date": pa.array(np.tile(days, n_skus)),
                             "on_hand": on_hand.ravel()}), folder / "stock_history.parquet")
    sku_of, day_of = np.nonzero(sold)
    pq.write_table(pa.table({"date": pa.array(days[day_of]), "sku": pa.array(skus[sku_of].tolist()),
                             "quantity": sold[sku_of, day_of]}), folder / "sales.parquet")
    receipt_sku, receipt_day = np.nonzero(to_receipt == 0)
    received = days[receipt_day]
    pd.DataFrame({"po_id": [f"PO-{i}" for i in range(len(receipt_sku))], "sku": skus[receipt_sku],
                  "supplier_id": "S1", "quantity": 60, "order_date": received - 14, "expected_date": received,
                  "received_date": received, "received_quantity": 60}).to_csv(
        folder / "purchase_orders.csv", index=False, date_format="%Y-%m-%d")
    pd.DataFrame({"sku": skus, "supplier_id": "S1", "unit_cost": 5.0, "pack_size": 1, "moq": 0,
                  "unmet_demand": "lost"}).to_csv(folder / "items.csv", index=False)
    pd.DataFrame({"supplier_id": ["S1"], "name": ["Speed"], "lead_time_days": [14]}).to_csv(
        folder / "suppliers.csv", index=False)
    pd.DataFrame({"sku": skus, "on_hand": 10, "as_of": AS_OF}).to_csv(folder / "inventory.csv", index=False)


def run_arm(folder: Path, arm: str) -> dict[str, float]:
    """One arm in this process. Untimed set-up as the loader does it (items staged, sales checked
    and aggregated to `sales_daily` and weekly sales, the demand matrix); then timed: the stock
    history staged, checked and aggregated (`stock_history_fast` + the loader's `_stock_weekly`)
    or the inference (`infer_stock_weekly`), and the unconstrained stage (in-stock share grid,
    `unconstrain_demand`, `demand_weekly` rows)."""
    import tempfile

    import duckdb
    import numpy as np
    import pandas as pd
    from safestock.models.demand_censoring import in_stock_share_matrix, unconstrain_demand
    from safestock.models.demand_matrix import build_demand_matrix, last_complete_week
    from safestock.pipelines.inputs.contract import TABLES
    from safestock.pipelines.inputs.load import _cores, _stock_weekly
    from safestock.pipelines.inputs.staging import sales_fast, stage
    from safestock.pipelines.inputs.stock_fast import stock_history_fast
    from safestock.pipelines.inputs.stockout_inference import infer_stock_weekly
    from safestock.pipelines.sqlfiles import sql
    from safestock.pipelines.storage.outputs import demand_weekly_table

    as_of = pd.Timestamp(AS_OF)
    issues: list = []
    spill = tempfile.TemporaryDirectory(prefix="safestock-censoring-bench-")
    con = duckdb.connect(config={"memory_limit": "2GB", "temp_directory": spill.name, "threads": _cores(),
                                 "preserve_insertion_order": True})
    con.execute("set enable_progress_bar = false")
    items_staged = stage(con, TABLES["items"], folder / "items.csv", issues)
    sales_fast(con, TABLES["sales"], folder / "sales.parquet", issues)
    assert not issues, issues
    sales_weekly = con.execute(sql("sales_weekly_aggregate"), {"as_of": as_of.date()}).df()
    items = pd.read_csv(folder / "items.csv", dtype={"sku": object})
    purchase_orders = pd.read_csv(folder / "purchase_orders.csv", dtype={"sku": object},
                                  parse_dates=["received_date"])
    skus = items["sku"].to_numpy(dtype=object)
    sales = build_demand_matrix(sales_weekly, skus, last_complete_week(as_of), 52)
    setup_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started, cpu_started = time.perf_counter(), time.process_time()
    if arm == "stock_history":
        staged = stock_history_fast(con, TABLES["stock_history"], folder / "stock_history.parquet", issues,
                                    items_staged)
        assert not issues and staged.source is not None, issues  # valid: the fast path held
        stock, _ = _stock_weekly(con, staged, as_of, skus)
    else:
        stock, _ = infer_stock_weekly(con, items, purchase_orders, set(), as_of, "sales.parquet")
    loaded = time.perf_counter()
    share = in_stock_share_matrix(stock["sku"].to_numpy(dtype=object), stock["week"].to_numpy(),
                                  stock["in_stock_share"].to_numpy(), skus, sales.weeks.values)
    from_inference = (stock["stockout_source"] == "inferred").to_numpy()  # as pipelines/flow.py does
    inferred = (in_stock_share_matrix(stock["sku"].to_numpy(dtype=object)[from_inference],
                                      stock["week"].to_numpy()[from_inference], np.ones(int(from_inference.sum())),
                                      skus, sales.weeks.values) == 1) if from_inference.any() else None
    estimate = unconstrain_demand(sales.quantity, share, np.ones(len(skus), dtype=bool), sales.start)
    rows = len(demand_weekly_table(sales, share, estimate.demand, estimate.censored,
                                   np.full(len(skus), "lost", dtype=object), inferred))
    finished, cpu_finished = time.perf_counter(), time.process_time()
    con.close()
    return {"load_seconds": loaded - started, "stage_seconds": finished - loaded, "seconds": finished - started,
            "cpu_seconds": cpu_finished - cpu_started,
            "setup_peak_mb": setup_peak_mb, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "demand_weekly_rows": rows, "stock_weekly_rows": len(stock),
            "inferred_weeks": int((stock["stockout_source"] == "inferred").sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--data", type=Path, default=Path("/tmp/safestock-censoring-bench"))
    parser.add_argument("--arm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = args.data / f"skus{args.skus}-days{args.days}"
    if args.arm:
        print(json.dumps(run_arm(folder, args.arm)))
        return
    if not (folder / "stock_history.parquet").is_file():
        print(f"generating {args.skus:,} SKUs x {args.days} days in {folder} ...", flush=True)
        generate(folder, args.skus, args.days)
    figures = {}
    for arm in ("stock_history", "inferred"):
        out = subprocess.run([sys.executable, __file__, "--skus", str(args.skus), "--days", str(args.days),
                              "--data", str(args.data), "--arm", arm], check=True, capture_output=True, text=True)
        figures[arm] = json.loads(out.stdout.strip().splitlines()[-1])
        stage_name = "stock history checked + aggregated" if arm == "stock_history" else "stock-outs inferred"
        print(f"{arm:>13}: added {figures[arm]['seconds']:5.1f} s ({stage_name} {figures[arm]['load_seconds']:.1f} s, "
              f"unconstrained stage {figures[arm]['stage_seconds']:.1f} s; CPU {figures[arm]['cpu_seconds']:.1f} s, all "
              f"threads); peak RSS {figures[arm]['peak_mb']:,.0f} MB "
              f"(set-up before the stage {figures[arm]['setup_peak_mb']:,.0f} MB); stock_weekly rows "
              f"{figures[arm]['stock_weekly_rows']:,}, inferred weeks {figures[arm]['inferred_weeks']:,}, "
              f"demand_weekly rows {figures[arm]['demand_weekly_rows']:,}", flush=True)
    print(f"({args.skus:,} SKUs x {args.days} days; target: added time <= 10 s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring)")


if __name__ == "__main__":
    main()

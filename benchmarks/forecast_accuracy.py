"""Accuracy and speed of the project's forecasting engine vs statsforecast / statsmodels peers.

Usage::

    .venv/bin/python benchmarks/forecast_accuracy.py [--skus N] [--holdout 13]
        [--datasets synthetic,man,jewelry] [--statsmodels-skus 100] [--seed 0]
        [--peers-cache DIR] [--global-model]

For each data set the last ``--holdout`` weeks are held out; every method forecasts them from
the weeks before. Reported per demand class (the engine's classification of the training
weeks) and overall: mean RMSSE and MASE over SKUs (M5 scales from the training weeks),
WAPE = sum|e| / sum y and bias = sum(f - y) / sum y over the class, and seconds per 1,000 SKUs.
For the engine also the holdout coverage of its 80 % / 95 % intervals. The RMSSE and MASE tables
add the class's best peer and a paired per-SKU comparison with it: mean difference engine - best
peer, its 95 % bootstrap interval and a verdict (better / worse / tie; ``too few SKUs`` below 20).

Data sets: (a) synthetic weekly panel generated here (smooth, erratic, intermittent, lumpy,
seasonal, trending, late starts); ``trend``: 1,000 SKUs with a steady 0.5-1 %/week trend
(issue 17, ``trend_panel``; not in the default list); (b) real sets read in place from shared/data/real/ (beside the checkout)
(``man_weekly_long.csv.gz``: sku, year_week, demand; ``jewelry_weekly_long.csv``: sku, year,
week, units) — never copied. statsforecast is optional (``pip install statsforecast``): without
it a notice is printed and only the engine (and statsmodels, if present) is reported.

``--peers-cache DIR``: the peers' holdout forecasts and seconds are stored in ``DIR`` as one
``.npz`` per data set and peer, keyed by the data set name, holdout, subsample, seed, AutoETS
season and a digest of the training matrix; a later run with the same key reuses them (the
peers do not change between engine experiments). The printed peer seconds are those of the
run that filled the cache.
"""

from __future__ import annotations

import argparse
import hashlib
import time
import warnings
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from safestock.models.forecasting import forecast_demand, window_demand  # noqa: E402
from safestock.models.forecasting.coverage import WINDOW_WEEKS  # noqa: E402
from safestock.models.forecasting.windows import pit_coverage  # noqa: E402

from real_data_adapter import REAL_DATA_DIR as REAL_DATA  # noqa: E402  (a sibling script)
MIN_PEER_WEEKS = 10   # statsforecast AutoETS raises "tiny datasets" on very short series
PEER_MIN_WEEKS = {"sf_AutoETS": MIN_PEER_WEEKS}   # the other peers run on every series (>= 2 weeks)
MIN_PAIRED_SKUS = 20   # classes with fewer paired SKUs get no better / worse / tie verdict
CLASS_ORDER = ["smooth", "erratic", "intermittent", "lumpy", "new", "inactive", "all"]


# ----------------------------------------------------------------------------- data

class Panel(NamedTuple):
    """Weekly demand of ``skus``: ``y`` (n, T) from the week starting ``weeks[0]``, ``start`` = first
    week of each SKU's history, ``weeks`` (T,) the first day of each column (``datetime64[D]``)."""

    skus: np.ndarray
    y: np.ndarray
    start: np.ndarray
    weeks: np.ndarray


SYNTHETIC_FIRST_WEEK = "2023-01-02"


def synthetic_panel(n: int, weeks: int, seed: int) -> Panel:
    """Mixed-class weekly demand (no calendar events) on ISO weeks from ``SYNTHETIC_FIRST_WEEK``."""
    rng = np.random.default_rng(seed)
    t = np.arange(weeks)
    kind = rng.choice(["smooth", "seasonal", "trend", "erratic", "intermittent", "lumpy"], size=n,
                      p=[0.2, 0.2, 0.1, 0.15, 0.2, 0.15])
    level = rng.gamma(2.0, 15.0, size=n)[:, None]
    phase = rng.uniform(0, 1, size=(n, 1))
    season = 1.0 + rng.uniform(0.3, 0.8, size=(n, 1)) * np.sin(2 * np.pi * (t[None, :] / 52 + phase))
    trend = 1.0 + rng.normal(0, 0.004, size=(n, 1)) * t[None, :]
    rate = level * np.where((kind == "seasonal")[:, None], season, 1.0)
    rate = rate * np.where((kind == "trend")[:, None], np.clip(trend, 0.2, None), 1.0)
    y = rng.poisson(rate).astype(float)
    erratic = kind == "erratic"
    y[erratic] = rng.negative_binomial(1.2, 1.2 / (1.2 + rate[erratic])).astype(float)
    p_demand = rng.uniform(0.05, 0.5, size=(n, 1))
    occurs = rng.uniform(size=(n, weeks)) < p_demand
    small = 1.0 + rng.poisson(2.0, size=(n, weeks))
    big = np.ceil(rng.lognormal(1.5, 1.0, size=(n, weeks)))
    y[kind == "intermittent"] = (occurs * small)[kind == "intermittent"]
    y[kind == "lumpy"] = (occurs * big)[kind == "lumpy"]
    start = np.where(rng.uniform(size=n) < 0.1, rng.integers(0, weeks - 20, size=n), 0)
    y[t[None, :] < start[:, None]] = 0.0
    y[np.arange(n), start] = np.maximum(y[np.arange(n), start], 1.0)
    weeks_index = np.datetime64(SYNTHETIC_FIRST_WEEK) + np.arange(weeks) * np.timedelta64(7, "D")
    return Panel(np.array([f"syn{i}" for i in range(n)]), y, start, weeks_index)


def trend_panel(n: int, weeks: int, seed: int) -> Panel:
    """Issue 17's steady-trend case: every SKU grows or shrinks by a constant 0.5-1 % a week
    (level x (1 +- g)^t, g ~ U(0.005, 0.01); shrinking SKUs start 4x higher), Poisson noise,
    ``weeks`` ISO weeks from ``SYNTHETIC_FIRST_WEEK`` (169 = 3 years of training + a 13-week
    holdout). The same process as tests/test_forecasting_trend.py."""
    rng = np.random.default_rng(seed)
    growth = rng.uniform(0.005, 0.01, (n, 1)) * rng.choice([-1, 1], (n, 1))
    level = rng.gamma(3.0, 20.0, (n, 1)) * np.where(growth < 0, 4.0, 1.0)
    y = rng.poisson(level * (1 + growth) ** np.arange(weeks)[None, :]).astype(float)
    first = np.datetime64(SYNTHETIC_FIRST_WEEK, "D")
    return Panel(np.array([f"T{i:05d}" for i in range(n)]), y, np.zeros(n, dtype=np.int64),
                 first + 7 * np.arange(weeks).astype("timedelta64[D]"))


def _panel_from_long(frame: pd.DataFrame) -> Panel:
    """Long (sku, week_start, qty) -> zero-filled matrix with one column per distinct week (in
    order), start = first sale. Every week of the data's span must occur in ``frame``."""
    weeks = np.sort(frame["week_start"].unique())
    col = np.searchsorted(weeks, frame["week_start"].to_numpy())
    skus = np.sort(frame["sku"].astype(str).unique())
    row = pd.Index(skus).get_indexer(frame["sku"].astype(str))
    y = np.zeros((skus.size, weeks.size))
    np.add.at(y, (row, col), frame["qty"].to_numpy(dtype=float))
    y = np.maximum(y, 0.0)
    has_sale = y > 0
    start = np.where(has_sale.any(axis=1), has_sale.argmax(axis=1), y.shape[1])
    return Panel(skus, y, start, weeks.astype("datetime64[D]"))


def man_panel() -> Panel:
    raw = pd.read_csv(REAL_DATA / "man_weekly_long.csv.gz")
    monday = pd.to_datetime(raw["year_week"] + "-1", format="%G-W%V-%u")
    return _panel_from_long(pd.DataFrame({"sku": raw["sku"], "week_start": monday, "qty": raw["demand"]}))


def jewelry_week_start(year: pd.Series, week: pd.Series) -> pd.Series:
    """First day of the jewelry set's week ``week`` of ``year``: 1 January + 7 (week - 1) days.

    The set's weeks are not ISO weeks: every year has weeks 1-52 (ISO 1998 has 53), and the
    Valentine's peak is week 6 in all three years (Feb 14 falls in days 43-49, week 7, every
    year: the sales week before it) and the Mother's Day peak is the week before the one holding
    it in 1998, 1999 and 2000 only under this reading. (Read as ISO weeks, a missing 1998-W53
    left an all-zero column in every SKU's history, and Mother's Day shifted.)"""
    return pd.to_datetime(year.astype(str) + "-01-01") + pd.to_timedelta(7 * (week.astype(int) - 1), unit="D")


def jewelry_panel() -> Panel:
    raw = pd.read_csv(REAL_DATA / "jewelry_weekly_long.csv")
    week_start = jewelry_week_start(raw["year"], raw["week"])
    return _panel_from_long(pd.DataFrame({"sku": raw["sku"], "week_start": week_start, "qty": raw["units"]}))


# ----------------------------------------------------------------------------- scoring

def scaled_errors(train: np.ndarray, start: np.ndarray, actual: np.ndarray, forecast: np.ndarray
                  ) -> dict[str, np.ndarray]:
    """Per-SKU RMSSE and MASE (M5 scales from the training weeks since ``start``); NaN where the
    training weeks have no change to scale by."""
    weeks = train.shape[1]
    in_hist = np.arange(weeks)[None, :] > start[:, None]
    diff = np.zeros_like(train)
    diff[:, 1:] = np.diff(train, axis=1)
    n_diff = np.maximum(in_hist.sum(axis=1), 1)
    sq_scale = np.where(in_hist, diff ** 2, 0).sum(axis=1) / n_diff
    abs_scale = np.where(in_hist, np.abs(diff), 0).sum(axis=1) / n_diff
    err = forecast - actual
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"rmsse": np.where(sq_scale > 0, np.sqrt((err ** 2).mean(axis=1) / sq_scale), np.nan),
                "mase": np.where(abs_scale > 0, np.abs(err).mean(axis=1) / abs_scale, np.nan)}


def class_members(classes: np.ndarray, name: str) -> np.ndarray:
    return np.ones(len(classes), bool) if name == "all" else classes == name


def score(train: np.ndarray, start: np.ndarray, actual: np.ndarray, forecast: np.ndarray,
          classes: np.ndarray, per_sku: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Per-class RMSSE, MASE (means over SKUs of ``scaled_errors``, computed unless given), WAPE
    and bias (class totals)."""
    per_sku = scaled_errors(train, start, actual, forecast) if per_sku is None else per_sku
    err = forecast - actual
    rows = []
    for name in CLASS_ORDER:
        members = class_members(classes, name)
        if not members.any():
            continue
        total = actual[members].sum()
        scored = {m: v[members][~np.isnan(v[members])] for m, v in per_sku.items()}
        means = {m: float(v.mean()) if v.size else np.nan for m, v in scored.items()}
        rows.append({"class": name, "skus": int(members.sum()), **means,
                     "wape": float(np.abs(err[members]).sum() / total) if total > 0 else np.nan,
                     "bias": float(err[members].sum() / total) if total > 0 else np.nan})
    return pd.DataFrame(rows).set_index("class")


def paired_bootstrap_ci(diff: np.ndarray, draws: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap CI (Efron & Tibshirani 1993, ch. 13) of the mean of the paired per-SKU
    differences ``diff``: ``draws`` resamples of the SKUs with replacement, all drawn at once as a
    (draws, n) index matrix from ``np.random.default_rng(seed)``. Empty ``diff``: (nan, nan)."""
    diff = np.asarray(diff, dtype=float)
    if diff.size == 0:
        return np.nan, np.nan
    means = diff[np.random.default_rng(seed).integers(0, diff.size, size=(draws, diff.size))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def paired_comparison(diff: np.ndarray, min_skus: int = MIN_PAIRED_SKUS, draws: int = 2000,
                      seed: int = 0) -> tuple[float, float, float, str]:
    """(mean difference, 95 % CI low, high, verdict) for per-SKU differences engine - peer (lower
    is better): ``better`` if the CI lies below 0, ``worse`` if above, else ``tie``;
    ``too few SKUs`` below ``min_skus`` paired SKUs, whatever the CI."""
    diff = np.asarray(diff, dtype=float)
    lo, hi = paired_bootstrap_ci(diff, draws, seed)
    verdict = ("too few SKUs" if diff.size < min_skus else
               "better" if hi < 0 else "worse" if lo > 0 else "tie")
    return (float(diff.mean()) if diff.size else np.nan), lo, hi, verdict


def coverage(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    inside = (actual >= lo - 1e-9) & (actual <= hi + 1e-9)
    out = {name: float(inside[classes == name].mean()) for name in CLASS_ORDER[:-1] if (classes == name).any()}
    out["all"] = float(inside.mean())
    return out


def window_coverage(result, actual: np.ndarray, classes: np.ndarray) -> dict[str, tuple[float, float]]:
    """PIT coverage (80 %, 95 %) of the holdout's totals over its first k weeks, k in
    ``WINDOW_WEEKS``, by :func:`safestock.models.forecasting.window_demand` (the fitted window model)."""
    is_count = np.isin(result.family, ["poisson", "negbin"])
    shares: dict[int, list[np.ndarray]] = {80: [], 95: []}
    for k in (k for k in WINDOW_WEEKS if k <= actual.shape[1]):
        totals = window_demand(result.mean, result.sd, result.family, result.level_error_weeks, weeks=k)
        for level in shares:
            shares[level].append(pit_coverage(actual[:, :k].sum(axis=1), totals.mean, totals.sd ** 2,
                                              is_count, level / 100))
    stacked = {level: np.stack(parts, axis=1) for level, parts in shares.items()}
    return {name: (float(stacked[80][class_members(classes, name)].mean()),
                   float(stacked[95][class_members(classes, name)].mean()))
            for name in CLASS_ORDER if class_members(classes, name).any()}


# ----------------------------------------------------------------------------- peers

def statsforecast_methods(season_length: int, ets_season_length: int
                          ) -> dict[str, Callable[[], object]] | None:
    try:
        from statsforecast.models import (
            ADIDA,
            IMAPA,
            TSB,
            AutoETS,
            CrostonOptimized,
            SeasonalNaive,
        )
    except ImportError:
        print("NOTICE: statsforecast is not installed (pip install statsforecast); peers skipped.")
        return None
    return {
        "sf_AutoETS": lambda: AutoETS(season_length=ets_season_length),
        "sf_CrostonOptimized": CrostonOptimized,
        "sf_TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
        "sf_ADIDA": ADIDA,
        "sf_IMAPA": IMAPA,
        "sf_SeasonalNaive": lambda: SeasonalNaive(season_length=season_length),
    }


def run_statsforecast(make_model: Callable[[], object], train: np.ndarray, start: np.ndarray,
                      horizon: int, min_weeks: int = MIN_PEER_WEEKS) -> tuple[np.ndarray, float]:
    """Forecast every SKU with >= ``min_weeks`` weeks with one statsforecast model; shorter
    series and NaN forecasts -> training mean."""
    from statsforecast import StatsForecast

    active = np.flatnonzero(start <= train.shape[1] - min_weeks)   # shorter series: mean
    ids = np.concatenate([np.full(train.shape[1] - start[i], i) for i in active])
    ds = np.concatenate([np.arange(start[i], train.shape[1]) for i in active])
    frame = pd.DataFrame({"unique_id": ids, "ds": ds, "y": train[ids, ds]})
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = StatsForecast(models=[make_model()], freq=1, n_jobs=1).forecast(df=frame, h=horizon)
    seconds = time.perf_counter() - t0
    column = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
    out = np.full((train.shape[0], horizon), np.nan)   # not run (too short) -> mean below
    values = fc[column].to_numpy(dtype=float).reshape(-1, horizon)
    uid = fc["unique_id"].to_numpy().reshape(-1, horizon)[:, 0].astype(int)
    out[uid] = values
    means = np.array([train[i, s:].mean() if s < train.shape[1] else 0.0 for i, s in enumerate(start)])
    bad = ~np.isfinite(out)
    out[bad] = np.broadcast_to(means[:, None], out.shape)[bad]
    return np.maximum(out, 0.0), seconds


def run_statsmodels_ets(train: np.ndarray, start: np.ndarray, horizon: int,
                        rows: np.ndarray) -> tuple[np.ndarray, float] | None:
    """statsmodels ETS (additive error, additive damped trend) for ``rows``, one model per SKU."""
    try:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
    except ImportError:
        print("NOTICE: statsmodels is not installed; statsmodels ETS skipped.")
        return None
    out = np.full((rows.size, horizon), np.nan)
    t0 = time.perf_counter()
    for j, i in enumerate(rows):
        series = train[i, start[i]:]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model = ETSModel(series, error="add", trend="add", damped_trend=True)
                out[j] = model.fit(disp=False).forecast(horizon)
            except Exception:  # noqa: BLE001 - peer failure -> mean fallback, counted below
                out[j] = series.mean()
    return np.maximum(np.nan_to_num(out), 0.0), time.perf_counter() - t0


# ----------------------------------------------------------------------------- peers cache

def peer_cache_path(cache_dir: Path | None, key: str, label: str) -> Path | None:
    """File for one peer's forecasts under ``cache_dir`` (None: no cache)."""
    return None if cache_dir is None else cache_dir / f"{key}__{label}.npz"


def data_key(name: str, train: np.ndarray, start: np.ndarray, holdout: int, extra: str) -> str:
    """Cache key: data set, holdout, options and a digest of the training data."""
    raw = np.ascontiguousarray(train).tobytes() + np.asarray(start).tobytes()
    digest = hashlib.sha1(raw).hexdigest()[:12]
    return f"{name}_h{holdout}_{extra}_{digest}_v2"   # v2: short series -> mean, not 0


def cached_peer(path: Path | None, run: Callable[[], tuple[np.ndarray, float]]) -> tuple[np.ndarray, float]:
    """Load (forecast, seconds) from ``path`` if present, else run and store it there."""
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["forecast"], float(data["seconds"])
    forecast, seconds = run()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, forecast=forecast, seconds=seconds)
    return forecast, seconds


# ----------------------------------------------------------------------------- main

def benchmark(name: str, skus: np.ndarray, y: np.ndarray, start: np.ndarray, weeks: np.ndarray, holdout: int,
              statsmodels_skus: int, seed: int, ets_season_length: int,
              cache_dir: Path | None = None, key_extra: str = "", global_model: bool = False) -> None:
    train, actual = y[:, :-holdout], y[:, -holdout:]
    keep = start < train.shape[1]            # SKUs listed before the holdout
    skus, train, actual, start = skus[keep], train[keep], actual[keep], start[keep]
    n = skus.size
    print(f"\n=== {name}: {n} SKUs x {train.shape[1]} training weeks, holdout {holdout} ===")
    season = 52 if train.shape[1] >= 2 * 52 else 1
    t0 = time.perf_counter()
    result = forecast_demand(skus, train, start, holdout, week_starts=weeks[:-holdout], global_model=global_model)
    engine_seconds = time.perf_counter() - t0
    classes = result.classes["demand_class"].to_numpy()
    print("classes:", dict(pd.Series(classes).value_counts()))
    print("selected models:", dict(pd.Series(result.model).value_counts()))
    per_sku = {"engine": scaled_errors(train, start, actual, result.mean)}
    tables = {"engine": score(train, start, actual, result.mean, classes, per_sku["engine"])}
    seconds = {"engine": engine_seconds}
    key = data_key(name, train, start, holdout, f"{key_extra}_ets{ets_season_length}")
    methods = statsforecast_methods(season, ets_season_length) or {}
    for label, make in methods.items():
        try:
            fc, sec = cached_peer(peer_cache_path(cache_dir, key, label),
                                  lambda make=make, label=label: run_statsforecast(
                                      make, train, start, holdout, PEER_MIN_WEEKS.get(label, 2)))
        except Exception as exc:  # noqa: BLE001 - report and continue with the other peers
            print(f"{label} failed: {exc!r}")
            continue
        per_sku[label] = scaled_errors(train, start, actual, fc)
        tables[label], seconds[label] = score(train, start, actual, fc, classes, per_sku[label]), sec
    if statsmodels_skus > 0:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(n, size=min(statsmodels_skus, n), replace=False))
        path = peer_cache_path(cache_dir, key, f"sm_ETS_{rows.size}")
        if path is not None and path.exists():
            ets = cached_peer(path, lambda: (np.zeros(0), 0.0))
        else:
            ets = run_statsmodels_ets(train, start, holdout, rows)
            if ets is not None and path is not None:
                cached_peer(path, lambda: ets)
        if ets is not None:
            sub = score(train[rows], start[rows], actual[rows], ets[0], classes[rows])
            engine_sub = score(train[rows], start[rows], actual[rows], result.mean[rows], classes[rows])
            print(f"statsmodels ETS(A,Ad,N) on a random {rows.size}-SKU subsample "
                  f"({ets[1] / rows.size * 1000:.1f} s per 1,000 SKUs), engine on the same SKUs:")
            print(pd.concat({"sm_ETS": sub, "engine": engine_sub}, axis=1).round(3).to_string())
    for metric in ("rmsse", "mase", "wape", "bias"):
        table = pd.DataFrame({label: t[metric] for label, t in tables.items()})
        peers = table.drop(columns="engine")
        shown = table.round(3)
        if metric in ("rmsse", "mase") and not peers.empty:
            table["best_peer"] = peers.min(axis=1)
            table["engine<=best"] = table["engine"] <= table["best_peer"] + 1e-12
            paired = []   # per-SKU engine - best peer of the class; its mean is engine - best_peer
            for cls, row in peers.iterrows():
                best = per_sku[row.idxmin()][metric] if row.notna().any() else np.nan
                d = (per_sku["engine"][metric] - best)[class_members(classes, cls)]
                paired.append(paired_comparison(d[~np.isnan(d)], seed=seed))
            table[["diff", "ci95_lo", "ci95_hi", "verdict"]] = pd.DataFrame(paired, index=table.index)
            shown = table.round(3).assign(**{c: table[c].round(5) for c in ("diff", "ci95_lo", "ci95_hi")})
        print(f"\n{metric.upper()} by class" + (" (diff, ci95: paired per-SKU engine - best peer, "
              f"bootstrap; verdict needs >= {MIN_PAIRED_SKUS} SKUs)" if "verdict" in table else ""))
        print(shown.to_string())
    speed = pd.Series({label: s / n * 1000 for label, s in seconds.items()}, name="s per 1,000 SKUs")
    print("\nseconds per 1,000 SKUs\n" + speed.round(3).to_string())
    cov80 = coverage(actual, result.lo80, result.hi80, classes)
    cov95 = coverage(actual, result.lo95, result.hi95, classes)
    windows = window_coverage(result, actual, classes)
    print("\nengine interval coverage on the holdout (backtest coverage in brackets); totals over the "
          f"first {', '.join(map(str, WINDOW_WEEKS))} weeks by the window model, PIT")
    backtest = result.coverage.set_index("demand_class")
    for cls in cov80:
        bt = backtest.loc[cls] if cls in backtest.index else None
        extra = f" [{bt['coverage80']:.3f} / {bt['coverage95']:.3f}]" if bt is not None else ""
        window = f"   windows 80%: {windows[cls][0]:.3f}  95%: {windows[cls][1]:.3f}"
        if bt is not None and np.isfinite(bt["window_coverage80"]):
            window += f" [{bt['window_coverage80']:.3f} / {bt['window_coverage95']:.3f}]"
        print(f"  {cls:13s} 80%: {cov80[cls]:.3f}  95%: {cov95[cls]:.3f}{extra}{window}")
    print("\nengine backtest coverage frame (ForecastResult.coverage, all columns)")
    with pd.option_context("display.width", 200, "display.max_columns", None):
        print(result.coverage.to_string(index=False))
    if global_model:
        t0 = time.perf_counter()
        plain = forecast_demand(skus, train, start, holdout, week_starts=weeks[:-holdout])
        print(f"\nglobal model on vs off (engine without it, {time.perf_counter() - t0:.1f} s; with it "
              f"{engine_seconds:.1f} s): RMSSE per class, paired per-SKU on - off, bootstrap")
        print(on_off_table(per_sku["engine"]["rmsse"], scaled_errors(train, start, actual, plain.mean)["rmsse"],
                          classes, result.model == "global_gbm", seed).to_string())


def on_off_table(on: np.ndarray, off: np.ndarray, classes: np.ndarray, chosen: np.ndarray,
                 seed: int = 0) -> pd.DataFrame:
    """Per class: mean per-SKU RMSSE off and on, SKUs choosing the global model, and the paired
    per-SKU difference on - off with its bootstrap 95 % interval and verdict (:func:`paired_comparison`)."""
    rows = []
    for name in CLASS_ORDER:
        members = class_members(classes, name)
        ok = members & np.isfinite(on) & np.isfinite(off)
        if not ok.any():
            continue
        diff, lo, hi, verdict = paired_comparison(on[ok] - off[ok], seed=seed)
        rows.append({"class": name, "skus": int(ok.sum()), "off": off[ok].mean(), "on": on[ok].mean(),
                     "picks": int((chosen & members).sum()), "diff": diff, "ci95_lo": lo, "ci95_hi": hi,
                     "verdict": verdict})
    return pd.DataFrame(rows).set_index("class").round(5)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skus", type=int, default=0, help="subsample N SKUs per data set (0 = all; "
                        "synthetic default 3000)")
    parser.add_argument("--holdout", type=int, default=13)
    parser.add_argument("--datasets", default="synthetic,man,jewelry")
    parser.add_argument("--statsmodels-skus", type=int, default=100,
                        help="SKUs for the (slow, per-series) statsmodels ETS peer; 0 = skip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peers-cache", type=Path, default=None,
                        help="directory to store / reuse the peers' holdout forecasts (keyed by data set, "
                        "holdout, options and a digest of the training data)")
    parser.add_argument("--ets-season", type=int, default=1,
                        help="season length for statsforecast AutoETS (default 1: non-seasonal; R's ets "
                        "refuses m > 24 and m = 52 is ~100 s per 1,000 SKUs)")
    parser.add_argument("--global-model", action="store_true",
                        help="offer the engine's global gradient-boosted model ([forecast] global_model = true) "
                        "and compare with the engine without it (paired per SKU)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    for name in args.datasets.split(","):
        if name == "synthetic":
            data = synthetic_panel(args.skus or 3000, 156, args.seed)
        elif name == "trend":
            data = trend_panel(args.skus or 1000, 169, args.seed)
        elif name == "man":
            data = man_panel()
        elif name == "jewelry":
            data = jewelry_panel()
        else:
            raise SystemExit(f"unknown data set {name!r}")
        skus, y, start, weeks = data
        if args.skus and skus.size > args.skus:
            pick = np.sort(rng.choice(skus.size, size=args.skus, replace=False))
            skus, y, start = skus[pick], y[pick], start[pick]
        benchmark(name, skus, y, start, weeks, args.holdout, args.statsmodels_skus, args.seed, args.ets_season,
                  cache_dir=args.peers_cache,
                  key_extra=f"n{skus.size}_s{args.seed}_sm{args.statsmodels_skus}", global_model=args.global_model)


if __name__ == "__main__":
    main()

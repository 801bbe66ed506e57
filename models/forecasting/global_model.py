"""Global model: one gradient-boosted regressor trained across all SKUs of a partition per cut.

A per-series model learns from one SKU's ~150 weeks; a *global* model learns the relation
between a SKU's recent history and its next weeks from every SKU at once, so a pattern shared
by many SKUs (a common response to the calendar, the way a class of SKUs decays or recovers)
is learned even where one series is too short or noisy to show it. Global models trained
across all series won the M5 competition (Makridakis, Spiliotis & Assimakopoulos 2022, IJF 38,
"M5 accuracy competition: results, findings, and conclusions").

Model: scikit-learn ``HistGradientBoostingRegressor`` with Poisson loss (a log link: the
forecast is positive and the loss is that of a count; Tweedie/Poisson losses were the M5
winners' choice for unit sales), fixed ``random_state``, trained on the rows of
:func:`training_rows`; learning rate 0.2 and early stopping on the Poisson loss of a 10 %
validation share of those rows (drawn with the same fixed seed; they lie before the cut like
every training row), at most 150 trees: it stops after 15 trees without a gain, so a panel
with little shared structure costs few trees (27-42 on benchmarks/scaling.py's data) and the
prediction, whose cost is linear in the trees, is paid where there is something to learn
(figures: docs/forecasting.md §2.2, §6.11).

Direct multi-horizon, one model: each row is (SKU i, origin o, step h) with features known at
``o`` (the first forecast week; history is ``[start_i, o)``) and target ``y[i, o + h - 1]``,
``h`` itself a feature. Direct rather than recursive because a recursive model feeds its own
forecasts back as lags (errors compound over 13-26 steps, and every step needs a rebuild of
the features and another predict call); direct with the step as a feature is one model and one
predict call per cut (Taieb & Hyndman 2014 on direct vs recursive strategies; the pooled-step
form is the one used by several M5 top entries).

Scaling: every demand feature and the target are divided by the SKU's level ``s`` = mean weekly
demand over the 52 weeks before the origin (since ``start``), so SKUs selling 2 and 2,000 units
a week share one model (the global-model practice of per-series normalisation); forecast =
prediction x ``s``. Features (:data:`FEATURES`):

* ``lag1..lag4``: ``y[o-k] / s`` (NaN before ``start``; the trees send NaN to a learned side).
* ``mean4, mean13, mean26``: mean of the last w weeks / ``s`` (the recent level and its trend
  against the 52-week level).
* ``zero_share52`` and ``cv52``: share of zero weeks and the coefficient of variation over the
  52 weeks before ``o`` — the quantities the demand class is made of (Syntetos–Boylan ADI and
  CV², :mod:`.classify`), computed at the origin so that they never see the weeks after it (the
  engine's class is computed over the whole history and would leak the evaluated weeks).
* ``last_year``: mean of ``y[t-53 .. t-51]`` / ``s`` around the target week ``t`` a year before
  (the SKU's own seasonality; NaN when not in ``[start, o)``).
* ``step`` (h), ``week_of_year`` of ``t`` (1-53, from the week's first day), ``event``: the
  calendar-event week ``t`` is, as a category (:func:`.calendar.event_weeks`; 0 = a plain week),
  ``age``: weeks of history at ``o``.
* With selling prices (``prices``, the input's optional ``sales.unit_price``):
  :data:`.prices.PRICE_FEATURES` — the target week's price relative to the SKU's regular price
  (median of the 52 weeks before ``o``), a promotion flag (relative price < 0.9) and the last
  week's relative price (:func:`.prices.price_features`). Rows trained for cut ``c`` see their
  target week's observed price (before ``c``); rows predicted from ``c`` assume the regular
  price (relative price 1, no promotion) for every future week. Without prices the feature set
  and the model are exactly those above. *Planned prices* (engine API): a price grid wider than
  the history, (n, T + k), gives the k weeks after the history as planned prices (NaN = the
  regular price); then every origin's target weeks use their given price — at the backtest
  origins the observed one, i.e. the backtest assumes prices were planned ahead as the future
  ones are.

No leakage: the model for cut ``c`` is trained only on rows with ``o + h - 1 < c`` (targets
before the cut; features before ``o``), and the rows are drawn by a generator seeded with the
cut and the SKUs' starts, not with demand; its forecasts use features before ``c``. A backtest
origin's forecasts therefore do not depend on any week at or after it.
In the policy replay the fits are shared between its repeated forecasts (:mod:`.global_fits`):
there the model of cut ``c`` is trained on targets before a grid week ``e(c) <= c`` (at most 12
weeks earlier), which keeps the same guarantee.

Cost: training rows are sampled (at most :data:`TRAIN_ROWS` per cut, uniformly over SKUs,
steps and origins); HistGradientBoosting bins the features into 256 bins; predictions are made
:data:`PREDICT_ROWS` feature rows at a time (bounded memory at any partition size). Its OpenMP threads
are capped at :data:`OPENMP_THREADS` (1): on the 2-core machine shared with the engine's own
worker threads and other jobs, one 100,000-row fit took 2.5 s on one thread and 17-19 s on two
(OpenMP threads spin-waiting for a busy core); Prefect partitions give the parallelism.
Feature building is vectorised over rows (cumulative sums and fancy indexing, no loop per SKU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import Event, event_weeks
from .forecast_types import CutForecasts
from .global_fits import GlobalFitCache, fit_key
from .prices import PRICE_FEATURES, price_features

GLOBAL_MODEL: str = "global_gbm"
FEATURES: tuple[str, ...] = ("lag1", "lag2", "lag3", "lag4", "mean4", "mean13", "mean26", "zero_share52", "cv52",
                             "last_year", "step", "week_of_year", "event", "age")
LEVEL_WEEKS: int = 52
MIN_HISTORY_WEEKS: int = 13
TRAIN_ROWS: int = 50_000
PREDICT_ROWS: int = 500_000
RANDOM_STATE: int = 0
OPENMP_THREADS: int = 1
BOOSTING_PARAMS: dict[str, object] = {"loss": "poisson", "learning_rate": 0.2, "max_iter": 150,
                                      "max_leaf_nodes": 31, "min_samples_leaf": 50, "l2_regularization": 1.0,
                                      "early_stopping": True, "validation_fraction": 0.1,
                                      "n_iter_no_change": 15}


@dataclass(frozen=True)
class DemandSums:
    """Prefix sums over weeks of an (n, T) demand panel restricted to ``[start_i, T)``:
    ``total[:, j]`` = sum of ``y[:, :j]``, ``squares`` of ``y²``, ``zeros`` the count of zero weeks."""

    y: np.ndarray
    start: np.ndarray
    total: np.ndarray
    squares: np.ndarray
    zeros: np.ndarray

    @classmethod
    def of(cls, y: np.ndarray, start: np.ndarray) -> DemandSums:
        seen = np.arange(y.shape[1])[None, :] >= start[:, None]
        values = np.where(seen, y, 0.0)
        pad = np.zeros((y.shape[0], 1))
        return cls(y=values, start=start,
                   total=np.concatenate([pad, np.cumsum(values, axis=1)], axis=1),
                   squares=np.concatenate([pad, np.cumsum(values * values, axis=1)], axis=1),
                   zeros=np.concatenate([pad, np.cumsum(seen & (values <= 0), axis=1)], axis=1))

    def window(self, sku: np.ndarray, end: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
        """(weeks seen, lower bound) of the window ``[max(start, end - weeks), end)`` for rows."""
        lower = np.maximum(self.start[sku], end - weeks)
        return np.maximum(end - lower, 0), np.minimum(lower, end)


def _mean(sums: DemandSums, sku: np.ndarray, end: np.ndarray, weeks: int) -> tuple[np.ndarray, np.ndarray]:
    count, lower = sums.window(sku, end, weeks)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (sums.total[sku, end] - sums.total[sku, lower]) / count, np.nan), count


def build_features(sums: DemandSums, sku: np.ndarray, origin: np.ndarray, step: np.ndarray,
                   week_of_year: np.ndarray, event: np.ndarray, prices: np.ndarray | None = None,
                   known_before: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows, len(FEATURES)) features and (rows,) level ``s`` of rows (``sku``, ``origin``, ``step``).

    ``week_of_year`` and ``event`` are per column of the extended grid (history then forecast
    weeks); the target column is ``origin + step - 1``. Only demand columns before ``origin``
    are read. With ``prices`` (n, T) the :data:`.prices.PRICE_FEATURES` follow as further
    columns; target weeks at or after ``known_before`` take the regular-price assumption.
    """
    n_columns = sums.y.shape[1]
    start = sums.start[sku]
    level, _ = _mean(sums, sku, origin, LEVEL_WEEKS)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(level > 0, 1.0 / level, np.nan)
    out = np.empty((sku.size, len(FEATURES)))
    for k in range(1, 5):
        column = origin - k
        ok = column >= start
        out[:, k - 1] = np.where(ok, sums.y[sku, np.clip(column, 0, n_columns - 1)], np.nan) * inv
    for position, weeks in ((4, 4), (5, 13), (6, 26)):
        out[:, position] = _mean(sums, sku, origin, weeks)[0] * inv
    count, lower = sums.window(sku, origin, LEVEL_WEEKS)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 7] = np.where(count > 0, (sums.zeros[sku, origin] - sums.zeros[sku, lower]) / count, np.nan)
        square_mean = (sums.squares[sku, origin] - sums.squares[sku, lower]) / count
        out[:, 8] = np.sqrt(np.maximum(square_mean - level ** 2, 0.0)) * inv
    target = origin + step - 1
    year_end = np.minimum(target - 50, origin)                 # weeks t-53 .. t-51, before the origin
    year_start = np.maximum(target - 53, start)
    year_count = year_end - year_start
    with np.errstate(invalid="ignore", divide="ignore"):
        year_sum = (sums.total[sku, np.clip(year_end, 0, n_columns)]
                    - sums.total[sku, np.clip(year_start, 0, n_columns)])
        out[:, 9] = np.where(year_count > 0, year_sum / np.maximum(year_count, 1), np.nan) * inv
    out[:, 10] = step
    out[:, 11] = week_of_year[target]
    out[:, 12] = event[target]
    out[:, 13] = origin - start
    if prices is not None:
        out = np.column_stack([out, price_features(prices, sku, origin, target, known_before)])
    return out, level


def training_rows(start: np.ndarray, cut: int, steps: int, max_rows: int = TRAIN_ROWS,
                  min_history: int = MIN_HISTORY_WEEKS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampled (sku, origin, step) training rows for the model of ``cut``: every row has
    ``origin >= start + min_history`` and its target ``origin + step - 1 < cut``.

    All such rows when there are at most ``max_rows``; otherwise ``max_rows`` drawn uniformly
    over SKUs and steps, then uniformly over the SKU's possible origins (seeded with the cut:
    the sample depends on the starts and the cut only, never on demand).
    """
    start = np.asarray(start, dtype=np.int64)
    first = start + min_history
    step_values = np.arange(1, steps + 1)
    span = np.maximum(cut - step_values[None, :] + 1 - first[:, None], 0)    # (n, steps) origins per pair
    total = int(span.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    if total <= max_rows:
        sku, step_index = np.nonzero(span)
        count = span[sku, step_index]
        sku, step_index = np.repeat(sku, count), np.repeat(step_index, count)
        offset = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
        return sku, first[sku] + offset, step_index + 1
    rng = np.random.default_rng([RANDOM_STATE, int(cut)])
    pairs = np.flatnonzero(span.ravel() > 0)
    pick = pairs[rng.integers(0, pairs.size, size=max_rows)]
    sku, step_index = np.divmod(pick, steps)
    origin = first[sku] + np.floor(rng.random(max_rows) * span[sku, step_index]).astype(np.int64)
    return sku, origin, step_index + 1


def calendar_columns(week_starts: np.ndarray | None, n_columns: int,
                     events: tuple[Event, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(week_of_year, event) per column of the grid extended by ``n_columns`` (history then
    forecast weeks, 7 days apart): 1-53 from the week's first day and the event-week key + 1
    (0 = plain week). Without dates both are 0 (the model then has no calendar)."""
    if week_starts is None or not np.asarray(week_starts).size:
        zeros = np.zeros(n_columns)
        return zeros, zeros.copy()
    first = np.asarray(week_starts, dtype="datetime64[D]")[0]
    days = first + 7 * np.arange(n_columns).astype("timedelta64[D]")
    day_of_year = (days - days.astype("datetime64[Y]")).astype(np.int64)
    return (day_of_year // 7 + 1).astype(np.float64), (event_weeks(days, events).key + 1).astype(np.float64)


def fit_model(sums: DemandSums, start: np.ndarray, train_end: int, horizon: int, max_rows: int,
              week_of_year: np.ndarray, event: np.ndarray, prices: np.ndarray | None,
              categorical: np.ndarray) -> object | None:
    """The model trained on the sampled rows whose target lies before ``train_end`` (the cut, or
    an earlier week of the replay's training grid, :mod:`.global_fits`); None when fewer than
    ``2 x min_samples_leaf`` rows have a positive level. Reads demand, prices and calendar
    columns before ``train_end`` only (the rows' features lie before their origins)."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    sku, origin, step = training_rows(start, train_end, horizon, max_rows)
    features, level = build_features(sums, sku, origin, step, week_of_year, event, prices, train_end)
    usable = level > 0
    if usable.sum() < 2 * int(BOOSTING_PARAMS["min_samples_leaf"]):
        return None
    target = sums.y[sku[usable], origin[usable] + step[usable] - 1] / level[usable]
    features = features[usable]
    features[:, np.isnan(features).all(axis=0)] = 0.0    # never observed before this cut (no split on it)
    model = HistGradientBoostingRegressor(random_state=RANDOM_STATE, categorical_features=categorical,
                                          **BOOSTING_PARAMS)
    with threadpool_limits(limits=OPENMP_THREADS, user_api="openmp"):
        model.fit(features, target)
    return model


def global_forecasts(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, horizon: int,
                     week_starts: np.ndarray | None = None, events: tuple[Event, ...] = (),
                     max_rows: int | None = None, origin_steps: int | None = None,
                     prices: np.ndarray | None = None,
                     fit_cache: GlobalFitCache | None = None,
                     panel: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None) -> CutForecasts:
    """Forecasts of the global model from every cut for the n SKUs of ``y`` (one model per cut,
    trained on all of them, module docstring).

    ``insample_rmse`` (the per-SKU scale the engine's calibrated bands multiply) is the standard
    deviation of the SKU's demand over the 52 weeks before the cut; the empirical band shapes
    are fitted per (class, model) on the backtest errors divided by it, so they absorb the ratio
    of this scale to the model's error. Valid where the SKU has ``MIN_HISTORY_WEEKS`` weeks
    before the cut and the model could be trained. ``max_rows``: training rows per cut (default
    :data:`TRAIN_ROWS`). ``origin_steps`` (default ``horizon``): steps
    predicted from the backtest origins (all cuts but the last; the engine scores only the
    backtest horizon there); later steps repeat the last one predicted. ``prices``: (n, T)
    forward-filled weekly selling prices (NaN = unknown), or (n, T + k) with k planned weeks
    after the history (module docstring), or None (no price features). ``fit_cache``: fits shared
    by repeated forecasts of one history (the policy replay, :mod:`.global_fits`): each cut's
    model is then trained on the weeks before its training end on the cache's grid (at most
    ``GRID_WEEKS - 1`` weeks before the cut) and reused while its training data is unchanged;
    None = every cut's model trained on all weeks before it. ``panel``: (demand, starts, prices)
    of every SKU of the panel these n SKUs were taken from (the cache's key; default these n).
    """
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=np.float64)
    start = np.asarray(start, dtype=np.int64)
    n, n_columns = y.shape
    sums = DemandSums.of(y, start)
    week_of_year, event = calendar_columns(week_starts, n_columns + horizon + 1, events)
    event_feature = FEATURES.index("event")
    n_features = len(FEATURES) + (len(PRICE_FEATURES) if prices is not None else 0)
    if prices is not None:
        prices = np.asarray(prices, dtype=np.float64)
        if prices.ndim != 2 or prices.shape[0] != n or prices.shape[1] < n_columns:
            raise ValueError(f"prices {prices.shape} must have {n} rows and at least the {n_columns} history weeks")
    known_ahead = None if prices is None or prices.shape[1] == n_columns else prices.shape[1]
    mean = np.full((n, cuts.size, horizon), np.nan)
    valid = (np.asarray(cuts)[None, :] - start[:, None]) >= MIN_HISTORY_WEEKS
    rmse = np.full((n, cuts.size), np.nan)
    categorical = np.zeros(n_features, dtype=bool)
    categorical[event_feature] = bool(event.max() > 0)
    budget = TRAIN_ROWS if max_rows is None else max_rows
    for j, cut in enumerate(np.asarray(cuts, dtype=np.int64)):
        train_end = int(cut) if fit_cache is None else fit_cache.training_end(int(cut))
        if fit_cache is None:
            model = fit_model(sums, start, train_end, horizon, budget, week_of_year, event, prices, categorical)
        else:
            panel_y, panel_start, panel_prices = (y, start, prices) if panel is None else panel
            key = fit_key(train_end, horizon, budget, panel_start, panel_y, (week_of_year, event),
                          bool(categorical[event_feature]), panel_prices)
            found_fit, model = fit_cache.get(key, n_columns)
            if not found_fit:
                model = fit_model(sums, start, train_end, horizon, budget, week_of_year, event, prices, categorical)
                fit_cache.put(key, model, n_columns)
        if model is None:
            valid[:, j] = False
            continue
        rows = np.flatnonzero(valid[:, j])
        if not rows.size:
            continue
        steps = horizon if j == cuts.size - 1 or origin_steps is None else min(origin_steps, horizon)
        skus_per_chunk = max(PREDICT_ROWS // steps, 1)
        for lo in range(0, rows.size, skus_per_chunk):      # bounded memory: PREDICT_ROWS feature rows at once
            part = rows[lo:lo + skus_per_chunk]
            p_sku = np.repeat(part, steps)
            p_step = np.tile(np.arange(1, steps + 1), part.size)
            p_features, p_level = build_features(sums, p_sku, np.full(p_sku.size, cut), p_step, week_of_year,
                                                 event, prices, int(cut) if known_ahead is None else known_ahead)
            with threadpool_limits(limits=OPENMP_THREADS, user_api="openmp"):
                predicted = np.where(p_level > 0, model.predict(p_features) * np.nan_to_num(p_level), 0.0)
            predicted = predicted.reshape(part.size, steps)
            mean[part, j] = np.concatenate([predicted, np.repeat(predicted[:, -1:], horizon - steps, axis=1)],
                                           axis=1)
        count, lower = sums.window(rows, np.full(rows.size, cut), LEVEL_WEEKS)
        window_mean = (sums.total[rows, cut] - sums.total[rows, lower]) / np.maximum(count, 1)
        square_mean = (sums.squares[rows, cut] - sums.squares[rows, lower]) / np.maximum(count, 1)
        rmse[rows, j] = np.sqrt(np.maximum(square_mean - window_mean ** 2, 0.0) * count / np.maximum(count - 1, 1))
    return CutForecasts(mean=mean, insample_rmse=rmse, valid=valid)

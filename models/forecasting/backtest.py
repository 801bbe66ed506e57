"""Rolling-origin backtest and per-SKU model selection by RMSSE.

Origins are non-overlapping: ``T - H_b, T - 2 H_b, ...`` (``H_b`` = backtest horizon), oldest
first; each origin re-fits every model's parameters on data before it (see
:mod:`safestock.models.forecasting.forecast_types`). An origin counts for a SKU only if the SKU has at
least ``min_train`` weeks of history before it. A candidate is eligible for a SKU only if it is
valid at every counted origin and at the final cut, so all eligible candidates are compared on
the same origins. Selection = smallest mean RMSSE over origins (M5 measure; never MASE, which
favours zero forecasts on intermittent series — Kolassa 2016, IJF 32), shrunk toward the
group's mean RMSSE per model (:func:`shrunk_scores`). Each SKU has a *reference* model that a
single model replaces only with paired evidence over the origins (:func:`beats_reference`):
with :data:`REFERENCE_RULE` ``"pooled"`` (default since round 4) the class's pooled backtest
winner (:func:`pooled_reference`; aggregate selection, Fildes & Petropoulos 2015), with
``"combination"`` the equal-weight combination (:func:`beats_combination`). Ties go to the first
candidate in the preference order. SKUs without any counted origin get the class's pooled
backtest winner (:func:`no_evidence_choice`, :data:`NO_EVIDENCE_CHOICE`), else the group
default. The prior is computed over all SKUs of a candidate group (:func:`prior_table`), so a
SKU's choice does not depend on chunking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import MIN_TRAIN_WEEKS
from .forecast_types import CutForecasts
from .metrics import TrainingScales, mean_over_origins, origin_accuracy

SELECTION_PRIOR_ORIGINS: float = 1.0   # round 4 (was 2.0), docs/forecasting.md 6.2
COMBINATION_EVIDENCE_Z: float = 1.5
MIN_PRIOR_SKUS: int = 30
NO_EVIDENCE_CHOICE: str = "pooled"        # SKUs without a counted origin: "pooled" winner or "default"
REFERENCE_RULE: str = "pooled"            # model a single model must beat: "pooled" winner or "combination"


@dataclass(frozen=True)
class Selection:
    """Backtest scores of every candidate and the selected model's forecasts, for n SKUs.

    names: candidate names (M); rmsse/mase/wape/bias/eligible: (n, M) means over used origins;
    chosen: (n,) index into names; mean: (n, n_cuts, H) forecasts of the chosen model from
    every cut; insample_rmse: (n, n_cuts); origin_used: (n, K) origins used in the scores.
    """

    names: tuple[str, ...]
    rmsse: np.ndarray
    mase: np.ndarray
    wape: np.ndarray
    bias: np.ndarray
    eligible: np.ndarray
    chosen: np.ndarray
    mean: np.ndarray
    insample_rmse: np.ndarray
    origin_used: np.ndarray


def prior_table(rmsse: np.ndarray, eligible: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(n, M) selection prior per SKU: the mean RMSSE of each model over the eligible SKUs of the
    SKU's group (over all n SKUs when the group has fewer than MIN_PRIOR_SKUS members).

    The engine calls this once over *all* SKUs of a candidate group (never per chunk), so that a
    SKU's choice does not depend on which SKUs share its chunk.
    """
    def model_means(rows: np.ndarray) -> np.ndarray:
        ok = eligible[rows] & np.isfinite(rmsse[rows])
        count = ok.sum(axis=0)
        total = np.where(ok, rmsse[rows], 0.0).sum(axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    prior = np.broadcast_to(model_means(np.arange(rmsse.shape[0])), rmsse.shape).copy()
    for key in np.unique(groups):
        rows = np.flatnonzero(groups == key)
        if rows.size >= MIN_PRIOR_SKUS:
            prior[rows] = model_means(rows)
    return prior


def shrunk_scores(rmsse: np.ndarray, eligible: np.ndarray, n_used: np.ndarray, groups: np.ndarray,
                  prior_origins: float = SELECTION_PRIOR_ORIGINS,
                  prior: np.ndarray | None = None) -> np.ndarray:
    """Selection score: per-SKU mean RMSSE shrunk toward its group's mean RMSSE of that model.

    ``score_im = (K_i rmsse_im + k0 prior_gm) / (K_i + k0)`` with ``K_i`` the SKU's origins and
    ``prior_gm`` the mean RMSSE of model m over eligible SKUs of group g (all SKUs when fewer than
    MIN_PRIOR_SKUS; :func:`prior_table`, or the given (n, M) ``prior``). Per-SKU choices on 4
    noisy origins are unstable for intermittent demand (Petropoulos & Kourentzes 2015, JORS 66
    on forecast selection and combination); the prior lets a model win only where the SKU's own
    evidence outweighs the group's experience.
    """
    if prior is None:
        prior = prior_table(rmsse, eligible, groups)
    prior = np.where(np.isfinite(prior), prior, rmsse)
    k = n_used[:, None].astype(np.float64)
    score = (k * rmsse + prior_origins * prior) / (k + prior_origins)
    return np.where(eligible, score, np.inf)


def beats_combination(per_origin: np.ndarray, combination: int, eligible: np.ndarray,
                      z: float | None = None) -> np.ndarray:
    """(n, M) True where a model may be chosen over the combination.

    The combination is the default; a single model replaces it only when its per-origin RMSSE
    is lower by more than ``z`` standard errors of the mean paired difference over the origins
    (a Diebold–Mariano-style paired comparison, Diebold & Mariano 1995), so that selection noise
    among near-equivalent models does not replace the lower-variance combination.
    """
    reference = np.full(per_origin.shape[0], combination, dtype=np.int64)
    return beats_reference(per_origin, reference, eligible, z)


def beats_reference(per_origin: np.ndarray, reference: np.ndarray, eligible: np.ndarray,
                    z: float | None = None) -> np.ndarray:
    """(n, M) True where a model may replace the SKU's reference model ``reference`` (n,):
    its per-origin RMSSE is lower by more than ``z`` (default :data:`COMBINATION_EVIDENCE_Z`)
    standard errors of the mean paired difference (see :func:`beats_combination`), or the
    reference is not eligible. The reference itself is always allowed."""
    z = COMBINATION_EVIDENCE_Z if z is None else z
    rows = np.arange(per_origin.shape[0])
    diff = per_origin - per_origin[rows, reference][:, None, :]
    ok = np.isfinite(diff)
    count = ok.sum(axis=2)
    mean = np.where(ok, diff, 0.0).sum(axis=2) / np.maximum(count, 1)
    var = np.where(ok, (diff - mean[:, :, None]) ** 2, 0.0).sum(axis=2) / np.maximum(count - 1, 1)
    stderr = np.sqrt(var / np.maximum(count, 1))
    better = (count >= 2) & (mean < -z * stderr) & (mean < 0)
    allowed = better | ~eligible[rows, reference][:, None]
    allowed[rows, reference] = True
    return allowed


def pooled_reference(scores: "Scores", prior: np.ndarray, default: str) -> np.ndarray:
    """(n,) reference model per SKU for :data:`REFERENCE_RULE` ``"pooled"``: the eligible model
    with the smallest group prior (the class's pooled backtest winner, aggregate selection as in
    Fildes & Petropoulos 2015, IJF 31); the combination (else ``default``) where none is finite."""
    names = scores.names
    fallback = names.index("combination") if "combination" in names else names.index(default)
    score = np.where(scores.eligible & np.isfinite(prior), prior, np.inf)
    ok = np.isfinite(score).any(axis=1)
    return np.where(ok, np.argmin(score, axis=1), fallback)


@dataclass(frozen=True)
class Scores:
    """Backtest scores of every candidate for n SKUs (the prior-free part of the selection).

    rmsse/mase/wape/bias/eligible: (n, M); per_origin: (n, M, K) RMSSE per origin;
    origin_used: (n, K); allowed: (n, M) models that may be chosen (:func:`beats_combination`);
    final_valid: (n, M) models that can forecast from the final cut (used for SKUs without any
    counted origin, :func:`no_evidence_choice`).
    """

    names: tuple[str, ...]
    rmsse: np.ndarray
    mase: np.ndarray
    wape: np.ndarray
    bias: np.ndarray
    eligible: np.ndarray
    per_origin: np.ndarray
    origin_used: np.ndarray
    allowed: np.ndarray
    final_valid: np.ndarray | None = None


def score_candidates(y: np.ndarray, start: np.ndarray, cuts: np.ndarray, backtest_horizon: int,
                     candidates: dict[str, CutForecasts], scales: TrainingScales,
                     min_train: int = MIN_TRAIN_WEEKS) -> Scores:
    """Per-SKU backtest scores of every candidate; each SKU's scores depend on that SKU only."""
    names = tuple(candidates)
    n = y.shape[0]
    origins = cuts[:-1]
    n_origins = origins.size
    origin_used = (origins[None, :] - start[:, None]) >= min_train
    any_origin = origin_used.any(axis=1)
    if n_origins:
        window = origins[:, None] + np.arange(backtest_horizon)[None, :]
        actual = y[:, window]                                           # (n, K, h)
    shape = (n, len(names))
    rmsse, mase, wape, bias = (np.full(shape, np.nan) for _ in range(4))
    per_origin = np.full((n, len(names), max(n_origins, 1)), np.nan)
    eligible = np.zeros(shape, dtype=bool)
    final_valid = np.zeros(shape, dtype=bool)
    head = TrainingScales(*(s[:, :n_origins] for s in (scales.squared, scales.absolute, scales.mean_demand)))
    for m, name in enumerate(names):
        fc = candidates[name]
        final_valid[:, m] = fc.valid[:, -1] & np.all(np.isfinite(fc.mean[:, -1, :]), axis=1)
        ok = any_origin & fc.valid[:, -1]
        if n_origins:
            ok &= np.all(fc.valid[:, :n_origins] | ~origin_used, axis=1)
            acc = origin_accuracy(actual, fc.mean[:, :n_origins, :backtest_horizon], head)
            rmsse[:, m] = mean_over_origins(acc.rmsse, origin_used)
            per_origin[:, m, :n_origins] = np.where(origin_used, acc.rmsse, np.nan)
            mase[:, m] = mean_over_origins(acc.mase, origin_used)
            wape[:, m] = mean_over_origins(acc.wape, origin_used)
            bias[:, m] = mean_over_origins(acc.bias, origin_used)
        eligible[:, m] = ok & np.isfinite(rmsse[:, m])
    allowed = np.ones(shape, dtype=bool)
    if "combination" in names:
        allowed = beats_combination(per_origin, names.index("combination"), eligible)
    return Scores(names=names, rmsse=rmsse, mase=mase, wape=wape, bias=bias, eligible=eligible,
                  per_origin=per_origin, origin_used=origin_used, allowed=allowed, final_valid=final_valid)


def no_evidence_choice(scores: Scores, prior: np.ndarray, default: str,
                       mode: str | None = None) -> np.ndarray:
    """(n,) choice for SKUs without any counted backtest origin (younger than the first origin
    plus ``min_train`` weeks): with ``mode="pooled"`` (:data:`NO_EVIDENCE_CHOICE`) the model with
    the smallest group prior (:func:`prior_table`: the mean backtest RMSSE of the established
    SKUs of the SKU's class) among those that can forecast from the final cut, i.e. the class's
    pooled backtest winner; ``"default"`` (or no finite prior): the group default.

    A SKU without its own evidence gets the method that did best on its class's backtests
    (the same pooled evidence the shrinkage prior of :func:`shrunk_scores` uses) rather than a
    fixed model.
    """
    mode = NO_EVIDENCE_CHOICE if mode is None else mode
    fallback = np.full(scores.rmsse.shape[0], scores.names.index(default))
    if mode != "pooled" or scores.final_valid is None:
        return fallback
    score = np.where(scores.final_valid & np.isfinite(prior), prior, np.inf)
    ok = np.isfinite(score).any(axis=1)
    return np.where(ok, np.argmin(score, axis=1), fallback)


def choose(scores: Scores, prior: np.ndarray, default: str, pooled: bool = False) -> np.ndarray:
    """(n,) index of the chosen candidate: smallest shrunk score among allowed eligible models
    (where none is eligible, :func:`no_evidence_choice`); ``prior`` (n, M) from :func:`prior_table`.

    ``pooled``: choose by the group's mean backtest RMSSE alone (the eligible model with the
    smallest ``prior``), i.e. the class's pooled backtest winner. For intermittent demand a
    SKU's own 4 origins hold only a few non-zero weeks, and per-series selection among
    Croston-type methods is mostly noise (Petropoulos & Kourentzes 2015, JORS 66)."""
    if pooled:
        finite = np.where(np.isfinite(prior), prior, np.inf)
        score = np.where(scores.eligible, finite, np.inf)
        chosen = np.argmin(score, axis=1)
        ok = np.isfinite(score).any(axis=1)
        return np.where(ok, chosen, no_evidence_choice(scores, prior, default))
    score = shrunk_scores(scores.rmsse, scores.eligible, scores.origin_used.sum(axis=1),
                          np.zeros(scores.rmsse.shape[0], dtype=np.int64), prior=prior)
    allowed = scores.allowed
    if REFERENCE_RULE == "pooled" and "combination" in scores.names:
        reference = pooled_reference(scores, prior, default)
        allowed = beats_reference(scores.per_origin, reference, scores.eligible)
    score = np.where(allowed, score, np.inf)
    chosen = np.argmin(score, axis=1)
    return np.where(scores.eligible.any(axis=1), chosen, no_evidence_choice(scores, prior, default))


def candidate_rows(scores: Scores, default: str, pooled: bool = False) -> dict[str, np.ndarray]:
    """Rows for which each candidate can still be chosen whatever the prior (for keeping only
    those forecasts between scoring and the final choice; ``pooled`` as in :func:`choose`).
    With :data:`REFERENCE_RULE` ``"pooled"`` the reference depends on the group's prior, so
    every eligible candidate is kept; SKUs without evidence keep every model valid at the
    final cut (:func:`no_evidence_choice`)."""
    none = ~scores.eligible.any(axis=1)
    out = {}
    for m, name in enumerate(scores.names):
        possible = scores.eligible[:, m] & (scores.allowed[:, m] | pooled | (REFERENCE_RULE == "pooled"))
        if name == default:
            possible |= none
        if NO_EVIDENCE_CHOICE == "pooled" and scores.final_valid is not None:
            possible |= none & scores.final_valid[:, m]
        out[name] = np.flatnonzero(possible)
    return out


def select_by_backtest(y: np.ndarray, start: np.ndarray, cuts: np.ndarray,
                       backtest_horizon: int, candidates: dict[str, CutForecasts],
                       scales: TrainingScales, default: str, groups: np.ndarray | None = None,
                       min_train: int = MIN_TRAIN_WEEKS, prior: np.ndarray | None = None) -> Selection:
    """Score every candidate at the backtest origins and pick the smallest shrunk RMSSE
    (:func:`shrunk_scores`; ``groups`` (n,) labels, e.g. demand classes; the prior is computed
    over the SKUs of this call unless an (n, M) ``prior`` is given)."""
    scores = score_candidates(y, start, cuts, backtest_horizon, candidates, scales, min_train)
    names = scores.names
    n = y.shape[0]
    groups = np.zeros(n, dtype=np.int64) if groups is None else groups
    if prior is None:
        prior = prior_table(scores.rmsse, scores.eligible, groups)
    chosen = choose(scores, prior, default)
    first = candidates[names[0]]
    mean = np.empty_like(first.mean)
    insample_rmse = np.empty_like(first.insample_rmse)
    for m, name in enumerate(names):
        pick = chosen == m
        if pick.any():
            mean[pick] = candidates[name].mean[pick]
            insample_rmse[pick] = candidates[name].insample_rmse[pick]
    return Selection(names=names, rmsse=scores.rmsse, mase=scores.mase, wape=scores.wape,
                     bias=scores.bias, eligible=scores.eligible, chosen=chosen, mean=mean,
                     insample_rmse=insample_rmse, origin_used=scores.origin_used)

"""Rolling-origin backtest and per-SKU model selection by RMSSE.

Origins are non-overlapping: ``T - H_b, T - 2 H_b, ...`` (``H_b`` = backtest horizon), oldest
first; each origin re-fits every model's parameters on data before it (see
:mod:`safestock.models.forecasting.forecast_types`). An origin counts for a SKU only if the SKU has at
least ``min_train`` weeks of history before it. A candidate is eligible for a SKU only if it is
valid at every counted origin and at the final cut, so all eligible candidates are compared on
the same origins. Selection = smallest mean RMSSE over origins (M5 measure; never MASE, which
favours zero forecasts on intermittent series — Kolassa 2016, IJF 32), shrunk toward the
group's mean RMSSE per model (:func:`shrunk_scores`). Each SKU has a *reference* model, the
class's pooled backtest winner (:func:`pooled_reference`; aggregate selection, Fildes &
Petropoulos 2015), that a single model replaces only with paired evidence over the origins
(:func:`beats_reference`). Ties go to the first candidate in the preference order. SKUs without
any counted origin get the class's pooled backtest winner (:func:`no_evidence_choice`), else the
group default. The prior is computed over all SKUs of a candidate group (:func:`prior_table`),
so a SKU's choice does not depend on chunking. Why these rules and not the alternatives
measured against them: docs/forecasting.md §6.2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import MIN_TRAIN_WEEKS
from .forecast_types import CutForecasts
from .global_model import GLOBAL_MODEL
from .metrics import TrainingScales, mean_over_origins, origin_accuracy

# k0 of shrunk_scores: the group prior weighs as much as one backtest origin of the SKU's own
# (the best of k0 = 1, 2, 4 on the holdout benchmark, docs/forecasting.md §6.2).
SELECTION_PRIOR_ORIGINS: float = 1.0
# z of beats_reference: standard errors of paired evidence needed to replace the reference
# (chosen among 1.0, 1.5, 2.0, 2.5 on the holdout benchmark, docs/forecasting.md §6, §6.2).
REFERENCE_EVIDENCE_Z: float = 1.5
MIN_PRIOR_SKUS: int = 30
# Models that become a group's pooled reference (or the pooled choice of SKUs without evidence)
# only when they lead the group's best other model over the origins (reference_mask): the
# global model's errors are shared by the SKUs of a group (one model, common features), so its
# class-level lead is one draw per origin; on jewelry it came from one Christmas origin and the
# holdout did not confirm it (docs/forecasting.md §2.2 and the global-model round of §6).
CHALLENGERS: tuple[str, ...] = (GLOBAL_MODEL,)


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


def beats_reference(per_origin: np.ndarray, reference: np.ndarray, eligible: np.ndarray,
                    z: float | None = None) -> np.ndarray:
    """(n, M) True where a model may replace the SKU's reference model ``reference`` (n,).

    A single model replaces the reference only when its per-origin RMSSE is lower by more than
    ``z`` (default :data:`REFERENCE_EVIDENCE_Z`) standard errors of the mean paired difference
    over the origins (a Diebold–Mariano-style paired comparison, Diebold & Mariano 1995), so that
    selection noise among near-equivalent models does not replace the reference; or when the
    reference is not eligible. The reference itself is always allowed.
    """
    z = REFERENCE_EVIDENCE_Z if z is None else z
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


def pooled_reference(scores: Scores, prior: np.ndarray, default: str,
                     reference_ok: np.ndarray | None = None) -> np.ndarray:
    """(n,) reference model per SKU: the eligible model with the smallest group prior (the
    class's pooled backtest winner, aggregate selection as in Fildes & Petropoulos 2015, IJF 31)
    among those ``reference_ok`` (n, M) allows (:func:`reference_mask`; None = all); the
    combination (else ``default``) where none is finite."""
    names = scores.names
    fallback = names.index("combination") if "combination" in names else names.index(default)
    allowed = True if reference_ok is None else reference_ok
    score = np.where(scores.eligible & np.isfinite(prior) & allowed, prior, np.inf)
    ok = np.isfinite(score).any(axis=1)
    return np.where(ok, np.argmin(score, axis=1), fallback)


def reference_mask(per_origin: np.ndarray, eligible: np.ndarray, prior: np.ndarray, groups: np.ndarray,
                   names: tuple[str, ...]) -> np.ndarray:
    """(n, M) models that may be a SKU's pooled reference: all, except that a model of
    :data:`CHALLENGERS` may only where its lead over the SKU's group is significant *with the
    origins as the replications*: ``lead_k = mean_i (rmsse_i,c,k - rmsse_i,b,k)`` per origin k,
    over the group's SKUs eligible for both the challenger c and the group's best other model b
    (smallest prior), and ``mean_k lead_k < -z sd_k(lead_k) / sqrt(K)`` with z =
    :data:`REFERENCE_EVIDENCE_Z` and at least 2 origins — the paired test of
    :func:`beats_reference`, one level up: a lead that one origin carries (one Christmas) is one
    draw, however many SKUs share it. Groups as in :func:`prior_table` (all n SKUs for groups below
    MIN_PRIOR_SKUS). Computed once over all SKUs of a candidate group, like the prior.

    Elsewhere the challenger replaces the reference only on the SKU's own paired evidence
    (:func:`beats_reference`)."""
    n = per_origin.shape[0]
    allowed = np.ones(eligible.shape, dtype=bool)
    challenger = np.isin(np.asarray(names, dtype=object), CHALLENGERS)
    if not challenger.any() or n == 0:
        return allowed
    rows = np.arange(n)
    best_other = np.argmin(np.where(~challenger[None, :] & np.isfinite(prior), prior, np.inf), axis=1)
    keys, members = np.unique(groups, return_inverse=True)
    sizes = np.bincount(members, minlength=keys.size)
    members = np.where(sizes[members] >= MIN_PRIOR_SKUS, members, -1)      # small groups: all SKUs
    for m in np.flatnonzero(challenger):
        both = eligible[:, m] & eligible[rows, best_other]
        diff = np.where(both[:, None], per_origin[:, m, :] - per_origin[rows, best_other, :], np.nan)
        for key in np.unique(members):
            in_group = members == key if key >= 0 else np.ones(n, dtype=bool)
            counted = np.isfinite(diff[in_group])
            total = np.where(counted, diff[in_group], 0.0).sum(axis=0)
            lead = total[counted.any(axis=0)] / counted.sum(axis=0)[counted.any(axis=0)]
            strong = lead.size >= 2 and lead.mean() < -REFERENCE_EVIDENCE_Z * lead.std(ddof=1) / np.sqrt(lead.size)
            allowed[members == key, m] = bool(strong)
    return allowed


@dataclass(frozen=True)
class Scores:
    """Backtest scores of every candidate for n SKUs (the prior-free part of the selection).

    rmsse/mase/wape/bias/eligible: (n, M); per_origin: (n, M, K) RMSSE per origin;
    origin_used: (n, K); final_valid: (n, M) models that can forecast from the final cut (used
    for SKUs without any counted origin, :func:`no_evidence_choice`).
    """

    names: tuple[str, ...]
    rmsse: np.ndarray
    mase: np.ndarray
    wape: np.ndarray
    bias: np.ndarray
    eligible: np.ndarray
    per_origin: np.ndarray
    origin_used: np.ndarray
    final_valid: np.ndarray


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
    return Scores(names=names, rmsse=rmsse, mase=mase, wape=wape, bias=bias, eligible=eligible,
                  per_origin=per_origin, origin_used=origin_used, final_valid=final_valid)


def no_evidence_choice(scores: Scores, prior: np.ndarray, default: str,
                       reference_ok: np.ndarray | None = None) -> np.ndarray:
    """(n,) choice for SKUs without any counted backtest origin (younger than the first origin
    plus ``min_train`` weeks): the model with the smallest group prior (:func:`prior_table`: the
    mean backtest RMSSE of the established SKUs of the SKU's class) among those that can forecast
    from the final cut, i.e. the class's pooled backtest winner; without a finite prior, the
    group default.

    A SKU without its own evidence gets the method that did best on its class's backtests
    (the same pooled evidence the shrinkage prior of :func:`shrunk_scores` uses) rather than a
    fixed model.
    """
    fallback = np.full(scores.rmsse.shape[0], scores.names.index(default))
    allowed = True if reference_ok is None else reference_ok
    score = np.where(scores.final_valid & np.isfinite(prior) & allowed, prior, np.inf)
    ok = np.isfinite(score).any(axis=1)
    return np.where(ok, np.argmin(score, axis=1), fallback)


def choose(scores: Scores, prior: np.ndarray, default: str, reference_ok: np.ndarray | None = None) -> np.ndarray:
    """(n,) index of the chosen candidate: smallest shrunk score among the eligible models that
    may replace the SKU's reference (:func:`pooled_reference`, :func:`beats_reference`; applied
    when the candidates include the combination, as both engine groups do); where none is
    eligible, :func:`no_evidence_choice`. ``prior`` (n, M) from :func:`prior_table`;
    ``reference_ok`` (n, M) from :func:`reference_mask` (None: any model may be the reference)."""
    score = shrunk_scores(scores.rmsse, scores.eligible, scores.origin_used.sum(axis=1),
                          np.zeros(scores.rmsse.shape[0], dtype=np.int64), prior=prior)
    if "combination" in scores.names:
        reference = pooled_reference(scores, prior, default, reference_ok)
        score = np.where(beats_reference(scores.per_origin, reference, scores.eligible), score, np.inf)
    chosen = np.argmin(score, axis=1)
    return np.where(scores.eligible.any(axis=1), chosen, no_evidence_choice(scores, prior, default, reference_ok))


def candidate_rows(scores: Scores, default: str) -> dict[str, np.ndarray]:
    """Rows for which each candidate can still be chosen whatever the prior (for keeping only
    those forecasts between scoring and the final choice). The reference depends on the
    group's prior, so every eligible candidate is kept; SKUs without evidence keep the default
    and every model valid at the final cut (:func:`no_evidence_choice`)."""
    none = ~scores.eligible.any(axis=1)
    out = {}
    for m, name in enumerate(scores.names):
        possible = scores.eligible[:, m] | (none & scores.final_valid[:, m])
        if name == default:
            possible |= none
        out[name] = np.flatnonzero(possible)
    return out


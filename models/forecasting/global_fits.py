"""Reusable fits of the global model across repeated forecasts of one history (the policy replay).

The policy replay (:mod:`safestock.models.inventory.backtest`) re-runs the engine every few
weeks on the history so far: ~7 forecasts over 26 replayed weeks, each with its own rolling
backtest (cuts ``T' - 52, T' - 39, T' - 26, T' - 13, T'`` for a history of ``T'`` weeks). The
global model fits one gradient-boosted model per cut (:mod:`.global_model`), so a replay paid
~35 fits where the cuts move by 4 weeks between forecasts and almost all of each fit's training
data (the weeks before the cut) is shared.

Rule (a planner retraining the model on a fixed schedule, not every week): the model used at a
cut ``c`` is trained on the weeks before its *training end* ``e(c)``, the latest week of the grid
``anchor - k G`` (k = 0, 1, ...; ``G`` = :data:`GRID_WEEKS`, the engine's backtest horizon)
that is not after ``c``::

    e(c) = c - ((c - anchor) mod G)            so  c - G < e(c) <= c

Its features and forecasts still use every week before ``c``; only the training targets stop
at ``e(c)``, so no week at or after the cut reaches the model (no leakage: the model of a
backtest origin never sees the weeks it is judged on). The anchor is the length of the full
history, so the run's own forecast (``c = anchor``) is trained to its last week. The cuts of one
forecast are ``G`` weeks apart, so each gets its own fit and all of them are equally stale
(``(anchor - T') mod G`` weeks): the backtest judges the model as stale as the forecast it
selects. Across the replay the training ends fall on ~7 grid weeks instead of ~35 cuts.

A fit is reused only when the panel it would be trained from is unchanged (:func:`fit_key`): the
training end, the steps, the row budget, the starts and the demand of *every* SKU of the panel
(not only the modelled ones), the prices and the calendar before ``e``. The replay's forecasts
see prefixes of one panel, so its keys repeat. The SKUs a fit is trained on are the
smooth/erratic SKUs of the forecast that first needed it; the class of a few SKUs moves between
two forecasts (on the 500-SKU demo, keying on the modelled SKUs as well gave 25 fits for 35
cuts instead of 6), so a later forecast reuses the fit trained on the earlier forecast's
smooth/erratic SKUs — classified on a history that ended no later than its own (a fit is never
reused by a forecast of a shorter history: its SKUs would have been chosen with weeks that
forecast has not seen). Everything else is what a new fit would read: the fit is deterministic
(fixed ``random_state``, rows drawn with a generator seeded by the training end and the starts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

GRID_WEEKS: int = 13
MAX_FITS: int = 16      # a replay needs ~7; older entries are dropped first


def training_end(cut: int, anchor: int, grid_weeks: int = GRID_WEEKS) -> int:
    """The latest week ``anchor - k grid_weeks`` not after ``cut`` (``cut - grid_weeks < e <= cut``),
    at least 0."""
    return max(int(cut) - (int(cut) - int(anchor)) % int(grid_weeks), 0)


def fit_key(train_end: int, steps: int, max_rows: int, start: np.ndarray, y: np.ndarray,
            calendar: tuple[np.ndarray, np.ndarray], categorical_event: bool,
            prices: np.ndarray | None) -> str:
    """Fingerprint of the panel a fit for ``train_end`` is drawn from: the starts, demand, calendar
    columns and prices before ``train_end`` of every SKU of the panel, the steps and the row budget."""
    digest = hashlib.blake2b(digest_size=20)
    digest.update(np.asarray([train_end, steps, max_rows, y.shape[0], int(categorical_event),
                              int(prices is not None)], dtype=np.int64))
    digest.update(np.minimum(np.asarray(start, dtype=np.int64), train_end))   # a later start: no weeks before e
    digest.update(np.ascontiguousarray(y[:, :train_end], dtype=np.float64))
    for column in calendar:
        digest.update(np.ascontiguousarray(column[:train_end], dtype=np.float64))
    if prices is not None:
        digest.update(np.ascontiguousarray(prices[:, :train_end], dtype=np.float64))
    return digest.hexdigest()


@dataclass
class GlobalFitCache:
    """Fits of the global model shared by repeated forecasts of one history (module docstring).

    ``anchor``: the full history's length (weeks), the grid's origin; ``grid_weeks``: the grid's
    spacing. ``hits`` / ``fits`` count reuses and new fits (the benchmark and tests read them).
    A fit that could not be trained (too few rows) is stored as None."""

    anchor: int
    grid_weeks: int = GRID_WEEKS
    models: dict[str, object] = field(default_factory=dict)
    hits: int = 0
    fits: int = 0

    def training_end(self, cut: int) -> int:
        return training_end(cut, self.anchor, self.grid_weeks)

    def get(self, key: str, history_weeks: int) -> tuple[bool, object]:
        """(found, model) for ``key``; found only for a fit made by a forecast of at most
        ``history_weeks`` weeks (module docstring)."""
        made_at, model = self.models.get(key, (None, None))
        if made_at is not None and made_at <= history_weeks:
            self.hits += 1
            return True, model
        return False, None

    def put(self, key: str, model: object, history_weeks: int) -> None:
        self.fits += 1
        self.models[key] = (history_weeks, model)
        while len(self.models) > MAX_FITS:
            self.models.pop(next(iter(self.models)))

"""Work the policy replay shares instead of repeating it (``backtest.backtest_policy`` through
``policy.policy_levels``); none of it changes a number.

* Across the K nominal-level replays (``policy_levels(replicas=K)``): the stacked rows are K
  blocks equal but for the level, so the level-independent arithmetic is computed for block 0 and
  repeated (``repeated_block`` checks the blocks really repeat; otherwise every row is computed).
* Across the replay's reviews (``CompoundMemo``): the compound distribution of a SKU
  (``compound.compound_level_pmf``, the costly part of a review) is a function of its inputs, which
  often repeat from one review to the next (same forecast between re-forecasts, no order entering
  or leaving its windows); a row whose exact inputs were seen takes the stored outputs.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def compound_row_keys(sizes: np.ndarray, *columns: np.ndarray | float) -> list[bytes]:
    """One key per row of the inputs of ``compound.compound_level_pmf``: the (n,) ``columns`` and
    the row's ``sizes`` (n, m; NaN = none). Where the sizes are whole units below 2^26 the key holds
    them as a sorted multiset without the NaN padding: their sums and sums of squares are then exact
    in any order and the size pmf is a count, so the outputs do not depend on the order or on the
    padding; other rows hold their sizes as given."""
    sizes = np.asarray(sizes, dtype=float)
    n = sizes.shape[0]
    finite = np.isfinite(sizes)
    whole = np.all(~finite | ((sizes == np.floor(sizes)) & (np.abs(sizes) < 2.0**26)), axis=1)
    ordered = np.sort(sizes, axis=1)   # NaN last
    count = finite.sum(axis=1)
    numbers = np.column_stack([np.broadcast_to(np.asarray(value, dtype=float), (n,)) for value in columns])
    return [numbers[i].tobytes() + (b"whole" + ordered[i, :count[i]].tobytes() if whole[i] else
                                     b"as given" + sizes[i].tobytes()) for i in range(n)]


class CompoundMemo:
    """The outputs of ``compound.compound_level_pmf`` per row, kept across ``policy_levels`` calls
    (the policy replay's reviews: between re-forecasts a SKU's compound inputs often repeat from
    one review to the next - same forecast, no order entering or leaving its windows). A row whose
    key (``compound_row_keys``: its exact inputs) was seen takes the stored outputs, the others
    are computed in one batch (the function is row-wise, so the results are the same). Entries
    unused for ``keep_calls`` calls are dropped (memory: two 1,024-point pmfs per entry)."""

    def __init__(self, keep_calls: int = 4) -> None:
        self.keep_calls = keep_calls
        self.calls = 0
        self.hits = 0
        self.rows = 0
        self._store: dict[bytes, dict[str, np.ndarray]] = {}
        self._used: dict[bytes, int] = {}

    def outputs(self, rows: np.ndarray, compute: Callable[[np.ndarray], dict[str, np.ndarray]],
                keys: list[bytes]) -> dict[str, np.ndarray]:
        """``compute(rows)`` (a dict of per-row arrays), from the memo where a key was seen."""
        self.calls += 1
        missing = np.array([i for i, key in enumerate(keys) if key not in self._store], dtype=np.int64)
        self.rows += len(keys)
        self.hits += len(keys) - missing.size
        if missing.size:
            fresh = compute(np.asarray(rows)[missing])
            for j, i in enumerate(missing):
                self._store[keys[i]] = {name: value[j] for name, value in fresh.items()}
        for key in keys:
            self._used[key] = self.calls
        stale = [key for key, call in self._used.items() if self.calls - call >= self.keep_calls]
        for key in stale:
            del self._used[key], self._store[key]
        names = self._store[keys[0]].keys() if keys else ()
        return {name: np.stack([self._store[key][name] for key in keys]) for name in names}


def block_rows(value: object, rows: slice) -> object:
    """``value[rows]`` for a per-row array; a scalar or None as it is."""
    return value[rows] if isinstance(value, np.ndarray) and value.ndim >= 1 else value


def repeated_block(replicas: int, n: int, arrays: tuple) -> int:
    """n / ``replicas`` when every per-row array in ``arrays`` is ``replicas`` repeats of its first
    n / replicas rows (scalars and None repeat trivially); otherwise n (no sharing)."""
    if replicas <= 1 or n % replicas:
        return n
    block = n // replicas
    for value in arrays:
        if value is None or np.ndim(value) == 0:
            continue
        value = np.asarray(value)
        if value.shape[0] != n:
            return n
        stacked = value.reshape(replicas, block, *value.shape[1:])
        nan = value.dtype.kind in "fc"
        if not all(np.array_equal(stacked[k], stacked[0], equal_nan=nan) for k in range(1, replicas)):
            return n
    return block


__all__ = ["CompoundMemo", "block_rows", "compound_row_keys", "repeated_block"]

"""The forecast cache: finished forecast partitions, kept beside the DuckDB file and pruned.

The flow's forecast task persists its results (Prefect result storage) so that a re-run after a
failed write, or a retried flow, reuses the partitions it already forecast. Prefect's default
location is ``~/.prefect/storage``, shared by every flow of the user and never cleaned; safestock
keeps its entries in ``<db>.cache/`` instead (beside ``<db>`` and ``<db>.lock``) and prunes that
folder at the start of every run (under the run lock, so no other run of this database is reading it):

- an entry older than ``FORECAST_CACHE_MAX_AGE`` (the task's cache expiration: Prefect would no
  longer use it) is removed;
- then, oldest first, entries are removed until the folder holds at most ``FORECAST_CACHE_MAX_BYTES``.

The folder therefore never holds more than that bound plus the entries of the run in progress.
Deleting the folder is always safe: the next run forecasts again.

Versions before the cache moved (2026-12-03, commit f291b50) left their partitions in Prefect's
result storage (``~/.prefect/storage``, setting ``PREFECT_LOCAL_STORAGE_PATH``) as
``safestock-forecast-<sha256>`` files, which nothing reads any more and Prefect never removes;
each run removes those, and only those, with :func:`prune_legacy_forecast_entries`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

FORECAST_CACHE_MAX_AGE = timedelta(days=2)
"""Age after which a cached partition is neither used (the task's cache_expiration) nor kept."""

FORECAST_CACHE_MAX_BYTES = 1 << 30
"""Bound on the folder's size (1 GiB) before a run adds its own entries."""


LEGACY_ENTRY_PREFIX = "safestock-forecast-"
"""Name prefix of a forecast partition's result file (the task's cache key, tasks/forecast.py)."""


def forecast_cache_dir(db_path: Path) -> Path:
    """The cache folder of the results database ``db_path``: ``<db>.cache`` beside it."""
    return Path(f"{db_path}.cache")


@dataclass(frozen=True)
class PrunedCache:
    """What ``prune_forecast_cache`` removed and what it kept."""

    removed: tuple[Path, ...]
    kept_bytes: int


def prune_forecast_cache(
    folder: Path,
    *,
    max_age: timedelta = FORECAST_CACHE_MAX_AGE,
    max_bytes: int = FORECAST_CACHE_MAX_BYTES,
    now: float | None = None,
) -> PrunedCache:
    """Remove the files of ``folder`` modified more than ``max_age`` before ``now`` (epoch seconds,
    default: the clock), then the oldest remaining ones until their total size is at most
    ``max_bytes``. Files that vanish meanwhile are skipped; a missing folder is empty."""
    if not folder.is_dir():
        return PrunedCache((), 0)
    now = time.time() if now is None else now
    entries = []
    for path in folder.rglob("*"):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if path.is_file():
            entries.append((stat.st_mtime, stat.st_size, path))
    entries.sort()  # oldest first
    removed: list[Path] = []
    total = sum(size for _, size, _ in entries)
    for modified, size, path in entries:
        if modified >= now - max_age.total_seconds() and total <= max_bytes:
            break  # everything newer is within both bounds
        path.unlink(missing_ok=True)
        removed.append(path)
        total -= size
    return PrunedCache(tuple(removed), total)


def prune_legacy_forecast_entries(storage_dir: Path) -> tuple[Path, ...]:
    """Remove the ``safestock-forecast-*`` files directly in ``storage_dir`` (Prefect's result
    storage: where versions before the ``<db>.cache/`` folder kept forecast partitions, never read
    since) and return them. Other files (other flows' results) are left alone; files that vanish
    meanwhile are skipped; a missing folder holds none."""
    if not storage_dir.is_dir():
        return ()
    removed = []
    for path in storage_dir.glob(f"{LEGACY_ENTRY_PREFIX}*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return tuple(removed)

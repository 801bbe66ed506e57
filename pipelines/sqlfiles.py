"""Load SQL text from the ``safestock.sql`` package (the repository's ``sql/`` folder) by name."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

SQL_PACKAGE = "safestock.sql"


@lru_cache(maxsize=None)
def sql(name: str) -> str:
    """Return the text of ``sql/<name>.sql`` (cached; raises FileNotFoundError if absent)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"invalid SQL file name: {name!r}")
    return files(SQL_PACKAGE).joinpath(f"{name}.sql").read_text(encoding="utf-8")

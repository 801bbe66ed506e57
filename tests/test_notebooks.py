"""The jupytext notebooks in notebooks/ run top to bottom on a real flow's database.

Each ``notebooks/*.py`` (py:percent) is converted with jupytext and executed with nbclient in
the repository root, with ``SAFESTOCK_DB`` pointing at the session's ``demo_database``. The
last cell of every notebook prints a small text table that is checked here.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
MAX_SECONDS = 60.0   # the target is ~30 s each on the 120-SKU database; leave room for a busy machine


def _execute(path: Path, db_path: Path) -> tuple[object, float]:
    import jupytext
    from nbclient import NotebookClient

    notebook = jupytext.read(path)
    os.environ["SAFESTOCK_DB"] = str(db_path)   # the kernel inherits it
    started = time.perf_counter()
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return notebook, time.perf_counter() - started


def _text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _number_after(label: str, text: str) -> float:
    match = re.search(re.escape(label) + r"\s*([-+0-9.eE]+|nan)", text)
    assert match, f"{label!r} not found in:\n{text}"
    return float(match.group(1))


def _table(text: str, first_column: str) -> list[dict[str, str]]:
    """Rows of a whitespace-separated table printed with ``DataFrame.to_string(index=False)``."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    header_at = next(i for i, line in enumerate(lines) if line and line[0] == first_column)
    header = lines[header_at]
    rows = []
    for line in lines[header_at + 1:]:
        if len(line) != len(header):
            break
        rows.append(dict(zip(header, line)))
    return rows


def _check_explore(last: str, all_text: str) -> None:
    rows = _table(last, "demand_class")
    classes = {row["demand_class"] for row in rows}
    assert {"smooth", "intermittent"} <= classes, last
    assert sum(int(row["skus"]) for row in rows) == 120
    assert abs(sum(float(row["share_of_skus"]) for row in rows) - 1.0) < 0.01


def _check_compare(last: str, all_text: str) -> None:
    assert "SKUs whose history length differs from sku_class: 0" in all_text
    assert _number_after("max |recomputed - stored forecast mean|:", all_text) < 1e-6
    assert "SKUs with a different selected model: 0" in all_text
    assert _number_after("max |delta rmsse| =", last) < 1e-9
    assert "same selection: True" in last
    assert "seasonal_ses" in last and "sba" in last and "smooth" in last and "lumpy" in last


def _check_tradeoff(last: str, all_text: str) -> None:
    assert _number_after("max |recomputed - stored reorder point| =", all_text) < 1e-6
    rows = _table(last, "service_level")
    assert len(rows) >= 5, last
    levels = [float(row["service_level"]) for row in rows]
    stock = [float(row["ss_value"]) for row in rows]
    achieved = [float(row["sim_cycle_service"]) for row in rows]
    assert levels == sorted(levels)
    assert all(b > a for a, b in zip(stock, stock[1:])), f"safety stock not increasing with service:\n{last}"
    assert achieved[-1] > achieved[0]
    assert all(0.0 <= a <= 1.0 for a in achieved)


CHECKS = {
    "01_explore_demand.py": _check_explore,
    "02_compare_forecast_models.py": _check_compare,
    "03_service_level_tradeoff.py": _check_tradeoff,
}


def test_every_notebook_has_a_check() -> None:
    assert sorted(p.name for p in NOTEBOOKS) == sorted(CHECKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, demo_database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFESTOCK_DB", str(demo_database))
    notebook, seconds = _execute(path, demo_database)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.get("execution_count") for cell in code), "a cell did not run"
    errors = [o for cell in code for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    figures = [o for cell in code for o in cell.get("outputs", [])
               if "application/vnd.plotly.v1+json" in o.get("data", {}) or "text/html" in o.get("data", {})]
    assert figures, "no figure or table was displayed"
    assert seconds < MAX_SECONDS, f"{path.name} took {seconds:.1f} s"
    CHECKS[path.name](_text(code[-1]), "\n".join(_text(cell) for cell in code))

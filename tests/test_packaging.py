"""The installed product: a real wheel, installed into a fresh virtual environment outside the
repository, runs `safestock demo` and `safestock run` from another working directory.

The repository's top-level folders install as one namespace (``safestock.models``,
``safestock.pipelines``, ``safestock.sql``, ``safestock.reports``); these tests fail when a file
of those folders is missing from the wheel, when a generic top-level name (``models``,
``pipelines``) is installed, or when the installed command cannot find its SQL or templates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# repository folder -> package it installs as
PACKAGE_DIRS = {"models": "safestock.models", "pipelines": "safestock.pipelines",
                "sql": "safestock.sql", "reports": "safestock.reports"}
SHIPPED_SUFFIXES = {".py", ".sql", ".j2", ".css", ".js"}


def _repository_files() -> set[str]:
    """Every file the wheel must hold, as its path inside the wheel (``safestock/...``)."""
    expected: set[str] = set()
    for folder, package in PACKAGE_DIRS.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts:
                inside = path.relative_to(ROOT / folder).as_posix()
                expected.add(f"{package.replace('.', '/')}/{inside}")
    return expected


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result


def test_every_package_folder_is_declared() -> None:
    """pyproject's package list names every folder of models/ and pipelines/ that holds Python."""
    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set(PACKAGE_DIRS.values())
    for folder, package in PACKAGE_DIRS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            inside = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *inside)))
    assert declared == found, f"declare in pyproject.toml: {sorted(found - declared)}; stale: {sorted(declared - found)}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a clean copy of the checkout (pip wheel, no dependencies). Building in the
    checkout would leave build/ behind, whose stale copies of deleted modules a later build ships."""
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "demo_output", "artifacts", ".pytest_cache"))
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
         cwd=out, env=dict(os.environ))
    (built,) = out.glob("safestock-*.whl")
    return built


def test_wheel_holds_every_file_under_one_namespace(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _repository_files() - names
    assert not missing, f"files missing from the wheel: {sorted(missing)}"
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"safestock"}, f"the wheel installs other top-level names: {sorted(top_level)}"


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment outside the repository with the wheel installed (pip, no
    dependencies). Its dependencies are those of the environment running the suite, which
    ``make install`` installed from pyproject's declared dependencies: the new venv sees that
    environment's site-packages as a plain path entry (a ``.pth`` line), which makes its packages
    importable but does not run that environment's own ``.pth`` files, so the editable install of
    the checkout stays invisible (asserted below). Installing the ~150 dependencies again took
    about 80 s of the suite's time and proved nothing the suite does not already run on."""
    import sysconfig

    home = tmp_path_factory.mktemp("installed")
    venv = home / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=home, env=dict(os.environ))
    python = venv / "bin" / "python"
    venv_site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          cwd=home, env=dict(os.environ)).stdout.strip())
    (venv_site / "suite_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
          "--disable-pip-version-check", str(wheel)], cwd=home, env=dict(os.environ), timeout=900)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", PREFECT_HOME=str(home / "prefect"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    return venv, env


def test_no_generic_top_level_names_installed(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    venv, env = installed
    python = str(venv / "bin" / "python")
    for generic in ("models", "pipelines", "sql", "reports"):
        result = subprocess.run([python, "-c", f"import {generic}"], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, f"'import {generic}' works in the venv"
    located = _run([python, "-c", "import safestock.pipelines, safestock.models; print(safestock.pipelines.__file__)"],
                   cwd=tmp_path, env=env).stdout
    assert str(venv) in located and str(ROOT) not in located, f"imported from outside the venv: {located}"


def test_installed_demo_and_run_from_another_directory(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    """`safestock demo --skus 50`, then `safestock run` on its input, in a folder that is not the
    checkout: both exit 0 and write the database, both reports and the order files. The demo is
    the README's first command as a user runs it (own process, its own ephemeral Prefect server):
    it says the run succeeded and prints the database and report paths, each an existing file."""
    venv, env = installed
    safestock = str(venv / "bin" / "safestock")
    demo = _run([safestock, "demo", "--skus", "50", "--out", "demo"], cwd=tmp_path, env=env).stdout
    assert "succeeded" in demo
    for label in ("database:", "planner report:", "buyer report:"):
        printed = [row for row in demo.splitlines() if label in row]
        assert printed, demo
        assert (tmp_path / printed[0].split(label, 1)[1].strip()).is_file(), printed[0]
    assert (tmp_path / "demo" / "safestock.duckdb").is_file()
    _run([safestock, "run", "--input", "demo/input", "--db", "weekly.duckdb", "--reports", "weekly_reports"],
         cwd=tmp_path, env=env)
    reports = tmp_path / "weekly_reports"
    assert (reports / "planner.html").stat().st_size > 100_000  # plotly.js inlined: found the templates and assets
    assert "safestock" in (reports / "buyer.html").read_text(encoding="utf-8").lower()
    assert list((reports / "orders").glob("*/*.csv")), "no order files written"   # orders/<as_of>/
    explained = _run([safestock, "explain", "--db", "weekly.duckdb", _first_sku(tmp_path / "demo" / "input")],
                     cwd=tmp_path, env=env).stdout
    assert "reorder" in explained.lower()


def _first_sku(input_dir: Path) -> str:
    import csv

    with open(next(input_dir.glob("items.*")), encoding="utf-8", newline="") as handle:
        return next(csv.DictReader(handle))["sku"]

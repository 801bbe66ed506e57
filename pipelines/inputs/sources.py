"""Find and read the input files: which file serves each contract table, their hashes,
their header lines (readability and required columns), and `Source`, which builds the SQL
scan of one input as trimmed VARCHAR contract columns (CSV, Parquet or a folder of Parquet).
"""

from __future__ import annotations

import csv
import difflib
import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
from safestock.pipelines.inputs.contract import (
    FILE_SUFFIXES,
    TABLES,
    DataQualityNote,
    TableSpec,
    ValidationIssue,
    quote_identifier,
    staged_value_sql,
)
from safestock.pipelines.sqlfiles import sql

MAX_VALUE_SHOWN = 60
#: Column of a pulled table (`Source.relation`) numbering its rows as lines (first row = 2).
RELATION_LINE_COLUMN = "__line"
#: Columns of a pulled table whose names start so are not input columns (line, row keys).
RELATION_INTERNAL_PREFIX = "__"
#: How issues name a pulled table (`load_inputs(pulled_database=…)`): `sales.pulled`.
PULLED_SUFFIX = ".pulled"
MAX_HEADER_BYTES = 1 << 20
FOLDER_TABLES = ("sales",)  # tables that may also be given as a folder of Parquet files
#: difflib similarity (2 x matching characters / total characters) from which a column that is not
#: in the contract counts as a misspelling of a contract column the file lacks: 'back_orders' for
#: 'backordered' is 0.82, 'sttus' for 'status' 0.91, 'min_order_val' for 'min_order_value' 0.93;
#: a different column such as 'supplier_name' beside 'supplier_id' is 0.75.
NEAR_MISS_CUTOFF = 0.8


def show(value: object, limit: int = MAX_VALUE_SHOWN) -> str:
    """A value as shown in a message: quoted, control characters escaped, truncated."""
    text = "" if value is None else str(value)
    if not text.isprintable():
        text = text.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    if len(text) > limit:
        text = text[:limit] + "…"
    return f"'{text}'"


def sha256(path: Path) -> str:
    """sha256 of a file; of a folder of Parquet files: of their bytes in name order."""
    digest = hashlib.sha256()
    for part in _parquet_parts(path) if path.is_dir() else [path]:
        with part.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                digest.update(chunk)
    return digest.hexdigest()


def _parquet_parts(folder: Path) -> list[Path]:
    """The `*.parquet` files of a table folder (e.g. `sales/`), in name order."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file())


def file_name(path: Path) -> str:
    """How issues and `files` name an input: the file name, or `<table>/` for a folder."""
    return f"{path.name}/" if path.is_dir() else path.name


def first_error_line(error: Exception) -> str:
    """The reason of a reader error in one short line (no echoed data, no option dump)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()
             and not line.strip().startswith(("Original Line", "Possible Solution"))
             and " = " not in line]
    text = " ".join(line[:160] for line in lines[:2]) if lines else type(error).__name__
    return show(text, limit=300)[1:-1]


def _csv_header(path: Path) -> list[str]:
    """Column names from the header line of a CSV (optionally gzip) file, BOM removed.

    Read in Python rather than sniffed, so a malformed data row can never be taken as header.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as handle:
        first_line = handle.readline(MAX_HEADER_BYTES + 1)
    if b"\x00" in first_line:
        raise ValueError("binary content (NUL bytes) in the header line")
    if len(first_line) > MAX_HEADER_BYTES:
        raise ValueError(f"header line longer than {MAX_HEADER_BYTES} bytes")
    text = first_line.decode("utf-8-sig").rstrip("\r\n")
    if not text.strip():
        raise ValueError("the first line (header) is empty")
    return next(csv.reader([text]))


def find_input_files(input_dir: Path) -> tuple[dict[str, Path], list[ValidationIssue]]:
    """One file per contract table: `<table>.csv`, `<table>.csv.gz` or `<table>.parquet`."""
    found: dict[str, Path] = {}
    issues: list[ValidationIssue] = []
    if input_dir.is_file():
        return found, [ValidationIssue(str(input_dir), None, None,
                                       "is a file, not a folder: --input takes the folder that holds sales, items, "
                                       f"suppliers, inventory and purchase_orders (here: {input_dir.parent})")]
    if not input_dir.is_dir():
        return found, [ValidationIssue(str(input_dir), None, None, "input folder does not exist")]
    for name in TABLES:
        candidates = [input_dir / f"{name}{suffix}" for suffix in FILE_SUFFIXES]
        existing = [path for path in candidates if path.is_file()]
        if name in FOLDER_TABLES and (input_dir / name).is_dir():
            existing.append(input_dir / name)  # a folder of Parquet files
        if not existing and TABLES[name].optional:
            continue
        if not existing:
            issues.append(ValidationIssue(f"{name}.csv", None, None,
                                          "missing file (expected " + " or ".join(
                                              p.name for p in candidates) + ")"))
        elif len(existing) > 1:
            issues.append(ValidationIssue(existing[0].name, None, None,
                                          "several files for one table: "
                                          + ", ".join(file_name(p) for p in existing)))
        else:
            found[name] = existing[0]
    return found, issues


@dataclass
class Source:
    """A readable input with a valid header: how its contract columns map to file columns."""

    path: Path
    header: list[str]
    by_name: dict[str, int]  # contract column -> position in the header
    #: A table already in DuckDB, read instead of a file (a PostgreSQL pull streamed into an
    #: attached database: inputs/postgres.py); typed like Parquet, rows numbered by `__line`.
    relation: str | None = None

    @property
    def is_parquet(self) -> bool:
        """A typed, columnar input (Parquet, a Parquet folder or a pulled table): no CSV rejects."""
        return self.relation is not None or self.path.is_dir() or self.path.name.endswith(".parquet")

    @property
    def read_path(self) -> str:
        return str(self.path / "*.parquet") if self.path.is_dir() else str(self.path)

    def parquet_options(self) -> str:
        """read_parquet options: a folder's files are unioned by column name."""
        return ", union_by_name = true, filename = true" if self.path.is_dir() else ""

    def parquet_line(self) -> str:
        """`line` of a Parquet row: first data row = 2; over a folder's files in name order; a
        pulled table's `__line`."""
        if self.relation is not None:
            return quote_identifier(RELATION_LINE_COLUMN)
        return ("row_number() over (order by filename, file_row_number) + 1"
                if self.path.is_dir() else "file_row_number + 2")

    def reader_sql(self, *, row_numbers: bool = True) -> str:
        """The FROM item of a typed input, its rows named `record`: `read_parquet($path, …)`
        (with `file_row_number` when asked), or the pulled table."""
        if self.relation is not None:
            return f"{self.relation} as record"
        numbers = ", file_row_number = true" if row_numbers else ""
        return f"read_parquet($path{numbers}{self.parquet_options()}) as record"

    def parquet_columns(self) -> tuple[list[str], dict[str, object]]:
        parameters: dict[str, object] = {} if self.relation is not None else {"path": self.read_path}
        columns = []
        for index, (name, position) in enumerate(self.by_name.items()):
            parameters[f"column_{index}"] = self.header[position]
            columns.append(staged_value_sql(
                f"cast(struct_extract(record, $column_{index}) as varchar)")
                + f" as {quote_identifier(name)}")
        return columns, parameters

    @property
    def extra_columns(self) -> list[str]:
        """Header names that are not contract columns (as written, trimmed; unnamed ones left out)."""
        mapped = set(self.by_name.values())
        names = (name.replace("\ufeff", "").strip() for position, name in enumerate(self.header)
                 if position not in mapped)
        return [name for name in names if name]

    def csv_columns_read(self) -> dict[str, str]:
        position_names = {position: name for name, position in self.by_name.items()}
        return {position_names.get(i, f"ignored_{i}"): "VARCHAR" for i in range(len(self.header))}

    def scan_sql(self, *, line: bool, rejects_table: str | None = None,
                 ) -> tuple[str, dict[str, object]]:
        """A subquery over the whole input: trimmed VARCHAR contract columns (as staged),
        plus `line` when asked (CSV: needs preserve_insertion_order). With `rejects_table`,
        malformed CSV records go there instead of failing the scan."""
        if self.is_parquet:
            columns, parameters = self.parquet_columns()
            line_sql = f"{self.parquet_line()} as line, " if line else ""
            return f"(select {line_sql}{', '.join(columns)} from {self.reader_sql()})", parameters
        columns = [f"{staged_value_sql(quote_identifier(name))} as {quote_identifier(name)}"
                   for name in self.by_name]
        rejects = (f", store_rejects = true, rejects_table = '{rejects_table}', "
                   f"rejects_scan = '{rejects_table}_scan', rejects_limit = 1"
                   if rejects_table else "")
        line_sql = "row_number() over () + 1 as line, " if line else ""
        return (f"(select {line_sql}{', '.join(columns)} from read_csv($path, header = true, "
                f"all_varchar = true, columns = $columns, delim = ',', quote = '\"', "
                f"escape = '\"', encoding = 'utf-8', strict_mode = true{rejects}))",
                {"path": self.read_path, "columns": self.csv_columns_read()})


def read_header(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path,
                issues: list[ValidationIssue]) -> Source | None:
    """Header, readability and required-column checks of one input; None after an issue."""
    input_name = file_name(path)
    is_parquet = path.is_dir() or path.name.endswith(".parquet")
    if path.is_dir():
        if not _parquet_parts(path):
            issues.append(ValidationIssue(input_name, None, None, "folder holds no .parquet "
                                          "files (expected one or more <name>.parquet)"))
            return None
    elif path.stat().st_size == 0:
        issues.append(ValidationIssue(input_name, None, None, "file is empty (expected a header "
                                      "line: " + ", ".join(spec.required_columns) + ")"))
        return None
    read_path = str(path / "*.parquet") if path.is_dir() else str(path)
    try:
        header = ([row[0] for row in con.execute(sql("load_parquet_header").format(
                      options=", union_by_name = true" if path.is_dir() else ""),
                      {"path": read_path}).fetchall()]
                  if is_parquet else _csv_header(path))
    except (duckdb.Error, OSError, EOFError, zlib.error, UnicodeError, csv.Error,
            OverflowError, ValueError) as error:
        kind = "Parquet" if is_parquet else "UTF-8 CSV"
        issues.append(ValidationIssue(input_name, None, None,
                                      f"unreadable file (not a valid {kind} file): "
                                      f"{first_error_line(error)}"))
        return None
    return _checked_header(spec, path, header, issues)


def read_relation_header(con: duckdb.DuckDBPyConnection, spec: TableSpec, path: Path, relation: str,
                         issues: list[ValidationIssue]) -> Source | None:
    """`read_header` of a table already in DuckDB (`relation`, e.g. a pulled PostgreSQL table);
    `path` only names it in issues. Its `__…` columns (line, row keys) are not input columns."""
    header = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()
              if not row[0].startswith(RELATION_INTERNAL_PREFIX)]
    source = _checked_header(spec, path, header, issues)
    if source is not None:
        source.relation = relation
    return source


def _checked_header(spec: TableSpec, path: Path, header: list[str],
                    issues: list[ValidationIssue]) -> Source | None:
    """The contract columns of a header (each once) and its required columns; None after an issue."""
    input_name = file_name(path)
    wanted = {column.name for column in spec.columns}
    by_name: dict[str, int] = {}
    for position, name in enumerate(header):
        normalized = name.replace("\ufeff", "").strip().lower()
        if normalized in wanted:
            if normalized in by_name:
                issues.append(ValidationIssue(input_name, 1, normalized, "column appears twice"))
                return None
            by_name[normalized] = position
    missing = [name for name in spec.required_columns if name not in by_name]
    found = show(", ".join(header), limit=300)[1:-1]
    hint = (" — is the file comma-separated?"
            if len(header) == 1 and any(sep in header[0] for sep in ";\t|") else "")
    source = Source(path, header, by_name)
    for name in missing:
        misspelled = difflib.get_close_matches(name, source.extra_columns, n=1, cutoff=NEAR_MISS_CUTOFF)
        issues.append(ValidationIssue(input_name, None, name, "required column is missing "
                                      f"(columns found: {found}){hint}"
                                      + (f" — is {show(misspelled[0])} a misspelling of it?"
                                         if misspelled else "")))
    if missing:
        return None
    return source


def check_extra_columns(spec: TableSpec, input_name: str, extra_columns: list[str],
                        present_columns: set[str], rows: int, allow_extra_columns: bool,
                        issues: list[ValidationIssue]) -> list[DataQualityNote]:
    """Columns of a file that are not in the contract (they are never read).

    One that is a near-miss (difflib ratio >= NEAR_MISS_CUTOFF) of a contract column the file
    lacks is most likely that column misspelled, whose values would silently be replaced by the
    default (backorders dropped, discontinued items ordered): an issue on the header line, or,
    with `allow_extra_columns`, a warning note. Any other extra column is an info note."""
    absent = [column.name for column in spec.columns if column.name not in present_columns]
    notes = []
    for name in extra_columns:
        match = difflib.get_close_matches(name.lower(), absent, n=1, cutoff=NEAR_MISS_CUTOFF)
        if not match:
            notes.append(DataQualityNote(input_name, None, name, "info",
                                         f"column {show(name)} is not part of the contract: ignored",
                                         rows))
            continue
        column = spec.column(match[0])
        effect = (f"every row takes the default {column.default}" if column.default is not None
                  else "every row is read as empty")
        meaning = (f"did you mean '{column.name}'? Its values are not read: without a "
                   f"'{column.name}' column {effect}")
        if allow_extra_columns:
            notes.append(DataQualityNote(input_name, None, name, "warning",
                                         f"column {show(name)} is not part of the contract: ignored "
                                         f"(allow_extra_columns) — {meaning}", rows))
        else:
            header_line = None if input_name.endswith((".parquet", "/")) else 1
            issues.append(ValidationIssue(input_name, header_line, name, f"unknown column — {meaning}. Rename "
                                          "it, or set allow_extra_columns = true in the [inputs] table "
                                          "of the --config file to ignore it"))
    return notes

"""One reader per file format: CSV, Parquet, JSON (an array or one object a line).

A reader says what columns a file declares (``columns``) and their DuckDB
types (``types``), and reads files as DuckDB SQL: ``table`` (the rows, for a
set-based scan), ``numbered`` (the rows with ``__file`` and ``__line``, to
name a bad row) and ``load`` (one file into the temp table ``__read`` with
its ``__line``, for the raw tables; unparseable lines come back as problems).
``load_many`` reads many files of the same columns into ``__read`` at once
(with ``__file``), for a range of days; it says False, having loaded
nothing, when any line or file is not clean, and each file is then loaded
alone to say what is wrong with it.
``reader_for(source, path)`` picks one from ``sources.<name>.format`` or the
file's suffix. A new format is one class here, registered in ``READERS``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import duckdb

from openbooks.flows.sources.base import Problem
from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.mapping import ident, literal, rejected
from openbooks.errors import InputError

SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".json": "json", ".ndjson": "json", ".jsonl": "json"}

# A row's place in its own file (1 for its first row), from the scan's
# ordinality: a window's row_number() without an order numbers the rows of a
# parallel scan in no particular order, so an error would name the wrong line.
LINE_IN_FILE = "ordinality - min(ordinality) OVER (PARTITION BY filename) + 1"


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(literal(str(p)) for p in paths) + "]"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


class ParquetReader:
    name = "parquet"
    expected = "a readable Parquet file"

    def columns(self, path: Path, source, con: duckdb.DuckDBPyConnection) -> list[str]:
        return list(self.types([path], con))

    def types(self, paths: list[Path], con: duckdb.DuckDBPyConnection, file_columns=None) -> dict[str, str]:
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({literal(str(paths[0]))})").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"{display_path(paths[0])}: not a readable Parquet file ({_first_line(exc)})")
        return {row[0]: row[1] for row in described}

    def table(self, paths: list[Path], source, file_columns: list[str]) -> str:
        return f"read_parquet({_files(paths)})"

    def numbered(self, paths: list[Path], source, file_columns: list[str]) -> str:
        return (f"SELECT *, filename AS __file, file_row_number + 1 AS __line "
                f"FROM read_parquet({_files(paths)}, filename = true, file_row_number = true)")

    def load(self, con, path: Path, source, file_columns: list[str]) -> list[Problem]:
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE __read AS SELECT *, file_row_number + 1 AS __line "
                        "FROM read_parquet(?, file_row_number = true)", [str(path)])
        except duckdb.Error as exc:
            raise InputError(f"{display_path(path)}: not a readable Parquet file ({_first_line(exc)})")
        return []

    def load_many(self, con, paths: list[Path], source, file_columns: list[str]) -> bool:
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __read AS SELECT * EXCLUDE (filename, file_row_number), "
                        f"filename AS __file, file_row_number + 1 AS __line "
                        f"FROM read_parquet({_files(paths)}, filename = true, file_row_number = true)")
        except duckdb.Error:
            return False
        return True


class JsonReader:
    """JSON or newline-delimited JSON. Every value is read as text (strings
    unquoted, numbers as written, nested objects as JSON text, for
    ``{column, field}`` mappings), as from a CSV file; rows are numbered from 1."""

    name = "json"
    expected = "a readable JSON file"
    _options = "format = 'auto', maximum_depth = 1"

    def columns(self, path: Path, source, con) -> list[str]:
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM read_json({literal(str(path))}, {self._options})").fetchall()
        except duckdb.Error as exc:
            raise InputError(f"{display_path(path)}: not a readable JSON file ({_first_line(exc)})")
        return [row[0] for row in described]

    def types(self, paths: list[Path], con, file_columns=None) -> dict[str, str]:
        return {c: "VARCHAR" for c in file_columns or self.columns(paths[0], None, con)}

    def _as_text(self, file_columns: list[str], extra: str = "") -> str:
        return ", ".join(f"json_extract_string({ident(c)}, '$') AS {ident(c)}" for c in file_columns) + extra

    def table(self, paths: list[Path], source, file_columns: list[str]) -> str:
        return f"(SELECT {self._as_text(file_columns)} FROM read_json({_files(paths)}, {self._options}))"

    def numbered(self, paths: list[Path], source, file_columns: list[str]) -> str:
        text = self._as_text(file_columns, f", filename AS __file, {LINE_IN_FILE} AS __line")
        return f"SELECT {text} FROM read_json({_files(paths)}, {self._options}, filename = true) WITH ORDINALITY"

    def load(self, con, path: Path, source, file_columns: list[str]) -> list[Problem]:
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __read AS SELECT {self._as_text(file_columns)}, "
                        f"row_number() OVER () AS __line FROM read_json(?, {self._options})", [str(path)])
        except duckdb.Error as exc:
            raise InputError(f"{display_path(path)}: not a readable JSON file ({_first_line(exc)})")
        return []


class CsvReader:
    """Every value read as text; lines the reader cannot parse are problems, the header is line 1."""

    name = "csv"
    expected = "a UTF-8 CSV file"

    def columns(self, path: Path, source, con) -> list[str]:
        where = display_path(path)
        if path.stat().st_size == 0:
            raise rejected(f"{where}: file is empty (expected a header line and rows)")
        with open(path, "rb") as handle:
            first = handle.readline()
        try:
            header = next(csv.reader([first.decode("utf-8-sig")], delimiter=source.delimiter), [])
        except UnicodeDecodeError:
            raise rejected(f"{where} line 1: header is not UTF-8 text (expected a UTF-8 CSV file)", line=1)
        return [name.strip() for name in header]

    def types(self, paths: list[Path], con, file_columns: list[str] | None = None) -> dict[str, str]:
        return {c: "VARCHAR" for c in file_columns or []}

    def _read_csv(self, files: str, source, file_columns: list[str], extra: str = "") -> str:
        columns = "{" + ", ".join(f"{literal(c)}: 'VARCHAR'" for c in file_columns) + "}"
        return (
            f"read_csv({files}, header = true, auto_detect = false, delim = {literal(source.delimiter)}, "
            f"quote = '\"', escape = '\"', columns = {columns}{extra})"
        )

    def table(self, paths: list[Path], source, file_columns: list[str]) -> str:
        return self._read_csv(_files(paths), source, file_columns)

    def numbered(self, paths: list[Path], source, file_columns: list[str]) -> str:
        reader = self._read_csv(_files(paths), source, file_columns, ", filename = true")
        return (f"SELECT * EXCLUDE (ordinality), filename AS __file, {LINE_IN_FILE} + 1 AS __line "
                f"FROM {reader} WITH ORDINALITY")

    def load(self, con, path: Path, source, file_columns: list[str]) -> list[Problem]:
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        reader = self._read_csv("?", source, file_columns, ", store_rejects = true")
        con.execute(f"CREATE OR REPLACE TEMP TABLE __rows AS SELECT *, row_number() OVER () AS __row FROM {reader}",
                    [str(path)])
        rejects = con.execute(
            "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
        ).fetchall()
        problems = [Problem("", "", file=str(path), line=line, column=column, record=csv_line,
                            reason=reject_reason(error_type, message))
                    for line, column, error_type, csv_line, message in rejects]
        # Accepted rows keep their own line: the header is line 1 and rejected lines are skipped.
        con.execute("CREATE OR REPLACE TEMP TABLE __rejected (line BIGINT)")
        if problems:
            con.executemany("INSERT INTO __rejected VALUES (?)", [[p.line] for p in problems])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __read AS SELECT r.* EXCLUDE (__row), l.__line FROM __rows r JOIN ("
            "  SELECT row_number() OVER (ORDER BY line) AS __row, line AS __line FROM ("
            "    SELECT range AS line FROM range(2, (SELECT count(*) FROM __rows) + (SELECT count(*) FROM __rejected) + 2)"
            "    WHERE range NOT IN (SELECT line FROM __rejected))) l USING (__row)"
        )
        return problems

    def load_many(self, con, paths: list[Path], source, file_columns: list[str]) -> bool:
        """Every file in one scan, each row's line from its place in its file
        (the header is line 1); False if any line is rejected."""
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
        scan = self._read_csv(_files(paths), source, file_columns, ", filename = true, store_rejects = true")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE __rows AS SELECT *, row_number() OVER () AS __row FROM {scan}")
        except duckdb.Error:
            return False
        if con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]:
            return False
        con.execute("CREATE OR REPLACE TEMP TABLE __read AS SELECT * EXCLUDE (__row, filename), filename AS __file, "
                    "__row - min(__row) OVER (PARTITION BY filename) + 2 AS __line FROM __rows")
        return True


def reject_reason(error_type: str, message: str) -> str:
    """DuckDB's reason for rejecting a CSV line, said with what was expected."""
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if counts and error_type in ("TOO MANY COLUMNS", "MISSING COLUMNS"):
        many = "too many" if error_type == "TOO MANY COLUMNS" else "too few"
        return f"{many} columns (expected {counts[1]} columns, found {counts[2]})"
    if error_type == "UNQUOTED VALUE":
        return "unterminated quote (expected a closing \" for every opening one; the rest of the file is unread)"
    if error_type == "INVALID ENCODING":
        return "not UTF-8 text (expected a UTF-8 CSV file)"
    return f"{error_type.lower()}: {message.splitlines()[0]}"


READERS = {reader.name: reader for reader in (CsvReader(), ParquetReader(), JsonReader())}


def format_of(source, path: Path) -> str:
    """``sources.<name>.format``, else told by the file's suffix (CSV by default)."""
    return source.format or SUFFIXES.get(path.suffix.lower(), "csv")


def reader_for(source, path: Path):
    return READERS[format_of(source, path)]

"""Ingest: source files → raw tables, by content hash.

A file is read once per content: the same file again is skipped, a file whose
content changed replaces its earlier rows. Every value is kept as text with
the file, line and hash it came from; typing happens in staging. Rows the CSV
reader cannot parse (ragged, bad quoting, not UTF-8) go to ``quarantine``.
Source files are only ever read.
"""

from __future__ import annotations

import csv
import glob
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import xxhash

from openbooks.config import SOURCE_COLUMNS, Config, Source
from openbooks.errors import InputError, SourceNotFound


@dataclass(frozen=True)
class SourceFile:
    source: str
    path: Path
    content_hash: str


@dataclass
class IngestResult:
    source: str
    files: list[SourceFile] = field(default_factory=list)
    loaded: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def display_path(path: str | Path) -> str:
    """A path as users typed it: relative to the working directory when inside it."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def source_config(config: Config, source: str) -> Source:
    return getattr(config.sources, source)


def source_paths(config: Config, source: str, day: date) -> list[Path]:
    """The files a run of ``day`` reads for ``source`` (``{date}`` filled in)."""
    pattern = source_config(config, source).path.replace("{date}", day.isoformat())
    resolved = config.resolve(pattern)
    return sorted(Path(p) for p in glob.glob(str(resolved)) if Path(p).is_file())


def content_hash(path: Path) -> str:
    """The file's content fingerprint: XXH3-128 (for change detection, not
    security; ~8 GB/s against sha256's ~1 GB/s, which matters for days of
    hundreds of millions of request rows)."""
    digest = xxhash.xxh3_128()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_columns(path: Path, fmt: str, source: Source, con: duckdb.DuckDBPyConnection) -> list[str]:
    """The columns a file declares (a CSV's header line, a Parquet schema)."""
    where = display_path(path)
    if fmt == "parquet":
        try:
            return [row[0] for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
        except duckdb.Error as exc:
            raise InputError(f"{where}: not a readable Parquet file ({str(exc).splitlines()[0]})")
    if path.stat().st_size == 0:
        raise _rejected(f"{where}: file is empty (expected a header line and rows)")
    with open(path, "rb") as handle:
        first = handle.readline()
    try:
        header = next(csv.reader([first.decode("utf-8-sig")], delimiter=source.delimiter), [])
    except UnicodeDecodeError:
        raise _rejected(f"{where} line 1: header is not UTF-8 text (expected a UTF-8 CSV file)", line=1)
    return [name.strip() for name in header]


def _rejected(message: str, *, line: int | None = None, column: str | None = None) -> InputError:
    """An error rejecting a whole file; ``line`` and ``column`` go to quarantine with it."""
    error = InputError(message)
    error.line, error.column = line, column
    return error


def _mapped_columns(path: Path, columns: list[str], source_name: str, source: Source) -> dict[str, str]:
    """canonical name → the file's column, checking none is missing or unexpected."""
    where = display_path(path)
    wanted = {name: source.columns.get(name, name) for name in SOURCE_COLUMNS[source_name]}
    missing = [f"{file_col!r}" + (f" (for {name})" if file_col != name else "")
               for name, file_col in wanted.items() if file_col not in columns]
    extra = [c for c in columns if c not in wanted.values()]
    if missing:
        instead = f" (the file has {', '.join(map(repr, extra))} instead)" if extra else ""
        raise _rejected(
            f"{where} line 1: missing column {', '.join(missing)}{instead}; expected columns "
            f"{list(wanted.values())} (map your own names under sources.{source_name}.columns)",
            line=1, column=next(file_col for file_col in wanted.values() if file_col not in columns),
        )
    if extra and source.extra_columns == "fail":
        raise _rejected(
            f"{where} line 1: unexpected column {', '.join(map(repr, extra))} "
            f"(set sources.{source_name}.extra_columns: ignore to skip extra columns)",
            line=1, column=extra[0],
        )
    return wanted


def _select_sql(path: Path, fmt: str, source: Source, file_columns: list[str]) -> tuple[str, list]:
    if fmt == "parquet":
        return "SELECT *, file_row_number + 1 AS __line FROM read_parquet(?, file_row_number = true)", [str(path)]
    columns = "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in file_columns) + "}"
    sql = (
        "SELECT *, row_number() OVER () AS __row FROM read_csv(?, header = true, auto_detect = false, "
        f"delim = ?, quote = '\"', escape = '\"', columns = {columns}, store_rejects = true)"
    )
    return sql, [str(path), source.delimiter]


def read_into_raw(
    con: duckdb.DuckDBPyConnection, config: Config, source_name: str, file: SourceFile, run_id: str
) -> tuple[int, list[str]]:
    """Replace ``file``'s rows in ``raw.<source>`` within the caller's
    transaction. Returns the rows loaded and one message per rejected line."""
    source = source_config(config, source_name)
    fmt = source.file_format(file.path)
    file_columns = _file_columns(file.path, fmt, source, con)
    mapping = _mapped_columns(file.path, file_columns, source_name, source)
    select, params = _select_sql(file.path, fmt, source, file_columns)
    if fmt == "csv":
        con.execute("DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __read AS {select}", params)
    where = display_path(file.path)
    problems, reject_lines = [], []
    if fmt == "csv":
        rejects = con.execute(
            "SELECT line, column_name, error_type, csv_line, error_message FROM reject_errors ORDER BY line"
        ).fetchall()
        for line, column, error_type, csv_line, message in rejects:
            reason = _reject_reason(error_type, message)
            problems.append(f"{where} line {line}" + (f" column {column}" if column else "") + f": {reason}")
            reject_lines.append(line)
            con.execute(
                "INSERT INTO quarantine (run_id, day, source, source_file, content_hash, line, column_name, "
                "value, reason, record, quarantined_at) VALUES (?, NULL, ?, ?, ?, ?, ?, NULL, ?, ?, now())",
                [run_id, source_name, str(file.path), file.content_hash, line, column, reason, csv_line],
            )
        # Accepted rows keep their own line: the header is line 1 and rejected lines are skipped.
        con.execute("CREATE OR REPLACE TEMP TABLE __rejected (line BIGINT)")
        if reject_lines:
            con.executemany("INSERT INTO __rejected VALUES (?)", [[n] for n in reject_lines])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE __lines AS "
            "SELECT row_number() OVER (ORDER BY line) AS __row, line AS __line FROM ("
            "  SELECT range AS line FROM range(2, (SELECT count(*) FROM __read) + (SELECT count(*) FROM __rejected) + 2)"
            "  WHERE range NOT IN (SELECT line FROM __rejected))"
        )
        line_expr, join = "l.__line", "JOIN __lines l USING (__row)"
    else:
        line_expr, join = "r.__line", ""
    canonical = ", ".join(f'CAST(r."{file_col}" AS VARCHAR) AS {name}' for name, file_col in mapping.items())
    con.execute(f"DELETE FROM raw.{source_name} WHERE source_file = ?", [str(file.path)])
    con.execute(
        f"INSERT INTO raw.{source_name} BY NAME SELECT {canonical}, ? AS source_file, ? AS content_hash, "
        f"{line_expr} AS line, now() AS ingested_at FROM __read r {join}",
        [str(file.path), file.content_hash],
    )
    loaded = con.execute("SELECT count(*) FROM __read").fetchone()[0]
    if loaded == 0 and not problems:
        raise _rejected(f"{where}: has a header but no rows (expected at least one row)")
    return loaded, problems


def _reject_reason(error_type: str, message: str) -> str:
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


def ingest_file(con: duckdb.DuckDBPyConnection, config: Config, file: SourceFile, run_id: str) -> tuple[bool, list[str]]:
    """Load one file unless this content is loaded already. Returns whether it
    was read, and the problems recorded for it (now or when it was read)."""
    previous = con.execute(
        "SELECT content_hash, error FROM raw.files WHERE source = ? AND path = ?",
        [file.source, str(file.path)],
    ).fetchone()
    if previous and previous[0] == file.content_hash:
        return False, _recorded_problems(con, file, previous[1])
    size = file.path.stat().st_size
    con.execute("BEGIN")
    try:
        try:
            rows, problems = read_into_raw(con, config, file.source, file, run_id)
            error = None
        except InputError as exc:
            con.execute(f"DELETE FROM raw.{file.source} WHERE source_file = ?", [str(file.path)])
            rows, problems, error = 0, [], str(exc)
            _quarantine_file(con, file, run_id, exc)
        con.execute("DELETE FROM raw.files WHERE source = ? AND path = ?", [file.source, str(file.path)])
        con.execute(
            "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, now())",
            [file.source, str(file.path), file.content_hash, size, rows, len(problems), error],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return True, ([error] if error else problems)


def _quarantine_file(con: duckdb.DuckDBPyConnection, file: SourceFile, run_id: str, exc: InputError) -> None:
    """Set a whole file aside: one ``quarantine`` row with the reason (its rows stay in the file)."""
    with open(file.path, "rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace").rstrip("\r\n") or None
    con.execute(
        "INSERT INTO quarantine (run_id, day, source, source_file, content_hash, line, column_name, value, reason, "
        "record, quarantined_at) VALUES (?, NULL, ?, ?, ?, ?, ?, NULL, ?, ?, now())",
        [run_id, file.source, str(file.path), file.content_hash, getattr(exc, "line", None),
         getattr(exc, "column", None), f"whole file rejected: {exc}", header],
    )


def _recorded_problems(con: duckdb.DuckDBPyConnection, file: SourceFile, error: str | None) -> list[str]:
    if error:
        return [error]
    where = display_path(file.path)
    rows = con.execute(
        "SELECT line, column_name, reason FROM quarantine WHERE source_file = ? AND content_hash = ? "
        "AND day IS NULL ORDER BY line",
        [str(file.path), file.content_hash],
    ).fetchall()
    return [f"{where} line {line}" + (f" column {col}" if col else "") + f": {reason}" for line, col, reason in rows]


def list_source_files(config: Config, source: str, day: date) -> list[SourceFile]:
    paths = source_paths(config, source, day)
    if not paths:
        pattern = source_config(config, source).path.replace("{date}", day.isoformat())
        raise SourceNotFound(
            f"no {source} file for {day}: nothing matches sources.{source}.path = "
            f"{display_path(config.resolve(pattern))}"
        )
    return _distinct_content([SourceFile(source, path, content_hash(path)) for path in paths])


def _distinct_content(files: list[SourceFile]) -> list[SourceFile]:
    """One file per content: a file delivered twice under two names counts once (the first name)."""
    seen: dict[str, SourceFile] = {}
    for file in files:
        seen.setdefault(file.content_hash, file)
    return list(seen.values())

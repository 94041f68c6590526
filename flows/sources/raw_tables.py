"""Small hourly sources kept as text: source files → ``raw.<feed>``, by content hash.

A file is read once per content: the same file again is skipped, a file whose
content changed replaces its earlier rows. Every value is kept as text with
the file, line and hash it came from; typing happens in ``staging``. Lines
the reader cannot parse (ragged, bad quoting, not UTF-8) go to
``quarantine``; so does a whole file that cannot be read, with the reason.
Each file read is recorded in ``raw.files``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from flows.sources.base import FEEDS, ONE_OF, Problem
from flows.sources.files import SourceFile, display_path
from flows.sources.mapping import checked_mapping, rejected, text_sql
from flows.sources.readers import reader_for
from flows.warehouse import RAW_FEEDS, QuarantineRow, quarantine
from openbooks.errors import InputError

__all__ = ["RAW_FEEDS", "file_mapping", "ingest_file", "read_into_raw", "record_file", "recorded_problems"]


def file_mapping(con, path: Path, name: str, source, feed: str) -> dict:
    """canonical column → spec for one file, its columns checked."""
    columns = reader_for(source, path).columns(path, source, con)
    return checked_mapping(path, columns, name, source, FEEDS[feed], one_of=ONE_OF.get(feed, ()))


def read_into_raw(con: duckdb.DuckDBPyConnection, source, feed: str, file: SourceFile) -> tuple[int, list[Problem]]:
    """Replace ``file``'s rows in ``raw.<feed>`` within the caller's
    transaction. Returns the rows loaded and one problem per rejected line."""
    reader = reader_for(source, file.path)
    file_columns = reader.columns(file.path, source, con)
    mapping = checked_mapping(file.path, file_columns, file.source, source, FEEDS[feed],
                              one_of=ONE_OF.get(feed, ()))
    problems = [Problem(file.source, "", file=str(file.path), line=p.line, column=p.column, record=p.record,
                        reason=p.reason, content_hash=file.content_hash, quarantined=True)
                for p in reader.load(con, file.path, source, file_columns)]
    canonical = ", ".join(f"{text_sql(spec, 'r.')} AS {name}" for name, spec in mapping.items())
    con.execute(f"DELETE FROM raw.{feed} WHERE source_file = ?", [str(file.path)])
    con.execute(
        f"INSERT INTO raw.{feed} BY NAME SELECT {canonical}, ? AS source_file, ? AS content_hash, "
        f"r.__line AS line, now() AS ingested_at FROM __read r",
        [str(file.path), file.content_hash],
    )
    loaded = con.execute("SELECT count(*) FROM __read").fetchone()[0]
    if loaded == 0 and not problems:
        raise rejected(f"{display_path(file.path)}: has a header but no rows (expected at least one row)")
    return loaded, problems


def ingest_file(con: duckdb.DuckDBPyConnection, source, feed: str, file: SourceFile, run_id: str) -> tuple[bool, list[Problem]]:
    """Load one file unless this content is loaded already. Returns whether it
    was read, and the problems recorded for it (now or when it was read)."""
    previous = con.execute(
        "SELECT content_hash, error FROM raw.files WHERE source = ? AND path = ?", [file.source, str(file.path)]
    ).fetchone()
    if previous and previous[0] == file.content_hash:
        return False, recorded_problems(con, file, previous[1])
    con.execute("BEGIN")
    try:
        rows, problems = read_into_raw(con, source, feed, file)
        quarantine(con, [QuarantineRow.of(p, run_id, None) for p in problems])
        record_file(con, file, rows=rows, rejected_rows=len(problems), error=None)
        con.execute("COMMIT")
        return True, problems
    except InputError as exc:
        con.execute("ROLLBACK")  # a failed read may have aborted the transaction
        error = exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    _set_aside(con, feed, file, run_id, error)
    return True, [whole_file_problem(file, str(error))]


def _set_aside(con: duckdb.DuckDBPyConnection, feed: str, file: SourceFile, run_id: str, exc: InputError) -> None:
    """A file that cannot be read: its earlier rows removed, one ``quarantine``
    row with the reason (its rows stay in the file), recorded with the error."""
    with open(file.path, "rb") as handle:
        header = handle.readline().decode("utf-8", errors="replace").rstrip("\r\n") or None
    con.execute("BEGIN")
    try:
        con.execute(f"DELETE FROM raw.{feed} WHERE source_file = ?", [str(file.path)])
        quarantine(con, [QuarantineRow(
            run_id, None, file.source, f"whole file rejected: {exc}", str(file.path), file.content_hash,
            getattr(exc, "line", None), getattr(exc, "column", None), None, header,
        )])
        record_file(con, file, rows=0, rejected_rows=0, error=str(exc))
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def whole_file_problem(file: SourceFile, error: str) -> Problem:
    """A whole-file error as a problem (its message is the error, already naming the file)."""
    return Problem(file.source, "", reason=error, quarantined=True, content_hash=file.content_hash, text=error)


def record_file(con: duckdb.DuckDBPyConnection, file: SourceFile, *, rows: int | None, rejected_rows: int,
                error: str | None) -> None:
    """``raw.files``: the file's path, content hash, size, rows, rejected rows and error."""
    con.execute("DELETE FROM raw.files WHERE source = ? AND path = ?", [file.source, str(file.path)])
    con.execute(
        "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, ?, now())",
        [file.source, str(file.path), file.content_hash, file.path.stat().st_size, rows, rejected_rows, error],
    )


def recorded_problems(con: duckdb.DuckDBPyConnection, file: SourceFile, error: str | None) -> list[Problem]:
    if error:
        return [whole_file_problem(file, error)]
    rows = con.execute(
        "SELECT line, column_name, reason FROM quarantine WHERE source_file = ? AND content_hash = ? "
        "AND day IS NULL ORDER BY line",
        [str(file.path), file.content_hash],
    ).fetchall()
    return [Problem(file.source, "", file=str(file.path), line=line, column=col, reason=reason, quarantined=True)
            for line, col, reason in rows]

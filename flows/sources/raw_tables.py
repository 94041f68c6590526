"""Small hourly sources kept as text: source files → ``raw.<feed>``, by content hash.

A file is read once per content: the same file again is skipped, a file whose
content changed replaces its earlier rows. Every value is kept as text with
the file, line and hash it came from; typing happens in ``staging``. Lines
the reader cannot parse (ragged, bad quoting, not UTF-8) go to
``quarantine``; so does a whole file that cannot be read, with the reason.
Each file read is recorded in ``raw.files``.

``ingest_files`` does the same for many files (a range of days): what is
loaded already is looked up at once, and new files of the same columns are
read in one scan and loaded in one transaction; a file that is not clean
(a rejected line, no rows, unreadable) is loaded alone, as ``ingest_file``
loads it, to say what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows.sources.base import FEEDS, ONE_OF, Problem
from openbooks.flows.sources.files import SourceFile, display_path
from openbooks.flows.sources.mapping import checked_mapping, rejected, text_sql
from openbooks.flows.sources.readers import reader_for
from openbooks.flows.store.warehouse import RAW_FEEDS, QuarantineRow, quarantine, registered, transaction
from openbooks.errors import InputError

__all__ = ["RAW_FEEDS", "file_mapping", "ingest_file", "ingest_files", "read_into_raw", "record_file",
           "record_files", "recorded_problems"]


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


def ingest_files(con: duckdb.DuckDBPyConnection, source, feed: str, files: Sequence[SourceFile],
                 run_ids: Sequence[str]) -> list[tuple[bool, list[Problem]]]:
    """``ingest_file`` for each of ``files`` (``run_ids``: the run each is read for), in as few scans and
    transactions as their formats and columns allow; the same answers, in the same order."""
    known = _recorded(con, files)
    answers: dict[int, tuple[bool, list[Problem]]] = {}
    fresh = []
    for index, file in enumerate(files):
        previous = known.get((file.source, str(file.path)))
        if previous is not None and previous[0] == file.content_hash:
            answers[index] = (False, recorded_problems(con, file, previous[1]) if previous[2] else [])
        else:
            fresh.append(index)
    for columns, mapping, group in _same_columns(con, source, feed, files, fresh):
        if len(group) > 1 and _load_together(con, source, feed, [files[i] for i in group], columns, mapping):
            answers.update({i: (True, []) for i in group})
            continue
        for i in group:
            answers[i] = ingest_file(con, source, feed, files[i], run_ids[i])
    return [answers[i] for i in range(len(files))]


def _recorded(con: duckdb.DuckDBPyConnection, files: Sequence[SourceFile]) -> dict[tuple[str, str], tuple]:
    """(source, path) → (content hash, error, whether anything of it is in quarantine) as ``raw.files`` has it."""
    if not files:
        return {}
    listed = pl.DataFrame({"source": [f.source for f in files], "path": [str(f.path) for f in files]})
    with registered(con, "__listed", listed):
        rows = con.execute(
            "SELECT f.source, f.path, f.content_hash, f.error, "
            "EXISTS (SELECT 1 FROM quarantine q WHERE q.source_file = f.path AND q.content_hash = f.content_hash "
            "AND q.day IS NULL) FROM raw.files f JOIN __listed l USING (source, path)"
        ).fetchall()
    return {(source, path): (digest, error, bool(error) or flagged) for source, path, digest, error, flagged in rows}


def _same_columns(con, source, feed: str, files: Sequence[SourceFile],
                  indexes: list[int]) -> list[tuple[list[str] | None, dict | None, list[int]]]:
    """``indexes`` of ``files`` grouped by format and columns, in order, with
    the group's columns and mapping (a file whose columns cannot be read or
    mapped, or whose format reads files one by one, is a group of its own,
    for ``ingest_file`` to load or report)."""
    groups: dict[tuple, tuple[list[str] | None, dict | None, list[int]]] = {}
    for i in indexes:
        path = files[i].path
        reader = reader_for(source, path)
        try:
            columns = reader.columns(path, source, con)
            mapping = checked_mapping(path, columns, files[i].source, source, FEEDS[feed],
                                      one_of=ONE_OF.get(feed, ()))
        except InputError:
            groups[("alone", i)] = (None, None, [i])
            continue
        key = (reader.name, tuple(columns)) if hasattr(reader, "load_many") else ("alone", i)
        groups.setdefault(key, (columns, mapping, []))[2].append(i)
    return list(groups.values())


def _load_together(con: duckdb.DuckDBPyConnection, source, feed: str, files: list[SourceFile], columns: list[str],
                   mapping: dict) -> bool:
    """Load ``files`` (one format, the same ``columns``, read by ``mapping``)
    in one scan and one transaction, as ``read_into_raw`` loads each; False,
    having loaded nothing, unless every line of every file is read and every
    file has rows."""
    if not reader_for(source, files[0].path).load_many(con, [f.path for f in files], source, columns):
        return False
    counts = dict(con.execute("SELECT __file, count(*) FROM __read GROUP BY __file").fetchall())
    if any(counts.get(str(f.path), 0) == 0 for f in files):
        return False
    canonical = ", ".join(f"{text_sql(spec, 'r.')} AS {name}" for name, spec in mapping.items())
    loaded = pl.DataFrame({"source_file": [str(f.path) for f in files], "content_hash": [f.content_hash for f in files]})
    with registered(con, "__loaded", loaded), transaction(con):
        con.execute(f"DELETE FROM raw.{feed} WHERE source_file IN (SELECT source_file FROM __loaded)")
        con.execute(
            f"INSERT INTO raw.{feed} BY NAME SELECT {canonical}, r.__file AS source_file, l.content_hash, "
            f"r.__line AS line, now() AS ingested_at FROM __read r JOIN __loaded l ON l.source_file = r.__file"
        )
        record_files(con, files, [counts[str(f.path)] for f in files])
    return True


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
    record_files(con, [file], [rows], rejected_rows=[rejected_rows], errors=[error])


def record_files(con: duckdb.DuckDBPyConnection, files: Sequence[SourceFile], rows: Sequence[int | None], *,
                 rejected_rows: Sequence[int] | None = None, errors: Sequence[str | None] | None = None) -> None:
    """``record_file`` for each of ``files`` in two statements (by default none of their lines
    rejected and no error)."""
    recorded = pl.DataFrame({
        "source": [f.source for f in files], "path": [str(f.path) for f in files],
        "content_hash": [f.content_hash for f in files], "size_bytes": [f.path.stat().st_size for f in files],
        "rows": list(rows), "rejected_rows": list(rejected_rows or [0] * len(files)),
        "error": list(errors or [None] * len(files)),
    }, schema={"source": pl.String, "path": pl.String, "content_hash": pl.String, "size_bytes": pl.Int64,
               "rows": pl.Int64, "rejected_rows": pl.Int64, "error": pl.String})
    with registered(con, "__recorded", recorded):
        con.execute("DELETE FROM raw.files WHERE (source, path) IN (SELECT (source, path) FROM __recorded)")
        con.execute("INSERT INTO raw.files BY NAME SELECT *, now() AS ingested_at FROM __recorded")


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

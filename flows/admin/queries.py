"""Read-only SQL against the warehouse, for ``openbooks query``.

Each query runs on a read-only connection locked down by ``query_guard``.
Saved queries are ``queries/<name>.sql`` next to the config file
(``configs/queries/`` for the shipped config). Results written to a file go
to a temporary file beside it first, then are renamed over it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows.admin.query_guard import lock_down, query_failure, reading_statements, refuse_protected_output
from openbooks.flows.store.warehouse import session
from openbooks.config import Config
from openbooks.errors import OpenbooksError


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]  # DuckDB type of each column, e.g. DOUBLE, TIMESTAMP WITH TIME ZONE
    rows: list[tuple]


@contextmanager
def locked_session(config: Config, readable: list[Path] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only warehouse connection with external access off and its configuration locked."""
    for directory in readable:
        if not directory.is_dir():
            raise OpenbooksError(f"--allow-file-reads {directory}: not a directory")
    with session(config, read_only=True) as con:
        lock_down(con, list(readable))
        yield con


def statements_run(cursor: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Run every statement of ``sql`` but the last on ``cursor``; the last one's text."""
    *leading, last = reading_statements(sql)
    for statement in leading:
        cursor.execute(statement.query)
    return last.query


def interruptible(con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], object]) -> object:
    """``work(cursor)`` on a cursor of ``con`` and a thread of their own
    while this one waits: Ctrl-C (or SIGTERM, raised as ``KeyboardInterrupt``
    by the command line) interrupts the DuckDB query at once
    (``interrupt()``) instead of waiting for DuckDB to look at Python's
    signals, and the query's read lock is let go. A bad query is DuckDB's message."""
    cursor = con.cursor()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = work(cursor)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            # Without its frames: they would keep the cursor's interrupted call open (and the cursor "busy").
            outcome["error"] = exc.with_traceback(None)

    worker = threading.Thread(target=run, name="openbooks-query", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.05)
    except KeyboardInterrupt:
        while worker.is_alive():  # a signal may land between the query's statements: interrupt until it ends
            try:
                cursor.interrupt()
            except duckdb.Error:
                pass  # the cursor refused this instant (busy handing over): tried again
            worker.join(0.05)
        outcome.clear()
        raise
    finally:
        if not worker.is_alive():
            try:
                cursor.close()
            except duckdb.Error:
                pass  # closed with its connection
    if isinstance(outcome.get("error"), duckdb.Error):
        raise OpenbooksError(query_failure(outcome["error"]))
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def run_query(config: Config, sql: str, readable: list[Path] = ()) -> QueryResult:
    """Column names, types and rows of ``sql``; a bad query is DuckDB's message."""
    reading_statements(sql)  # refused before anything runs

    def answer(cursor: duckdb.DuckDBPyConnection) -> QueryResult:
        cursor.execute(statements_run(cursor, sql))
        if cursor.description is None:
            return QueryResult([], [], [])
        rows = cursor.fetchall()
        return QueryResult([d[0] for d in cursor.description], [str(d[1]) for d in cursor.description], rows)

    with locked_session(config, readable) as con:
        return interruptible(con, answer)


def query_frame(config: Config, sql: str, readable: list[Path] = ()) -> pl.DataFrame:
    """The result of ``sql`` as a Polars frame (for Parquet output)."""
    reading_statements(sql)

    def frame(cursor: duckdb.DuckDBPyConnection) -> pl.DataFrame:
        relation = cursor.sql(statements_run(cursor, sql))
        if relation is None:
            raise OpenbooksError("query failed: it returns no rows to write (expected a SELECT)")
        return relation.pl()

    with locked_session(config, readable) as con:
        return interruptible(con, frame)


def write_output(config: Config, output: Path, write: Callable[[Path], None]) -> None:
    """Call ``write`` on a temporary file beside ``output``, then rename it
    over ``output``: readers see the old file or the whole new one. Refuses
    the paths the project uses (see ``query_guard.protected_paths``)."""
    refuse_protected_output(config, output)
    directory = output.absolute().parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
    os.close(fd)
    temporary = Path(name)
    try:
        write(temporary)
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OpenbooksError(f"--output {output}: cannot write ({exc.strerror or exc})")
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def saved_queries(config: Config) -> dict[str, Path]:
    directory = config.file.parent / "queries"
    return {p.stem: p for p in sorted(directory.glob("*.sql"))}


def saved_query(config: Config, name: str) -> str:
    """The SQL of saved query ``name``; an unknown name lists the known ones."""
    known = saved_queries(config)
    if name not in known:
        where = config.file.parent / "queries"
        raise OpenbooksError(
            f"--saved {name!r}: no {where / (name + '.sql')}; saved queries: {', '.join(known) or 'none'}"
        )
    return known[name].read_text(encoding="utf-8")

"""Opening the DuckDB warehouse: briefly, with clear errors, and one run per day.

DuckDB allows one writing process per file and refuses any other at once.
openbooks holds a connection only for the statement at hand and waits up to
``warehouse.lock_timeout_seconds`` for one that is busy. A day being run holds
a per-day lock file, so two runs of the same day never interleave. Writing
sessions take turns, across threads and processes (a backfill's workers), on
``<warehouse>.writer.lock``: they queue there instead of racing for DuckDB's
own file lock.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows.store.schema import ALL_TABLES, Table
from openbooks.config.sources import FEEDS
from openbooks.config import Config
from openbooks.errors import DayLocked, WarehouseBusy, WarehouseError, cannot_write

RAW_FEEDS = ("node_log", "token_counts")  # the feeds whose rows are kept as text in raw.<feed>
_LOCK_MARKERS = ("Could not set lock", "Conflicting lock")
_DISK_MARKERS = {"No space left on device": 28, "Read-only file system": 30, "Permission denied": 13}


def disk_errno(message: str) -> int | None:
    """The OS error number a DuckDB message reports in words (disk full,
    read-only, permission denied), or None."""
    return next((number for marker, number in _DISK_MARKERS.items() if marker in message), None)


@contextmanager
def writing(path: Path, *, os_errors: bool = True) -> Iterator[None]:
    """OS errors (unless ``os_errors`` is false) and DuckDB errors that say
    the disk is full or read-only become one line naming ``path`` and what to do."""
    try:
        yield
    except OSError as exc:
        if not os_errors:
            raise
        raise cannot_write(path, exc.errno, "warehouse.path", exc.strerror or "") from exc
    except duckdb.Error as exc:
        number = disk_errno(str(exc))
        if number is None:
            raise
        raise cannot_write(path, number, "warehouse.path") from exc


class _Writer:
    """One writer at a time per warehouse: a re-entrant lock among the threads
    of a process, and while a thread holds it, an OS file lock among processes
    (days of a backfill run on threads or in worker processes: their reading,
    checking and computing overlap, their writes take turns)."""

    def __init__(self, warehouse: Path):
        self.warehouse = warehouse
        self.path = warehouse.with_name(f"{warehouse.name}.writer.lock")
        self.threads = threading.RLock()
        self.depth = 0  # nesting of the thread holding ``threads``
        self.handle = None

    @contextmanager
    def held(self, timeout: float) -> Iterator[None]:
        with self.threads:
            if self.depth == 0:
                self.handle = _flock_waiting(self.path, timeout)
                if self.handle is None:
                    raise _busy(self.warehouse)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0:
                    self.handle.close()  # closing the file releases the lock
                    self.handle = None


_WRITERS: dict[Path, _Writer] = {}
_WRITERS_GUARD = threading.Lock()


def _writer_lock(path: Path) -> _Writer:
    with _WRITERS_GUARD:
        path = path.resolve()
        return _WRITERS.setdefault(path, _Writer(path))


def _flock_waiting(path: Path, timeout: float):
    """``path`` opened and exclusively locked, or None after ``timeout`` seconds."""
    with writing(path.parent):
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def raw_table(source: str) -> Table:
    """raw.<source>: every canonical column as text, plus where each row came from."""
    from openbooks.flows.store.schema import Column

    columns = [Column(name, "VARCHAR", "as read from the file") for name in FEEDS[source]]
    meta = [
        Column("source_file", "VARCHAR", "file the row came from", True),
        Column("content_hash", "VARCHAR", "XXH3-128 of the file's content", True),
        Column("line", "BIGINT", "line in a CSV (header = 1) or row in Parquet", True),
        Column("ingested_at", "TIMESTAMPTZ", "when", True),
    ]
    return Table(source, f"Raw {source} rows as read.", (*columns, *meta), partition=None, schema="raw")


def _settings(config: Config | None) -> dict[str, object]:
    # No TimeZone setting: it needs DuckDB's ICU extension, which may not be
    # installed and must not be downloaded. Without ICU, TIMESTAMPTZ is UTC.
    # A table name never means a Python variable of the caller's (DuckDB's
    # replacement scans): frames are registered by name where they are used.
    settings: dict[str, object] = {"python_enable_replacements": False}
    if config is not None and config.warehouse.memory_limit:
        settings["memory_limit"] = config.warehouse.memory_limit
    if config is not None and config.warehouse.temp_directory:
        settings["temp_directory"] = str(config.resolve(config.warehouse.temp_directory))
    return settings


def _open(path: Path, read_only: bool, config: Config | None) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only, config=_settings(config))


@contextmanager
def scratch(config: Config) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the warehouse's memory limit and temp directory,
    for heavy reads of source files: it spills to disk past the limit and holds
    no lock on the warehouse meanwhile."""
    con = duckdb.connect(":memory:", config=_settings(config))
    try:
        yield con
    finally:
        con.close()


def connect(
    path: Path, *, read_only: bool = False, timeout: float = 30.0, config: Config | None = None
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting up to ``timeout`` seconds while another
    process holds it. Never creates a read-only warehouse, never deletes one."""
    if read_only and not path.exists():
        raise WarehouseError(f"warehouse {path} does not exist yet: run a day first (openbooks run --date D)")
    if not read_only:
        with writing(path.parent):
            path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            return _open(path, read_only, config)
        except duckdb.IOException as exc:
            message = str(exc)
            if not read_only and disk_errno(message) is not None:
                raise cannot_write(path, disk_errno(message), "warehouse.path") from exc
            if not any(marker in message for marker in _LOCK_MARKERS):
                raise WarehouseError(f"warehouse {path} cannot be opened: {_first_line(message)} (file left untouched)")
            if time.monotonic() >= deadline:
                raise _busy(path)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse {path} cannot be opened: {_first_line(str(exc))} (file left untouched)")


def _busy(path: Path) -> WarehouseBusy:
    return WarehouseBusy(f"warehouse {path} is busy: another openbooks process is writing to it, or an "
                         "`openbooks query` is still reading it; try again shortly, or stop that query")


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> pl.DataFrame:
    """The result of a query as a Polars frame, timestamps in UTC."""
    result = con.sql(sql, params=params or None).pl()
    return result.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in result.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone
    )


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else message


@dataclass(frozen=True)
class _Held:
    """The connection ``holding`` keeps open, its file, and the thread that opened it."""
    con: duckdb.DuckDBPyConnection
    path: Path
    thread: int


# Carried by ``contextvars``: a thread started with a copy of the holder's
# context (a source read under its deadline) shares the held turn.
_held: ContextVar[_Held | None] = ContextVar("openbooks_held_warehouse", default=None)


@contextmanager
def holding(config: Config) -> Iterator[None]:
    """Within: every ``session`` of this thread on the configured warehouse is
    one writing connection, opened once, with the writer's turn held
    throughout. A pass over a range's days opens the warehouse once instead
    of a few times per day; other processes get their turn between passes.
    A thread run in a copy of this context (``contextvars.copy_context``)
    gets a cursor of its own on the same connection, as the writer's turn
    is this thread's and would never come to it."""
    if _held.get() is not None:
        yield  # already held: the outer holder closes it
        return
    with session(config) as con:
        token = _held.set(_Held(con, config.warehouse_path, threading.get_ident()))
        try:
            yield
        finally:
            _held.reset(token)


@contextmanager
def _held_session(held: _Held) -> Iterator[duckdb.DuckDBPyConnection]:
    """The held connection as a session (a cursor of it on another thread):
    left open; a transaction left open by an error rolled back."""
    mine = held.thread == threading.get_ident()
    con = held.con if mine else held.con.cursor()
    try:
        yield con
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # no transaction was open
        raise
    finally:
        if not mine:
            con.close()


@contextmanager
def session(config: Config, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the configured warehouse, closed on exit. A writing
    session waits (up to ``lock_timeout_seconds``) for any other writing
    session of this or another openbooks process; a read-only one does not.
    Inside ``holding`` it is the held connection."""
    held = _held.get()
    if held is not None and held.path == config.warehouse_path:
        with _held_session(held) as con:
            yield con
        return
    timeout = config.warehouse.lock_timeout_seconds
    turn = nullcontext() if read_only else _writer_lock(config.warehouse_path).held(timeout)
    with turn, writing(config.warehouse_path, os_errors=False):
        con = connect(config.warehouse_path, read_only=read_only, timeout=timeout, config=config)
        try:
            yield con
        finally:
            try:
                con.close()
            except duckdb.ResourceInUseException:
                if not read_only:
                    raise
                # A read-only query interrupted by Ctrl-C may still hold it: let go when the process ends.


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    con.execute("BEGIN")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, rows: pl.DataFrame) -> Iterator[None]:
    """``rows`` readable as the view ``name`` within the block (a list of days,
    runs or files a statement works on, instead of a statement per item)."""
    con.complete()  # a query's rows left unread (``fetchone``) would keep the connection from registering
    con.register(name, rows.to_arrow())
    try:
        yield
    finally:
        try:
            con.unregister(name)
        except duckdb.Error:
            pass  # a failed statement aborted the transaction: the error is that statement's; the name is reused


@dataclass(frozen=True)
class QuarantineRow:
    """One row set aside: where it came from, why, and the record as read."""

    run_id: str
    day: date | None  # None: found when the file was read, before any day
    source: str
    reason: str
    source_file: str | None = None
    content_hash: str | None = None
    line: int | None = None
    column_name: str | None = None
    value: str | None = None
    record: str | None = None

    @classmethod
    def of(cls, problem, run_id: str, day: date | None) -> QuarantineRow:
        """The quarantine row of a ``flows.sources.base.Problem``."""
        # A series read from a server has no file: the source stands in for it (source_file is NOT NULL).
        where = problem.file or f"sources.{problem.source}"
        return cls(run_id, day, problem.source, problem.why, where, problem.content_hash, problem.line,
                   problem.column, problem.value, problem.record)


_QUARANTINE_COLUMNS = ("run_id", "day", "source", "source_file", "content_hash", "line", "column_name", "value",
                       "reason", "record")


def quarantine(con: duckdb.DuckDBPyConnection, rows: Iterable[QuarantineRow]) -> int:
    """Keep ``rows`` in ``quarantine`` (the one writer of that table); returns how many."""
    values = [[getattr(row, c) for c in _QUARANTINE_COLUMNS] for row in rows]
    if values:
        con.executemany(
            f"INSERT INTO quarantine ({', '.join(_QUARANTINE_COLUMNS)}, quarantined_at) "
            f"VALUES ({', '.join('?' for _ in _QUARANTINE_COLUMNS)}, now())",
            values,
        )
    return len(values)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing schemas, tables and columns (never drops anything).
    What is there is read first, so only what is missing is created: a
    statement per table and column would cost most of a second a run; what
    is created is created in one transaction."""
    with transaction(con):
        _create_missing(con)


def _create_missing(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw; CREATE SCHEMA IF NOT EXISTS staging")
    present: dict[tuple[str, str], set[str]] = {}
    for schema, name, column in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database()"
    ).fetchall():
        present.setdefault((schema, name), set()).add(column)
    tables = [*ALL_TABLES, *(raw_table(s) for s in RAW_FEEDS)]
    for table in tables:
        schemas = [table.schema, "staging"] if table.partition else [table.schema]
        for schema in schemas:
            columns = present.get((schema, table.name))
            if columns is None:
                con.execute(table.ddl(schema=schema))  # every declared column
                continue
            for column in table.columns:
                if column.name not in columns:
                    con.execute(f"ALTER TABLE {schema}.{table.name} ADD COLUMN {column.name} {column.type}")


@contextmanager
def day_lock(config: Config, day: date) -> Iterator[None]:
    """Hold the lock for one business day of one warehouse, or refuse at once.

    The lock is an OS file lock: it is released when the process ends, even
    when killed, so a crashed run never blocks the next one."""
    warehouse = config.warehouse_path
    lock_path = warehouse.with_name(f"{warehouse.name}.{day.isoformat()}.lock")
    with writing(warehouse.parent):
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DayLocked(f"day {day} is already being run ({holder}); not started again")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


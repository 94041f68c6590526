"""Failed runs the warehouse could not take, kept beside it until it can.

A run that fails because the warehouse's disk is full cannot write its
failed row to ``run_log`` on that same disk. So before touching the
warehouse, a run makes sure ``<warehouse>.failed-runs`` exists: ``SLOTS``
slots of ``SLOT_BYTES`` each, written out in full while there is space (once;
the file is never removed). A run whose failed row cannot be written
overwrites a free slot in place, which needs no new disk blocks, with its run
id, day, times and one-line reason. Whatever next writes ``run_log`` (the
next run, ``openbooks status``, ``backfill --only-failed``) folds those
records in as failed rows and clears their slots.

The file is plain text: one JSON object per used slot, padded with spaces.
In-place overwrites need no new blocks on ext4, xfs and tmpfs; on
copy-on-write file systems (btrfs, ZFS) they may, and the record is then lost
like the row (the run's error still said why).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from openbooks.flows.store.runlog import RunRecord, finish_run, start_run
from openbooks.flows.store.warehouse import ensure_schema, session
from openbooks.config import Config
from openbooks.errors import OpenbooksError, OutputError

SLOTS = 64
SLOT_BYTES = 1024
_FREE = b" " * (SLOT_BYTES - 1) + b"\n"


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    day: str  # YYYY-MM-DD
    started_at: str  # ISO 8601, UTC
    finished_at: str
    config_path: str
    config_hash: str
    reason: str

    @property
    def started(self) -> datetime:
        return datetime.fromisoformat(self.started_at)


def journal_path(warehouse: Path) -> Path:
    return warehouse.with_name(f"{warehouse.name}.failed-runs")


def reserve(config: Config) -> bool:
    """Make sure the warehouse's failed-runs file exists, written out in full
    (best effort: False when there is no room for it either)."""
    path = journal_path(config.warehouse_path)
    if path.exists():
        return True
    scratch = path.with_name(f"{path.name}.{os.getpid()}.new")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(scratch, "wb") as handle:
            handle.write(_FREE * SLOTS)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(scratch, path)  # never over one another process made meanwhile
    except FileExistsError:
        pass
    except OSError:
        return False
    finally:
        scratch.unlink(missing_ok=True)
    return True


def keep(config: Config, record: RunRecord, reason: str) -> bool:
    """``record`` failed with ``reason``, in a free slot overwritten in place
    (the oldest record's when none is free). False when there is no file."""
    entry = FailedRun(record.run_id, record.day.isoformat(), record.started_at.isoformat(),
                      datetime.now(UTC).isoformat(), record.config_path, record.config_hash, reason)
    try:
        with _locked(config) as handle:
            slots = _read(handle)
            free = [i for i, run in enumerate(slots) if run is None]
            index = free[0] if free else min(range(SLOTS), key=lambda i: slots[i].finished_at)
            _write(handle, index, encode(entry))
    except OSError:
        return False
    return True


def pending(config: Config) -> list[FailedRun]:
    """The failed runs kept in the file and not yet folded into ``run_log``."""
    try:
        with _locked(config) as handle:
            return [run for run in _read(handle) if run is not None]
    except OSError:
        return []


def fold(con: duckdb.DuckDBPyConnection, config: Config) -> list[FailedRun]:
    """Kept failed runs into ``run_log`` over ``con`` (a writing connection;
    run_log exists): a run left 'running' is closed as failed with its
    reason, a run with no row gets one. Their slots are cleared after."""
    try:
        with _locked(config) as handle:
            slots = _read(handle)
            runs = [(i, run) for i, run in enumerate(slots) if run is not None]
            if not runs:
                return []
            con.execute("BEGIN TRANSACTION")
            for _, run in runs:
                _fold_one(con, run)
            con.execute("COMMIT")
            for index, _ in runs:
                _write(handle, index, _FREE)
    except FileNotFoundError:
        return []
    return [run for _, run in runs]


def fold_pending(config: Config) -> list[FailedRun]:
    """``fold`` in a session of its own, when there is anything to fold and a
    warehouse to fold it into; best effort (nothing folded while the disk is
    still full or the warehouse busy)."""
    if not config.warehouse_path.exists() or not pending(config):
        return []
    try:
        with session(config) as con:
            ensure_schema(con)
            return fold(con, config)
    except (OpenbooksError, OSError, duckdb.Error):
        return []


def record_failed(config: Config, record: RunRecord, reason: str) -> None:
    """The run failed: its ``run_log`` row closed as failed with ``reason``
    or, when the warehouse's disk cannot take it (full), the record kept
    beside it. A warehouse that cannot be opened at all records nothing:
    the run's own error says why. Credentials in ``reason`` are redacted."""
    from openbooks.redact import redact

    reason = redact(reason)
    try:
        with session(config) as con:
            finish_run(con, record, "failed", reason)
            if con.execute("SELECT count(*) FROM run_log WHERE run_id = ?", [record.run_id]).fetchone()[0]:
                return
            start_run(con, record)  # it failed before its row was written
            finish_run(con, record, "failed", reason)
    except OutputError:
        keep(config, record, reason)
    except (OpenbooksError, duckdb.Error):
        pass


def encode(run: FailedRun) -> bytes:
    """One slot: the run as a JSON line padded with spaces; a reason too long
    for a slot is cut short."""
    entry = asdict(run)

    def encoded(reason: str) -> bytes:
        return json.dumps(entry | {"reason": reason}, ensure_ascii=True).encode()

    data = encoded(run.reason)
    if len(data) > SLOT_BYTES - 1:  # the longest start of the reason that fits, by halving
        short, long = 0, len(run.reason)
        while short < long:
            middle = (short + long + 1) // 2
            if len(encoded(run.reason[:middle] + "...")) <= SLOT_BYTES - 1:
                short = middle
            else:
                long = middle - 1
        data = encoded(run.reason[:short] + "...")
    return data.ljust(SLOT_BYTES - 1) + b"\n"


def decode(slot: bytes) -> FailedRun | None:
    text = slot.strip(b" \n\0")
    if not text:
        return None
    try:
        return FailedRun(**json.loads(text))
    except (ValueError, TypeError):
        return None  # a slot torn by a crash mid-write: nothing to recover


def _fold_one(con: duckdb.DuckDBPyConnection, run: FailedRun) -> None:
    con.execute("UPDATE run_log SET status = 'failed', finished_at = ?, error = ? "
                "WHERE run_id = ? AND status = 'running'", [run.finished_at, run.reason, run.run_id])
    con.execute(
        "INSERT INTO run_log (run_id, day, started_at, finished_at, status, config_path, config_hash, error) "
        "SELECT $id, $day, $started, $finished, 'failed', $path, $hash, $reason "
        "WHERE NOT EXISTS (SELECT 1 FROM run_log WHERE run_id = $id)",
        {"id": run.run_id, "day": date.fromisoformat(run.day), "started": run.started_at,
         "finished": run.finished_at, "path": run.config_path, "hash": run.config_hash, "reason": run.reason},
    )


@contextmanager
def _locked(config: Config) -> Iterator:
    """The failed-runs file, open for update (never truncated) and locked."""
    with open(journal_path(config.warehouse_path), "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield handle


def _read(handle) -> list[FailedRun | None]:
    handle.seek(0)
    data = handle.read(SLOTS * SLOT_BYTES)
    return [decode(data[i * SLOT_BYTES:(i + 1) * SLOT_BYTES]) for i in range(SLOTS)]


def _write(handle, index: int, slot: bytes) -> None:
    handle.seek(index * SLOT_BYTES)
    handle.write(slot)
    handle.flush()
    os.fsync(handle.fileno())

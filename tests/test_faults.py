"""Faults: a run killed mid-way, two runs of one day at once, a query while a
run writes, a warehouse file that is not a DuckDB database. Subprocesses run
the real ``openbooks`` command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date

import duckdb
import pytest

from openbooks.flows.daily import daily_books
from openbooks.flows.store.warehouse import day_lock, ensure_schema, session
from openbooks.errors import DayLocked, WarehouseError
from tests.books import edit_line, files_bytes, published, tables

DAY = date(2025, 2, 27)


def openbooks(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "openbooks.cli", *args], env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs,
    )


def _wait_for_running(config, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Poll run_log (briefly, read-only) until the subprocess's run has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            con = duckdb.connect(str(config.warehouse_path), read_only=True)
        except duckdb.Error:  # the run holds the warehouse this instant
            time.sleep(0.01)
            continue
        try:
            if con.execute("SELECT count(*) FROM run_log WHERE status = 'running'").fetchone()[0]:
                return
        finally:
            con.close()
        time.sleep(0.02)
    pytest.fail("the run never started")


def test_sigkill_mid_run_keeps_the_last_good_state_and_the_next_run_succeeds(project):
    inputs = project.copy_sample(days=["2025-02-27"])
    daily_books(DAY, str(project.config_path))
    config = project.config
    good, report = tables(config), files_bytes(config.report_dir)
    # New content, so a run that got as far as publishing would change the figures.
    edit_line(inputs / "token_counts" / "2025-02-27.csv", 4, lambda f: f[:5] + [str(int(f[5]) + 1_000_000)] + f[6:])

    # Its own process group: the kill takes the run and the Prefect server it started, as a killed job would.
    proc = openbooks("run", "--date", str(DAY), "--config", str(project.config_path), start_new_session=True)
    _wait_for_running(config, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    assert tables(config) == good
    assert files_bytes(config.report_dir) == report
    assert published(config, "SELECT status FROM run_log ORDER BY started_at") == [("published",), ("running",)]

    row = daily_books(DAY, str(project.config_path))
    assert row["theoretical_revenue_usd"] == pytest.approx(562_027.0 + 2.19, abs=1)
    runs = published(config, "SELECT status, error FROM run_log ORDER BY started_at")
    assert [status for status, _ in runs] == ["published", "failed", "published"]
    assert runs[1][1] == "interrupted: the process ended before the run finished"
    assert published(config, "SELECT count(*) FROM daily_economics") == [(1,)]


def test_a_second_run_of_the_same_day_refuses_with_a_clear_message(project):
    config = project.config
    with day_lock(config, DAY):
        proc = openbooks("run", "--date", str(DAY), "--config", str(project.config_path))
        _, stderr = proc.communicate(timeout=300)
        with pytest.raises(DayLocked, match=f"day {DAY} is already being run"):
            daily_books(DAY, str(project.config_path))
    assert proc.returncode == 1
    assert f"error: day {DAY} is already being run (pid {os.getpid()}); not started again" in stderr
    assert "Traceback" not in stderr
    assert not config.warehouse_path.exists()  # the refused runs wrote nothing


def test_a_query_while_the_warehouse_is_written_says_busy_or_waits(project):
    config = project.config
    with session(config) as con:
        ensure_schema(con)
    writer = duckdb.connect(str(config.warehouse_path))  # as a run does for each statement
    try:
        busy = openbooks("query", "SELECT count(*) AS runs FROM run_log", "--config", str(project.config_path),
                         env={"OPENBOOKS__WAREHOUSE__LOCK_TIMEOUT_SECONDS": "1"})
        _, stderr = busy.communicate(timeout=120)
        waiting = openbooks("query", "SELECT count(*) AS runs FROM run_log", "--format", "csv",
                            "--config", str(project.config_path))
        threading.Timer(2.0, writer.close).start()  # the run's statement ends
        stdout, waited_stderr = waiting.communicate(timeout=120)
    finally:
        writer.close()
    assert busy.returncode == 1
    assert stderr.startswith(f"error: warehouse {config.warehouse_path} is busy: another openbooks process is")
    assert "Traceback" not in stderr
    assert (waiting.returncode, stdout, waited_stderr) == (0, "runs\n0\n", "")


def test_a_warehouse_that_is_not_duckdb_stops_the_run_and_is_left_untouched(project):
    config = project.config
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    garbage = b"SQLite format 3\x00" + bytes(range(256)) * 64
    config.warehouse_path.write_bytes(garbage)

    with pytest.raises(WarehouseError) as info:
        daily_books(DAY, str(project.config_path))
    assert str(info.value).startswith(f"warehouse {config.warehouse_path} cannot be opened: ")
    assert str(info.value).endswith("(file left untouched)")
    assert config.warehouse_path.read_bytes() == garbage
    assert sorted(p.name for p in config.warehouse_path.parent.iterdir()) == [
        "warehouse.duckdb", f"warehouse.duckdb.{DAY}.lock", "warehouse.duckdb.writer.lock"
    ]
    assert files_bytes(config.report_dir) == {}

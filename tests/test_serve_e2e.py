"""`openbooks serve` for real: a background process with its own Prefect
server, an interval schedule that fires, a run that lands in run_log, a day
waiting for its files and the runs that come due meanwhile, and a clean stop
on SIGTERM that takes the server with it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openbooks.flows.runtime.prefect_server import stop_group
from openbooks.flows.serve import healthy
from openbooks.flows.store.warehouse import connect
from openbooks import sample
from openbooks.errors import OpenbooksError
from tests.conftest import SAMPLE

STARTUP_AND_FIRST_RUN_SECONDS = 600  # a busy machine may take minutes to start a server
STOP_SECONDS = 60


def _write_inputs(directory: Path) -> None:
    """Sample logs for the days around today, so whichever business day the
    scheduled run books has its files."""
    today = datetime.now(UTC).date()
    for offset in range(-3, 2):
        day = today + timedelta(days=offset)
        for name, frame in (("node_log", sample.node_log(day)), ("token_counts", sample.token_counts(day))):
            (directory / name).mkdir(parents=True, exist_ok=True)
            frame.write_csv(directory / name / f"{day.isoformat()}.csv")


def _published_runs(warehouse: Path) -> list[tuple]:
    try:
        con = connect(warehouse, read_only=True, timeout=5)
    except OpenbooksError:
        return []  # not created yet, or being written
    try:
        return con.execute("SELECT day, status, run_id FROM run_log WHERE status = 'published'").fetchall()
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return []
    finally:
        con.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state  # a zombie has exited


def test_serve_runs_the_day_on_schedule_and_stops_cleanly(project, tmp_path):
    inputs = tmp_path / "input"
    _write_inputs(inputs)
    project.write_config(
        {
            "sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
            "schedule": {"retries": 0},
        }
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "serve", "--config", str(project.config_path), "--interval", "10"],
            cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_AND_FIRST_RUN_SECONDS
        published = []
        while not published and time.monotonic() < deadline and process.poll() is None:
            time.sleep(2)
            published = _published_runs(project.config.warehouse_path)
        output = log.read_text()
        assert published, f"no published run within {STARTUP_AND_FIRST_RUN_SECONDS} s:\n{output[-3000:]}"
        match = re.search(r"Prefect server: (http://127\.0\.0\.1:\d+) \(pid (\d+)", output.replace("\n", " "))
        assert match, output
        url, server_pid = match.group(1), int(match.group(2))
        assert healthy(f"{url}/api")
        day, status, _ = published[0]
        assert status == "published" and day <= datetime.now(UTC).date()

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=STOP_SECONDS)
        assert not _alive(server_pid), "the local Prefect server outlived openbooks serve"
        assert not healthy(f"{url}/api", timeout=1)
        assert "stopping the local Prefect server" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # The server is in a process group of its own: a SIGKILLed serve leaves it behind.
        started = re.search(r"\(pid (\d+)", log.read_text().replace("\n", " "))
        if started and _alive(int(started.group(1))):
            stop_group(int(started.group(1)))


@pytest.mark.parametrize("interval", ["0", "-5"])
def test_serve_refuses_a_non_positive_interval(project, interval):
    from openbooks.flows.serve import schedule_for

    with pytest.raises(OpenbooksError, match="--interval"):
        schedule_for(project.config, interval=float(interval))


def _run_log(warehouse: Path) -> list[tuple]:
    try:
        con = connect(warehouse, read_only=True, timeout=5)
    except OpenbooksError:
        return []
    try:
        return con.execute("SELECT day, status, error FROM run_log ORDER BY started_at").fetchall()
    except Exception:  # noqa: BLE001 - the schema may not exist yet
        return []
    finally:
        con.close()


def _wait_for(check, process, log: Path, what: str):
    deadline = time.monotonic() + STARTUP_AND_FIRST_RUN_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {STARTUP_AND_FIRST_RUN_SECONDS} s:\n{log.read_text()[-3000:]}")


def test_serve_prints_each_run_books_a_given_day_and_records_a_run_cut_short(project, tmp_path):
    """``serve --day 2025-02-27`` on the bundled sample: each run printed with
    its figures; Ctrl-C during a run leaves it failed in run_log, not running."""
    project.write_config({"schedule": {"retries": 0}})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log, warehouse = tmp_path / "serve.log", project.config.warehouse_path
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "serve", "--config", str(project.config_path),
             "--interval", "5", "--day", "2025-02-27"],
            cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        line = "2025-02-27 published: GPU cost $87,072, theoretical revenue $562,027, cost profit margin 545%"
        _wait_for(lambda: line in log.read_text(), process, log, "published run printed")
        _wait_for(lambda: any(s == "running" for _, s, _ in _run_log(warehouse)), process, log, "second run")
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_SECONDS)
        runs = _run_log(warehouse)
        assert [s for _, s, _ in runs if s == "running"] == [], runs
        assert runs[-1][1] == "failed", runs
        assert f"2025-02-27 failed: {runs[-1][2].splitlines()[0]}" in log.read_text()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        started = re.search(r"\(pid (\d+)", log.read_text().replace("\n", " "))
        if started and _alive(int(started.group(1))):
            stop_group(int(started.group(1)))


def _flow_runs(api: str) -> list[dict]:
    """Every flow run on serve's own Prefect server (its REST API, as the UI reads it)."""
    request = urllib.request.Request(f"{api}/flow_runs/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.load(response)


def _overlapping(spans: list[tuple[str, str | None]]) -> list:
    """Pairs of (start, end) spans (ISO times; no end: still going) that overlap."""
    now = datetime.now(UTC)
    times = sorted((datetime.fromisoformat(a), datetime.fromisoformat(b) if b else now) for a, b in spans)
    return [(one, two) for one, two in zip(times, times[1:]) if two[0] < one[1]]


def test_serve_reports_a_day_waiting_for_its_files_and_never_stacks_a_second_run(project, tmp_path):
    """``serve --day 2025-02-27`` every 5 s before that day's files are there:
    the first run says at once that it is waiting, and retries; the runs that
    come due meanwhile are cancelled, and serve says so, never run beside it;
    once the files land, the waiting run publishes."""
    inputs = tmp_path / "input"
    for source in ("node_log", "token_counts"):
        (inputs / source).mkdir(parents=True)
    project.write_config({
        "sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
        "schedule": {"retries": 100, "retry_delay_seconds": 2},
    })
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_RUNNER_POLL_FREQUENCY="2")  # the runner looks for due runs every 2 s, not 10
    log, warehouse = tmp_path / "serve.log", project.config.warehouse_path
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "serve", "--config", str(project.config_path),
             "--interval", "5", "--day", "2025-02-27"],
            cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        waiting = "2025-02-27 waiting (retrying in 2 s): no node_log file for 2025-02-27: nothing matches"
        _wait_for(lambda: waiting in log.read_text(), process, log, "waiting line")
        _wait_for(lambda: "2025-02-27 cancelled: " in log.read_text(), process, log, "cancelled run")
        _wait_for(lambda: log.read_text().count(waiting) >= 2, process, log, "retry")  # still retrying
        api = re.search(r"Prefect server: (http://127\.0\.0\.1:\d+)", log.read_text()).group(1) + "/api"
        running = [r for r in _flow_runs(api) if r["state_type"] in ("RUNNING", "PENDING")]
        assert len(running) == 1, running
        assert "failed" not in log.read_text() and _run_log(warehouse) == []  # waiting, not yet run

        for source in ("node_log", "token_counts"):
            (inputs / source / "2025-02-27.csv").write_bytes((SAMPLE / source / "2025-02-27.csv").read_bytes())
        published = "2025-02-27 published: GPU cost $87,072, theoretical revenue $562,027, cost profit margin 545%"
        _wait_for(lambda: published in log.read_text(), process, log, "published run printed")

        output, runs = log.read_text(), _flow_runs(api)
        ran = [r for r in runs if r["run_count"]]
        cancelled = [r for r in runs if r["state_type"] == "CANCELLED" and not r["run_count"]]
        told = [line for line in output.splitlines() if line.startswith("2025-02-27 cancelled: ")]
        assert 1 <= len(told) <= len(cancelled), output  # each said once (the latest maybe not yet)
        assert all("was not started, the one before it was still going (one run at a time)" in t for t in told)
        assert _overlapping([(r["start_time"], r["end_time"]) for r in ran]) == []  # one at a time
        logged = [(str(s), str(f) if f else None) for s, f in _run_log_spans(warehouse)]
        assert _overlapping(logged) == []  # run_log: never two runs of the day at once
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        started = re.search(r"\(pid (\d+)", log.read_text().replace("\n", " "))
        if started and _alive(int(started.group(1))):
            stop_group(int(started.group(1)))


def _run_log_spans(warehouse: Path) -> list[tuple]:
    try:
        con = connect(warehouse, read_only=True, timeout=30)
    except OpenbooksError:
        return []
    try:
        return con.execute("SELECT started_at, finished_at FROM run_log ORDER BY started_at").fetchall()
    finally:
        con.close()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `openbooks serve &` in a script inherits


def test_serve_started_in_the_background_by_a_script_stops_on_sigint(project, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openbooks.cli", "serve", "--config", str(project.config_path), "--interval", "3600"],
            cwd=project.root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_ignore_sigint,
        )
    try:
        _wait_for(lambda: "next run" in log.read_text().lower(), process, log, "serving line")
        time.sleep(3)  # the runner under way
        server_pid = int(re.search(r"Prefect server: \S+ \(pid (\d+)", log.read_text()).group(1))
        began = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_SECONDS)
        output = log.read_text()
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output[-3000:]
        assert not _alive(server_pid), "the local Prefect server outlived openbooks serve"
        print(f"stopped {time.monotonic() - began:.1f} s after SIGINT, exit {process.returncode}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        started = re.search(r"\(pid (\d+)", log.read_text().replace("\n", " "))
        if started and _alive(int(started.group(1))):
            stop_group(int(started.group(1)))

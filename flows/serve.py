"""Scheduled daily runs on Prefect: ``openbooks serve`` and ``openbooks deploy``.

``serve`` is one long-running process: it serves the ``daily-books`` flow on
the config's schedule (cron and timezone), each run booking the business day
that just ended. Prefect only schedules on a real server, so when
``PREFECT_API_URL`` is not set, ``serve`` starts one of its own as a child
process (``prefect server start``: SQLite under ``PREFECT_HOME``, loopback
only, a free port), waits until it is healthy, and stops it on SIGTERM or
Ctrl-C. With ``PREFECT_API_URL`` set it uses that server. It prints each
run as it ends (day, state, figures or reason; ``flows.serve_watch``), each
try of a run waiting for its inputs (``flows.schedule``), and each run
cancelled because the one before it was still going (one at a time), and
when stopped records the runs it cut short as failed. ``--day D`` makes every
scheduled run book day D (to try it on the sample data); ``--day-offset N``
makes each book the day N days before the one that just ended (logs that land
late).

``deploy`` registers the daily flow (on the schedule) and the backfill flow
(run on demand) with a server and a process work pool, for a Prefect worker
to run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openbooks.flows.runtime.schedule import DAILY_DEPLOYMENT
from openbooks.flows.runtime.prefect_server import ApiServer, healthy, spawn_server, stop_group, wait_until_healthy
from openbooks.config import Config
from openbooks.errors import OpenbooksError

__all__ = ["healthy", "local_server", "run_deploy", "run_serve", "serve_daily"]

PROJECT = Path(__file__).resolve().parents[1]
BACKFILL_DEPLOYMENT = "backfill"
DAILY_ENTRYPOINT = "openbooks.flows.daily:daily_books"
BACKFILL_ENTRYPOINT = "openbooks.flows.range_books:backfill_range"
SERVER_STOP_SECONDS = 20.0
SERVE_STOP_SECONDS = 30.0


def prefect_home() -> Path:
    from prefect.settings import get_current_settings

    return Path(get_current_settings().home)


@contextmanager
def local_server(home: Path, *, startup_seconds: float | None = None) -> Iterator[ApiServer]:
    """A Prefect server as a child process on 127.0.0.1, stopped on exit.

    It runs in its own process group, so stopping it stops everything it
    started; its output goes to ``<PREFECT_HOME>/openbooks-server.log``. It
    may take as long as ``OPENBOOKS_API_STARTUP_SECONDS`` to answer."""
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "openbooks-server.log"
    process, url = spawn_server(home, log_path, detached=False)
    server = ApiServer(url, process.pid, log_path)
    try:
        wait_until_healthy(server, seconds=startup_seconds)
        yield server
    finally:
        stop_process_group(process)


def stop_process_group(process: subprocess.Popen, grace: float = SERVER_STOP_SECONDS) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds."""
    if process.poll() is None:
        stop_group(process.pid, grace)
    process.poll()  # reaped


def schedule_for(config: Config, *, cron: str | None = None, interval: float | None = None):
    """The config's cron schedule in its timezone, or an override."""
    from prefect.schedules import Cron, Interval

    if interval is not None:
        if interval <= 0:
            raise OpenbooksError(f"--interval {interval:g}: expected a number of seconds > 0")
        return Interval(timedelta(seconds=interval), timezone=config.schedule.timezone)
    return Cron(cron or config.schedule.cron, timezone=config.schedule.timezone)


def daily_deployment(config: Config, *, cron: str | None = None, interval: float | None = None,
                     day: date | None = None, day_offset: int = 0, **options):
    """The ``daily-books`` deployment: the config's schedule, its config path
    (and ``day``, when every run is to book that day, or ``day_offset``, when
    each is to book that many days before the day that just ended). One run
    at a time: a run scheduled while one still waits for its inputs is
    cancelled, never stacked behind it."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

    from openbooks.flows.daily import daily_books

    parameters = {"config_path": str(config.file)} | ({"day": day.isoformat()} if day else {})
    parameters |= {"day_offset": day_offset} if day_offset else {}
    return daily_books.to_deployment(
        name=DAILY_DEPLOYMENT,
        schedule=schedule_for(config, cron=cron, interval=interval),
        parameters=parameters,
        description="The books of the business day that just ended, on the openbooks schedule.",
        tags=["openbooks"],
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        **options,
    )


def serve_daily(config: Config, *, cron: str | None = None, interval: float | None = None,
                day: date | None = None, day_offset: int = 0) -> None:
    """Serve the daily deployment until SIGTERM or Ctrl-C (blocks).

    What ``prefect.serve`` does, with a bounded stop: SIGTERM asks the runner
    to cancel its runs and stop; if it has not stopped ``SERVE_STOP_SECONDS``
    later, a second SIGTERM makes it exit at once."""
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    runner = Runner(pause_on_shutdown=True)
    runner.add_deployment(daily_deployment(config, cron=cron, interval=interval, day=day, day_offset=day_offset))
    graceful = runner.handle_sigterm

    def handle_sigterm(*args) -> None:
        graceful(*args)
        timer = threading.Timer(SERVE_STOP_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()

    runner.handle_sigterm = handle_sigterm  # installed by runner.start()
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        pass


@contextmanager
def api(url: str) -> Iterator[None]:
    """Point this process (and the runs it starts) at ``url``."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous


def serve_watched(config: Config, echo, **schedule) -> None:
    """``serve_daily``, each run echoed as it ends; runs cut short by the stop recorded as failed."""
    from openbooks.flows.runtime.serve_watch import RunWatcher, record_interrupted

    with RunWatcher(config, echo):
        try:
            serve_daily(config, **schedule)
        finally:
            record_interrupted(config)


def run_serve(config: Config, *, cron: str | None = None, interval: float | None = None,
              day: date | None = None, day_offset: int = 0, echo=print) -> None:
    """``openbooks serve``: on ``PREFECT_API_URL``, or on a local server of its own."""
    from prefect.settings import PREFECT_API_URL

    if day is not None and day_offset:
        raise OpenbooksError(
            f"--day {day} and --day-offset {day_offset}: give one or the other "
            "(--day books that day every run, --day-offset N the day N days before the one that ended)")
    if day_offset < 0:
        raise OpenbooksError(f"--day-offset {day_offset}: expected a number of days >= 0")
    schedule_for(config, cron=cron, interval=interval)  # a bad schedule fails before any server starts
    # SIGTERM before the runner takes over still stops the local server cleanly.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    described = _describe_schedule(config, cron, interval) + _describe_day(day, day_offset)
    booking = {"cron": cron, "interval": interval, "day": day, "day_offset": day_offset}
    url = PREFECT_API_URL.value()
    if url:
        echo(f"serving daily-books/{DAILY_DEPLOYMENT} ({described}) on {url}")
        say_next_run(config, cron, interval, echo)
        serve_watched(config, echo, **booking)
        return
    with local_server(prefect_home()) as server:
        echo(f"started a local Prefect server: {server.url.removesuffix('/api')} (pid {server.pid}, log {server.log})")
        echo(f"serving daily-books/{DAILY_DEPLOYMENT} ({described}); stop with Ctrl-C or SIGTERM")
        say_next_run(config, cron, interval, echo)
        with api(server.url):
            serve_watched(config, echo, **booking)
        echo("stopping the local Prefect server")


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _describe_day(day: date | None, day_offset: int) -> str:
    if day is not None:
        return f", booking {day} every run"
    if day_offset:
        return f", booking the day {day_offset} day{'s' if day_offset > 1 else ''} before the one that just ended"
    return ""


def say_next_run(config: Config, cron: str | None, interval: float | None, echo) -> None:
    from openbooks.flows.runtime.next_run import next_run_lines

    for line in next_run_lines(config, cron, interval, datetime.now(UTC)):
        echo(line)


def _describe_schedule(config: Config, cron: str | None, interval: float | None) -> str:
    if interval is not None:
        return f"every {interval:g} s"
    return f"cron {cron or config.schedule.cron!r}, {config.schedule.timezone}"


def run_deploy(config: Config, *, pool: str, echo=print) -> list[str]:
    """``openbooks deploy``: register the daily and the backfill flow with the
    server at ``PREFECT_API_URL`` for a worker of the process pool ``pool``."""
    from prefect.deployments.runner import RunnerDeployment
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise OpenbooksError(
            "PREFECT_API_URL is not set: start a server (prefect server start, or openbooks server start "
            "for the project's local one) and set PREFECT_API_URL to the API URL it prints first"
        )
    parameters = {"config_path": str(config.file)}
    registered = []
    with _working_directory(PROJECT):  # entrypoints are relative to the project, where the worker runs
        daily = RunnerDeployment.from_entrypoint(
            DAILY_ENTRYPOINT, name=DAILY_DEPLOYMENT, schedule=schedule_for(config), parameters=parameters,
            tags=["openbooks"], work_pool_name=pool,
        )
        registered.append((daily, f"daily-books/{DAILY_DEPLOYMENT} ({_describe_schedule(config, None, None)})"))
        backfill = RunnerDeployment.from_entrypoint(
            BACKFILL_ENTRYPOINT, name=BACKFILL_DEPLOYMENT, parameters=parameters,
            tags=["openbooks"], work_pool_name=pool,
        )
        registered.append((backfill, f"{backfill.flow_name}/{BACKFILL_DEPLOYMENT} (on demand)"))
        for deployment, label in registered:
            deployment_id = deployment.apply(work_pool_name=pool)
            _run_in(deployment_id, PROJECT)
            echo(f"deployed {label} to work pool {pool!r}")
    return [label for _, label in registered]


def _run_in(deployment_id, directory: Path) -> None:
    """Workers run the deployment in ``directory`` (an update of an existing
    deployment keeps its old directory otherwise)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate

    with get_client(sync_client=True) as client:
        client.update_deployment(deployment_id, DeploymentUpdate(path=str(directory)))


@contextmanager
def _working_directory(path: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)

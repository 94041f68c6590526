"""Backfill: a range of business days, each its own ``daily-books`` flow run.

The parent flow ``backfill-books`` calls the daily flow once per day, as a
subflow of a task. With ``workers > 1`` the tasks run on Prefect's
``ProcessPoolTaskRunner`` (each day in a worker process, all reporting to the
parent's Prefect API) or, with ``runner="thread"``, its
``ThreadPoolTaskRunner`` in the parent process, or Dask (``dask-local``, or a
scheduler's address: ``flows.dask_runner``); ``runner`` may also name a task
runner of your own as ``module:attribute``.
Days read, check, compute and render side by side while their writes to the
warehouse take turns (``flows.warehouse.session``: one writer at a time across
threads and processes). A day that fails is recorded in ``run_log`` and the
others go on.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from openbooks.flows import failed_runs
from openbooks.flows.daily import daily_books
from openbooks.flows.schedule import record_not_started
from openbooks.flows.warehouse import session
from openbooks.config import Config, load_config
from openbooks.errors import OpenbooksError


@dataclass(frozen=True)
class DayOutcome:
    """How one day of a backfill ended: published, unchanged or failed."""

    day: date
    status: str
    figures: dict[str, Any] | None = None
    reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


_listener: ContextVar[Callable[[DayOutcome], None] | None] = ContextVar("backfill_listener", default=None)


@contextmanager
def listening(callback: Callable[[DayOutcome], None]) -> Iterator[None]:
    """Call ``callback`` with each day's outcome as soon as the day ends."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def _notify(outcome: DayOutcome) -> None:
    # A function of its own: the flow's context is pickled for worker processes,
    # the flow's function by value with the globals it names, and a ContextVar
    # is not picklable.
    callback = _listener.get()
    if callback is not None:
        callback(outcome)


def days_between(start: date, end: date) -> list[date]:
    """Every business day from ``start`` to ``end``, both included."""
    if end < start:
        raise OpenbooksError(f"--end {end} is before --start {start}: expected start <= end")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def failed_days(config: Config, days: list[date]) -> list[date]:
    """The days among ``days`` whose last run did not publish: it failed, or
    was interrupted (still 'running' in ``run_log``)."""
    if not days or not config.warehouse_path.exists():
        return []
    with session(config) as con:
        failed_runs.fold(con, config)  # runs the warehouse could not take when they failed
        rows = con.execute(
            "SELECT day FROM run_log WHERE day BETWEEN ? AND ? GROUP BY day "
            "HAVING arg_max(status, started_at) IN ('failed', 'running') ORDER BY day",
            [min(days), max(days)],
        ).fetchall()
    wanted = set(days)
    return [row[0] for row in rows if row[0] in wanted]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, OpenbooksError) else f"{type(exc).__name__}: {exc}"


def one_day(day: date, config_path: str) -> DayOutcome:
    """One day as a ``daily-books`` subflow run; a failure becomes an outcome."""
    try:
        figures = daily_books(day, config_path)
    except Exception as exc:  # noqa: BLE001 - every failure is the day's outcome, the range goes on
        return DayOutcome(day, "failed", reason=_reason(exc))
    return DayOutcome(day, figures.get("status", "published"), figures=figures)


# A worker process gets the task's function by value, with only the globals it
# names; ``one_day`` (a plain function) is imported there from this module,
# and with it the real ``daily_books`` (whose parameter types need its module).
@task(cache_policy=NONE, task_run_name="day-{day}")
def run_one_day(day: date, config_path: str) -> DayOutcome:
    return one_day(day, config_path)


def _run_name() -> str:
    from prefect.runtime import flow_run

    days = flow_run.parameters["days"]
    return f"backfill-{days[0]}-{days[-1]}"


# One day at a time unless run_backfill asks for more (a deployment run uses this default).
@flow(name="backfill-books", flow_run_name=_run_name, log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=1))
def backfill_books(days: list[date], config_path: str) -> list[DayOutcome]:
    """Run each of ``days``; returns their outcomes in day order."""
    futures = {run_one_day.submit(day, config_path): day for day in days}
    outcomes = []
    for future in as_completed(futures):
        try:
            outcome = future.result()
        except Exception as exc:  # noqa: BLE001 - the worker itself died (e.g. killed): the day failed
            outcome = DayOutcome(futures[future], "failed", reason=_reason(exc))
            # Recorded, so that --only-failed finds the day even if its run never started.
            record_not_started(load_config(config_path), outcome.day, str(uuid.uuid4()),
                               f"the backfill's worker ended before the day finished: {outcome.reason}")
        outcomes.append(outcome)
        _notify(outcome)
    return sorted(outcomes, key=lambda o: o.day)


def task_runner(runner: str | None, workers: int) -> TaskRunner:
    """The task runner for ``workers`` days at a time: ``process`` (the default
    for more than one), ``thread`` (the default for one), ``dask-local`` or a
    Dask scheduler address (``flows.dask_runner``), or ``module:attribute``
    naming a ``TaskRunner`` or a ``TaskRunner`` class to make one of with no
    arguments (``workers`` is then the runner's own business)."""
    runner = runner or ("process" if workers > 1 else "thread")
    if runner == "process":
        return ProcessPoolTaskRunner(max_workers=workers)
    if runner == "thread":
        return ThreadPoolTaskRunner(max_workers=workers)
    from openbooks.flows.dask_runner import dask_task_runner, is_dask_runner

    if is_dask_runner(runner):
        return dask_task_runner(runner, workers)
    module, _, attribute = runner.partition(":")
    if not module or not attribute:
        raise OpenbooksError(f"--runner {runner!r}: expected process, thread or module:attribute")
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise OpenbooksError(f"--runner {runner!r}: cannot load it ({type(exc).__name__}: {exc})")
    if isinstance(found, type) and issubclass(found, TaskRunner):
        found = found()
    if not isinstance(found, TaskRunner):
        raise OpenbooksError(f"--runner {runner!r}: expected a Prefect TaskRunner, got {type(found).__name__}")
    return found


def shared_api(config_path: str) -> None:
    """Worker processes report to the same Prefect API as this process: with
    no ``PREFECT_API_URL`` set, the project's local server (``flows.prefect_api``;
    started if none runs) instead of an ephemeral server in each process."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from openbooks.flows.prefect_api import use_local_api

    use_local_api(load_config(config_path))


def run_backfill(days: list[date], config_path: str, workers: int = 1, runner: str | None = None) -> list[DayOutcome]:
    """``backfill_books`` with ``workers`` days at a time on ``runner`` (see ``task_runner``)."""
    if workers < 1:
        raise OpenbooksError(f"--workers {workers}: expected 1 or more")
    if not days:
        return []
    chosen = task_runner(runner, min(workers, len(days)))
    shared_api(config_path)
    return backfill_books.with_options(task_runner=chosen)(days, config_path)


def run_set_backfill(days: list[date], config_path: str, data_docs: bool = False) -> list[DayOutcome]:
    """The days as one set (``flows.range_books``): each pass over all of them
    at once, the same outcomes, tables and reports as one run a day."""
    if not days:
        return []
    from openbooks.flows.range_books import backfill_range

    shared_api(config_path)
    outcomes = [DayOutcome(*found) for found in backfill_range(days, config_path, data_docs)]
    for outcome in outcomes:
        _notify(outcome)
    return outcomes


def stale_anomaly_days(config: Config, outcomes: list[DayOutcome]) -> list[date]:
    """The published days, not among ``outcomes``, whose anomalies were found
    against a trailing window (``anomalies.window_days``) that holds a day
    ``outcomes`` has just published: their anomaly history predates it."""
    from openbooks.flows.warehouse import session

    fixed = sorted(o.day for o in outcomes if o.status == "published")
    if not fixed:
        return []
    rerun = {o.day for o in outcomes}
    last = fixed[-1] + timedelta(days=config.anomalies.window_days)
    with session(config, read_only=True) as con:
        days = [row[0] for row in con.execute(
            "SELECT day FROM daily_economics WHERE day > ? AND day <= ? ORDER BY day", [fixed[0], last]).fetchall()]
    return [day for day in days if day not in rerun]

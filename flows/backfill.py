"""Backfill: a range of business days, each its own ``daily-books`` flow run.

The parent flow ``backfill-books`` runs in one process and calls the daily
flow once per day, as a subflow of a task. With ``workers > 1`` the tasks run
on Prefect's ``ThreadPoolTaskRunner``: days read, check, compute and render
side by side while their writes to the warehouse take turns (DuckDB allows one
writing process; within it ``flows.warehouse.session`` lets one writer in at a
time). A day that fails is recorded in ``run_log`` and the others go on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.daily import daily_books
from flows.warehouse import session
from openbooks.config import Config
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
        rows = con.execute(
            "SELECT day FROM run_log WHERE day BETWEEN ? AND ? GROUP BY day "
            "HAVING arg_max(status, started_at) IN ('failed', 'running') ORDER BY day",
            [min(days), max(days)],
        ).fetchall()
    wanted = set(days)
    return [row[0] for row in rows if row[0] in wanted]


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, OpenbooksError) else f"{type(exc).__name__}: {exc}"


@task(cache_policy=NONE, task_run_name="day-{day}")
def run_one_day(day: date, config_path: str) -> DayOutcome:
    """One day as a ``daily-books`` subflow run; a failure becomes an outcome."""
    try:
        figures = daily_books(day, config_path)
    except Exception as exc:  # noqa: BLE001 - every failure is the day's outcome, the range goes on
        return DayOutcome(day, "failed", reason=_reason(exc))
    return DayOutcome(day, figures.get("status", "published"), figures=figures)


def _run_name() -> str:
    from prefect.runtime import flow_run

    days = flow_run.parameters["days"]
    return f"backfill-{days[0]}-{days[-1]}"


# One day at a time unless run_backfill asks for more (a deployment run uses this default).
@flow(name="backfill-books", flow_run_name=_run_name, log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=1))
def backfill_books(days: list[date], config_path: str) -> list[DayOutcome]:
    """Run each of ``days``; returns their outcomes in day order."""
    notify = _listener.get()
    futures = [run_one_day.submit(day, config_path) for day in days]
    outcomes = []
    for future in as_completed(futures):
        outcome = future.result()
        outcomes.append(outcome)
        if notify is not None:
            notify(outcome)
    return sorted(outcomes, key=lambda o: o.day)


def run_backfill(days: list[date], config_path: str, workers: int = 1) -> list[DayOutcome]:
    """``backfill_books`` with ``workers`` days at a time."""
    if workers < 1:
        raise OpenbooksError(f"--workers {workers}: expected 1 or more")
    if not days:
        return []
    runner = ThreadPoolTaskRunner(max_workers=min(workers, len(days)))
    return backfill_books.with_options(task_runner=runner)(days, config_path)

"""Backfill: a range of business days through the engine
(``flows.range_books``: the flow ``backfill-range``), each day its own run,
run id and report; a day that fails is recorded in ``run_log`` and the others
go on. The per-day compute and render pass runs on local processes, or on a
Dask cluster the runner names (``flows.executor``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from openbooks.flows.store import failed_runs
from openbooks.flows.store.warehouse import session
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


def shared_api(config_path: str) -> None:
    """With no ``PREFECT_API_URL`` set, the project's local server
    (``flows.prefect_api``; started if none runs) instead of an ephemeral one."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return
    from openbooks.flows.runtime.prefect_api import use_local_api

    use_local_api(load_config(config_path))


def run_backfill(days: list[date], config_path: str, data_docs: bool = False,
                 runner: str | None = None) -> list[DayOutcome]:
    """The days through the engine (the flow ``backfill-range``) on ``runner``
    (``flows.executor``); each day's outcome, in day order."""
    if not days:
        return []
    from openbooks.flows.range_books import backfill_range

    shared_api(config_path)
    outcomes = [DayOutcome(*found) for found in backfill_range(days, config_path, data_docs, runner)]
    callback = _listener.get()
    for outcome in outcomes:
        if callback is not None:
            callback(outcome)
    return outcomes


def stale_anomaly_days(config: Config, outcomes: list[DayOutcome]) -> list[date]:
    """The published days, not among ``outcomes``, whose anomalies were found
    against a trailing window (``anomalies.window_days``) that holds a day
    ``outcomes`` has just published: their anomaly history predates it."""
    from openbooks.flows.store.warehouse import session

    fixed = sorted(o.day for o in outcomes if o.status == "published")
    if not fixed:
        return []
    rerun = {o.day for o in outcomes}
    last = fixed[-1] + timedelta(days=config.anomalies.window_days)
    with session(config, read_only=True) as con:
        days = [row[0] for row in con.execute(
            "SELECT day FROM daily_economics WHERE day > ? AND day <= ? ORDER BY day", [fixed[0], last]).fetchall()]
    return [day for day in days if day not in rerun]

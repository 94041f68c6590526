"""What ``openbooks serve`` tells the operator: each scheduled run as it ends
(day, state, figures or reason), read from ``run_log``, and, when serve
stops, runs it left unfinished recorded as failed.

The runs execute in processes of Prefect's runner; ``serve`` learns about
them the way an operator would, from the warehouse (read-only, briefly, and
not at all while a run is writing to it), from the failed-runs file beside
it, and, for runs cancelled before they started, from the Prefect API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from openbooks.flows.store import failed_runs
from openbooks.flows.runtime.schedule import DAILY_DEPLOYMENT, scheduled_day
from openbooks.flows.store.warehouse import day_lock, session
from openbooks.config import Config
from openbooks.errors import DayLocked, OpenbooksError

POLL_SECONDS = 2.0
DAILY_FLOW = "daily-books"
RECENT_CANCELLED = 50  # the latest cancelled runs looked at each time (the ones before were told already)
STOPPED = "interrupted: openbooks serve was stopped (Ctrl-C or SIGTERM) before the run finished"

_ENDED_RUNS = (
    "SELECT r.run_id, r.day, r.status, r.error, d.gpu_cost_usd, d.theoretical_revenue_usd, d.cost_profit_margin "
    "FROM run_log r LEFT JOIN daily_economics d ON d.day = r.day AND r.status IN ('published', 'unchanged') "
    "WHERE r.status <> 'running' ORDER BY r.finished_at"
)


def ended_runs(config: Config) -> list[tuple] | None:
    """Every ended run in ``run_log`` with its day's figures; None when the
    warehouse cannot be read this moment (not created yet, or being written)."""
    if not config.warehouse_path.exists():
        return None
    try:
        with session(config, read_only=True) as con:
            return con.execute(_ENDED_RUNS).fetchall()
    except Exception:  # noqa: BLE001 - busy, or no schema yet: look again later
        return None


def run_line(day, status: str, error: str | None, cost, revenue, margin) -> str:
    """``2025-02-27 published: GPU cost $87,072, theoretical revenue $562,027, cost profit margin 545%``."""
    if status in ("published", "unchanged") and cost is not None:
        return (f"{day} {status}: GPU cost ${cost:,.0f}, theoretical revenue ${revenue:,.0f}, "
                f"cost profit margin {margin:.0%}")
    reason = (error or "").strip().splitlines()
    return f"{day} {status}: {reason[0] if reason else 'no reason recorded'}"


def cancelled_runs(since: datetime) -> list:
    """Flow runs of the daily deployment due after ``since`` that were
    cancelled without ever running (``run_count`` 0): one run at a time, and
    another was still going when they came due. [] when the Prefect API does
    not answer."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter, DeploymentFilterName, FlowFilter, FlowFilterName, FlowRunFilter,
        FlowRunFilterExpectedStartTime, FlowRunFilterState, FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    try:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[DAILY_FLOW])),
                deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[DAILY_DEPLOYMENT])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.CANCELLED])),
                    expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
                ),
                sort=FlowRunSort.EXPECTED_START_TIME_DESC,
                limit=RECENT_CANCELLED,
            )
    except Exception:  # noqa: BLE001 - the API is busy or restarting: look again later
        return []
    return sorted((run for run in runs if not run.run_count), key=lambda run: run.expected_start_time)


def cancelled_line(config: Config, flow_run) -> str:
    """``2025-02-27 cancelled: ...``: the day the run would have booked, and why it did not."""
    parameters = flow_run.parameters or {}
    due = flow_run.expected_start_time
    day = parameters.get("day") or scheduled_day(config, due, parameters.get("day_offset") or 0)
    when = due.astimezone(ZoneInfo(config.business_day.timezone)).isoformat(sep=" ", timespec="seconds")
    return (f"{day} cancelled: the run due at {when} was not started, the one before it was still going "
            "(one run at a time)")


class RunWatcher:
    """A thread that echoes each run that ends after it started, and each
    scheduled run cancelled because the one before was still going."""

    def __init__(self, config: Config, echo: Callable[[str], None]):
        self.config, self.echo = config, echo
        self.since = datetime.now(UTC)
        self.stop = threading.Event()
        self.seen = {row[0] for row in ended_runs(config) or []}
        self.seen |= {run.run_id for run in failed_runs.pending(config)}
        self.thread = threading.Thread(target=self._watch, name="openbooks-serve-watch", daemon=True)

    def __enter__(self) -> RunWatcher:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.report_new()

    def _watch(self) -> None:
        while not self.stop.wait(POLL_SECONDS):
            self.report_new()

    def report_new(self) -> None:
        for run_id, *row in ended_runs(self.config) or []:
            if run_id not in self.seen:
                self.seen.add(run_id)
                self.echo(run_line(*row))
        for run in failed_runs.pending(self.config):  # failed, and the warehouse could not take its row
            if run.run_id not in self.seen:
                self.seen.add(run.run_id)
                self.echo(run_line(run.day, "failed", run.reason, None, None, None))
        for flow_run in cancelled_runs(self.since):
            if str(flow_run.id) not in self.seen:
                self.seen.add(str(flow_run.id))
                self.echo(cancelled_line(self.config, flow_run))


def record_interrupted(config: Config) -> list:
    """Runs still ``running`` in ``run_log`` whose day nobody is running any
    more (its lock is free) are recorded as failed, stopped with serve.
    Returns their days."""
    try:
        with session(config, read_only=True) as con:
            days = [d for (d,) in con.execute("SELECT DISTINCT day FROM run_log WHERE status = 'running'").fetchall()]
    except Exception:  # noqa: BLE001 - no warehouse or no run_log yet: nothing was left running
        return []
    marked = []
    for day in days:
        try:
            with day_lock(config, day), session(config) as con:
                con.execute("UPDATE run_log SET status = 'failed', finished_at = now(), error = ? "
                            "WHERE day = ? AND status = 'running'", [STOPPED, day])
            marked.append(day)
        except DayLocked:
            continue  # another process is running that day right now
        except OpenbooksError:
            break
    return marked

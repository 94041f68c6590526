"""What ``openbooks serve`` tells the operator: each scheduled run as it ends
(day, state, figures or reason), read from ``run_log``, and, when serve
stops, runs it left unfinished recorded as failed.

The runs execute in processes of Prefect's runner; ``serve`` learns about
them the way an operator would, from the warehouse (read-only, briefly, and
not at all while a run is writing to it), and from the failed-runs file
beside it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from flows import failed_runs
from flows.warehouse import day_lock, session
from openbooks.config import Config
from openbooks.errors import DayLocked, OpenbooksError

POLL_SECONDS = 2.0
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


class RunWatcher:
    """A thread that echoes each run that ends after it started."""

    def __init__(self, config: Config, echo: Callable[[str], None]):
        self.config, self.echo = config, echo
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

"""When ``openbooks serve`` runs next, said when it starts: the schedule's next
time in its timezone and how long until then, with the way to try it sooner."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from openbooks.config import Config


def next_run(cron: str, timezone: str, now: datetime) -> datetime:
    """The first time after ``now`` that ``cron`` fires, in ``timezone``."""
    local = now.astimezone(ZoneInfo(timezone)).replace(second=0, microsecond=0)
    return next(CronSim(cron, local))


def waiting(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def next_run_lines(config: Config, cron: str | None, interval: float | None, now: datetime) -> list[str]:
    """What to print: the next run, and (on a cron schedule) how to see a run now."""
    if interval is not None:
        return [f"next run: in {interval:g} s, then every {interval:g} s"]
    at = next_run(cron or config.schedule.cron, config.schedule.timezone, now)
    return [f"next run: {at:%Y-%m-%d %H:%M} {config.schedule.timezone} (in {waiting(at - now)})",
            "to see a run sooner: openbooks serve --interval 60 --day 2025-02-27"]

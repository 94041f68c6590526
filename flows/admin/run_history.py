"""The run log as an operator reads it: the latest runs and the last published day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from openbooks.flows.store import failed_runs
from openbooks.flows.store.warehouse import session
from openbooks.config import Config
from openbooks.errors import OpenbooksError

STATUS_COLUMNS = ("day", "status", "started", "duration", "config", "reason")


def recent_runs(config: Config, limit: int = 20) -> list[tuple]:
    """The latest runs, newest first: day, status, when (in the business
    timezone, with its offset), duration, config hash, reason. Failed runs
    the warehouse could not take are folded into run_log first, or, while
    it still cannot (a full disk), shown from the file beside it."""
    zone = ZoneInfo(config.business_day.timezone)
    failed_runs.fold_pending(config)
    with session(config, read_only=True) as con:
        rows = con.execute(
            # Days of a set backfill start and finish in the same statements (one started_at, one finished_at).
            "SELECT run_id, day, status, started_at, (finished_at - started_at) / count(*) OVER "
            "(PARTITION BY started_at, finished_at), config_hash, error, count(*) OVER "
            "(PARTITION BY started_at, finished_at) FROM run_log ORDER BY started_at DESC LIMIT ?",
            [limit],
        ).fetchall()
    runs = {row[0]: row[1:] for row in rows}
    for run in failed_runs.pending(config):  # in place of its row left 'running', if any
        runs[run.run_id] = (date.fromisoformat(run.day), "failed", run.started,
                            datetime.fromisoformat(run.finished_at) - run.started, run.config_hash, run.reason, 1)
    rows = sorted(runs.values(), key=lambda row: row[2], reverse=True)[:limit]
    return [
        (day, status, local_time(started, zone), duration_text(took, in_set=set_size > 1 and took is not None),
         config_hash, first_line(error))
        for day, status, started, took, config_hash, error, set_size in rows
    ]


def zone_note(config: Config) -> str:
    """``times in Asia/Shanghai (+08:00)``: the zone ``recent_runs`` shows times in, and its offset now."""
    zone = ZoneInfo(config.business_day.timezone)
    return f"times in {config.business_day.timezone} ({offset_text(datetime.now(zone))})"


def offset_text(moment: datetime) -> str:
    return moment.isoformat()[-6:]


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """``2025-02-28 08:00:03``: the moment in ``zone``; with its offset
    (``+02:00``) only when that is not the zone's offset now (the other side
    of a DST change), which ``zone_note`` names: the column fits 80 columns."""
    local = moment.astimezone(zone)
    text = local.isoformat(sep=" ", timespec="seconds")
    now = offset_text(datetime.now(zone))
    return text.removesuffix(now) if text.endswith(now) else text


SET_MARK = " (set)"
SET_NOTE = f"{SET_MARK.strip()}: a day of a set backfill (its days run together): its share of the time"


def duration_text(took: timedelta | None, in_set: bool = False) -> str:
    """``12.3 s``; a day of a set, its share of the set's time, marked ``(set)``."""
    return "" if took is None else f"{took.total_seconds():.1f} s" + (SET_MARK if in_set else "")


def first_line(error: str | None) -> str:
    return (error or "").strip().splitlines()[0] if error and error.strip() else ""


def last_published_day(config: Config) -> date:
    """The latest day with published figures; an error when none is."""
    with session(config, read_only=True) as con:
        (day,) = con.execute("SELECT max(day) FROM daily_economics").fetchone()
    if day is None:
        raise OpenbooksError(f"no day is published in {config.warehouse_path} yet: openbooks run --date YYYY-MM-DD")
    return day

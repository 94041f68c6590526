"""The business day: its window in UTC and its grid of hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import polars as pl


def day_window(day: date, timezone: str, start: time) -> tuple[datetime, datetime]:
    """UTC start and end of business day ``day``: ``day`` at ``start`` local to
    ``day + 1`` at ``start`` local. 23 or 25 hours long across a DST change."""
    zone = ZoneInfo(timezone)
    begin = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), start, tzinfo=zone).astimezone(UTC)
    return begin, end


def last_ended_day(moment: datetime, timezone: str, start: time) -> date:
    """The business day that ended most recently at or before ``moment`` (an
    aware instant, e.g. a scheduled run's time): the day a scheduled run books."""
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware instant, got {moment.isoformat()}")
    # The day starting on moment's local date ends tomorrow: the day before is
    # the latest candidate, and the one before that ends a day earlier still.
    day = moment.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)
    while day_window(day, timezone, start)[1] > moment:
        day -= timedelta(days=1)
    return day


def booked_day(moment: datetime, timezone: str, start: time, offset_days: int = 0) -> date:
    """The business day a run scheduled at ``moment`` books: the one that
    ended most recently (``last_ended_day``), or ``offset_days`` business days
    before it, for logs that land late. Business days are calendar dates, so
    the offset is whole days even across a DST change."""
    if offset_days < 0:
        raise ValueError(f"expected an offset of 0 or more days, got {offset_days}")
    return last_ended_day(moment, timezone, start) - timedelta(days=offset_days)


def hour_count(day_start: datetime, day_end: datetime) -> int:
    """The rows of the day's hour grid (``hour_grid``): every hour begun
    between its start and its end, a last partial one too."""
    return -(-(day_end - day_start) // timedelta(hours=1))


def hour_grid(day_start: datetime, day_end: datetime) -> pl.DataFrame:
    """One row per hour of the day from its start: ``hour_start``, ``hour_end``,
    ``hours`` (1.0, or less for a last partial hour)."""
    starts = pl.datetime_range(
        day_start, day_end, "1h", closed="left", time_unit="us", time_zone="UTC", eager=True
    )
    return (
        pl.DataFrame({"hour_start": starts})
        .with_columns(
            hour_end=pl.min_horizontal(
                pl.col("hour_start") + pl.duration(hours=1), pl.lit(day_end).dt.cast_time_unit("us")
            )
        )
        .with_columns(hours=hours_between("hour_start", "hour_end"))
    )


MICROSECONDS_PER_HOUR = 3_600_000_000


def microseconds_between(start: str | pl.Expr, end: str | pl.Expr) -> pl.Expr:
    """Length of ``[start, end)`` in whole microseconds (an exact integer)."""
    start = pl.col(start) if isinstance(start, str) else start
    end = pl.col(end) if isinstance(end, str) else end
    return (end - start).dt.total_microseconds()


def hours_between(start: str | pl.Expr, end: str | pl.Expr) -> pl.Expr:
    """Length of ``[start, end)`` in hours, exact to the microsecond."""
    return in_hours(microseconds_between(start, end))


def in_hours(microseconds: pl.Expr) -> pl.Expr:
    """Microseconds as hours. Sum durations as microseconds first, then
    convert: integer sums are exact, so parts of an hour add up to exactly one."""
    return microseconds / MICROSECONDS_PER_HOUR

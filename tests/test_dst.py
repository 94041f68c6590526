"""DST days: a business day of 23 or 25 hours in the business timezone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from openbooks.flows.daily import daily_books
from tests.books import published

ZONE = ZoneInfo("America/New_York")


def _write_inputs(root, day: date) -> tuple[int, dict]:
    """One node-log row over the whole day (10 R1 decode nodes) and one R1 api
    token row per hour (1M cache-hit, 1M cache-miss, 1M output tokens)."""
    start = datetime.combine(day, time(0), tzinfo=ZONE)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZONE)
    hours = int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 3600)
    (root / "node_log").mkdir(parents=True)
    (root / "token_counts").mkdir(parents=True)
    (root / "node_log" / f"{day}.csv").write_text(
        "interval_start,interval_end,model,role,gpu_type,nodes\n"
        f"{start.isoformat()},{end.isoformat()},deepseek-r1,decode,H800,10\n"
    )
    rows = [
        f"{(start.astimezone(UTC) + timedelta(hours=h)).astimezone(ZONE).isoformat()},deepseek-r1,api,"
        "1000000,1000000,1000000,10"
        for h in range(hours)
    ]
    (root / "token_counts" / f"{day}.csv").write_text(
        "hour_start,model,channel,cache_hit_tokens,cache_miss_tokens,output_tokens,requests\n" + "\n".join(rows) + "\n"
    )
    return hours, {s: {"path": str(root / s / "{date}.csv")} for s in ("node_log", "token_counts")}


@pytest.mark.parametrize("day, hours", [(date(2025, 3, 9), 23), (date(2025, 11, 2), 25)])
def test_a_dst_day_has_its_true_length(project, day, hours):
    written, sources = _write_inputs(project.root / "input", day)
    assert written == hours
    project.write_config({"business_day": {"timezone": "America/New_York", "start": "00:00"}, "sources": sources})
    row = daily_books(day, str(project.config_path))
    assert row["hours"] == hours
    assert row["node_hours"] == 10 * hours
    assert row["gpu_cost_usd"] == 10 * hours * 8 * 2.00
    assert row["theoretical_revenue_usd"] == pytest.approx(hours * (0.14 + 0.55 + 2.19))
    hourly = published(project.config, "SELECT count(*), sum(hours), min(hour_start), max(hour_end) FROM hourly_economics")
    count, total, first, last = hourly[0]
    assert (count, total) == (hours, hours)
    assert first == datetime.combine(day, time(0), tzinfo=ZONE)
    assert last == datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZONE)


def test_a_days_hour_count_is_its_hour_grid():
    """``DayWindow.hours`` (the hourly suites' expected row count) counts the
    grid's rows without building it: 23 and 25 on DST days, partial hours too."""
    from datetime import UTC, datetime, timedelta

    from openbooks.flows.store.books import DayWindow
    from openbooks.transforms.calendar import hour_grid

    start = datetime(2025, 3, 8, 16, 30, tzinfo=UTC)
    for minutes in (0, 1, 59, 60, 61, 23 * 60, 24 * 60 - 1, 24 * 60, 24 * 60 + 1, 25 * 60):
        end = start + timedelta(minutes=minutes)
        assert DayWindow(start.date(), start, end).hours == hour_grid(start, end).height, minutes

"""A period with a DST day inside it: 24 + 23 + 24 hours, summed as they are."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from openbooks.flows.daily import daily_books
from openbooks.flows.report.period import parse_period, period_statement

ZONE = ZoneInfo("America/New_York")
DAYS = (date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10))  # 2025-03-09 has 23 hours


def write_day(root, day: date) -> int:
    """10 R1 decode nodes all day; per hour 1M cache-hit, 1M cache-miss and 1M output tokens."""
    start = datetime.combine(day, time(0), tzinfo=ZONE)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZONE)
    hours = int((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() // 3600)
    (root / "node_log" / f"{day}.csv").write_text(
        "interval_start,interval_end,model,role,gpu_type,nodes\n"
        f"{start.isoformat()},{end.isoformat()},deepseek-r1,decode,H800,10\n")
    rows = [f"{(start.astimezone(UTC) + timedelta(hours=h)).astimezone(ZONE).isoformat()},deepseek-r1,api,"
            "1000000,1000000,1000000,10" for h in range(hours)]
    (root / "token_counts" / f"{day}.csv").write_text(
        "hour_start,model,channel,cache_hit_tokens,cache_miss_tokens,output_tokens,requests\n" + "\n".join(rows) + "\n")
    return hours


def test_a_period_across_a_dst_change_sums_its_true_hours(project):
    root = project.root / "input"
    for source in ("node_log", "token_counts"):
        (root / source).mkdir(parents=True)
    hours = [write_day(root, day) for day in DAYS]
    assert hours == [24, 23, 24]
    project.write_config({"business_day": {"timezone": "America/New_York", "start": "00:00"},
                          "sources": {s: {"path": str(root / s / "{date}.csv")} for s in ("node_log", "token_counts")}})
    for day in DAYS:
        daily_books(day, str(project.config_path))
    statement = period_statement(project.config, parse_period(start="2025-03-08", end="2025-03-10"))
    totals = statement.totals.row(0, named=True)
    assert totals["hours"] == 71 and totals["node_hours"] == 710 and totals["avg_nodes"] == 10
    assert totals["gpu_cost_usd"] == 710 * 8 * 2.00
    assert totals["output_tokens"] == 71_000_000 and totals["cache_hit_rate"] == 0.5
    assert totals["theoretical_revenue_usd"] == pytest.approx(71 * (0.14 + 0.55 + 2.19))
    assert statement.complete and statement.days["status"].to_list() == ["published"] * 3

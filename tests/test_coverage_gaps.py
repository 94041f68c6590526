"""Node-log coverage: ``checks.coverage_gaps`` on tiny hand-made step functions,
and coverage exact at every second an interval can change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from openbooks.flows.daily import daily_books
from tests.books import published
from openbooks.transforms import calendar, capacity, cost, statements
from openbooks.transforms.checks import coverage_gaps


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 2, 27, hour, minute, tzinfo=UTC)


def steps(*segments: tuple[datetime, datetime, int]) -> pl.DataFrame:
    timestamp = pl.Datetime("us", "UTC")
    return pl.DataFrame(
        [{"segment_start": a, "segment_end": b, "nodes": 1.0, "rows": r} for a, b, r in segments],
        schema={"segment_start": timestamp, "segment_end": timestamp, "nodes": pl.Float64, "rows": pl.Int64},
    )


def test_no_gap_when_the_steps_cover_the_day():
    assert coverage_gaps(steps((t(0), t(6), 2), (t(6), t(12), 1)), t(0), t(12)).is_empty()


def test_a_step_without_rows_and_both_ends_are_gaps():
    found = coverage_gaps(steps((t(1), t(3), 1), (t(3), t(4), 0), (t(4), t(11, 30), 1)), t(0), t(12))
    assert found.rows() == [(t(0), t(1)), (t(3), t(4)), (t(11, 30), t(12))]


def test_overlapping_steps_leave_no_false_gap():
    found = coverage_gaps(steps((t(0), t(8), 1), (t(2), t(5), 1), (t(8), t(12), 1)), t(0), t(12))
    assert found.is_empty()


def test_a_node_count_changing_at_any_second_of_an_hour_covers_it_exactly():
    # Hour k (1 to 3,599) of a 3,600-hour stretch has its change point k
    # seconds after the hour, hour 0 at 0 seconds: every second of an hour
    # is a change point once. Summed in floating point, about one in five
    # came to 0.9999999999999999 and failed the day as "a gap".
    start = t(0)
    bounds = [start + timedelta(hours=k, seconds=k) for k in range(3600)] + [start + timedelta(hours=3600)]
    timestamp = pl.Datetime("us", "UTC")
    log = pl.DataFrame(
        {"interval_start": bounds[:-1], "interval_end": bounds[1:], "model": "m", "role": "decode",
         "gpu_type": "H800", "nodes": [2.0 + k % 2 for k in range(3600)]},
        schema_overrides={"interval_start": timestamp, "interval_end": timestamp},
    )
    hours = calendar.hour_grid(start, bounds[-1])
    steps = capacity.node_count_steps(log)
    hardware = pl.DataFrame({"gpu_type": ["H800"], "gpus_per_node": [8.0], "rental_usd_per_gpu_hour": [2.0]})
    costed = cost.gpu_cost(capacity.node_hours_by_hour(log, hours), hardware)
    no_tokens = pl.DataFrame(schema={"hour_start": timestamp, "cache_hit_tokens": pl.Int64,
                                     "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64,
                                     "requests": pl.Int64, "theoretical_revenue_usd": pl.Float64})
    hourly = statements.hourly_economics(hours, costed, no_tokens, capacity.coverage_by_hour(steps, hours))
    assert steps.height == 3600 and hourly.height == 3600
    assert hourly.filter(pl.col("node_log_coverage") != 1.0).is_empty()
    assert coverage_gaps(steps, start, bounds[-1]).is_empty()


def test_the_issue_day_changing_at_01_00_12_publishes(project):
    # 2 nodes from 00:00:00 to 01:00:12, 3 nodes from 01:00:12 to 24:00 (UTC).
    day = date(2025, 2, 27)
    root = project.root / "input"
    (root / "node_log").mkdir(parents=True)
    (root / "token_counts").mkdir(parents=True)
    (root / "node_log" / f"{day}.csv").write_text(
        "interval_start,interval_end,model,role,gpu_type,nodes\n"
        "2025-02-27T00:00:00Z,2025-02-27T01:00:12Z,deepseek-r1,decode,H800,2\n"
        "2025-02-27T01:00:12Z,2025-02-28T00:00:00Z,deepseek-r1,decode,H800,3\n"
    )
    (root / "token_counts" / f"{day}.csv").write_text(
        "hour_start,model,channel,cache_hit_tokens,cache_miss_tokens,output_tokens,requests\n"
        + "".join(f"2025-02-27T{h:02d}:00:00Z,deepseek-r1,api,1000000,1000000,1000000,10\n" for h in range(24))
    )
    sources = {s: {"path": str(root / s / "{date}.csv")} for s in ("node_log", "token_counts")}
    project.write_config({"business_day": {"timezone": "UTC", "start": "00:00"}, "sources": sources})
    row = daily_books(day, str(project.config_path))
    assert row["status"] == "published"
    # 2 nodes for 1 h 12 s, 3 nodes for 22 h 59 min 48 s: 72 - 1 h 12 s = 71.99666... node-hours.
    assert row["node_hours"] == pytest.approx(72 - (3600 + 12) / 3600)
    assert row["peak_nodes"] == 3.0
    coverage = published(project.config, "SELECT min(node_log_coverage), max(node_log_coverage) FROM hourly_economics")
    assert coverage == [(1.0, 1.0)]

"""``checks.coverage_gaps`` on tiny hand-made step functions."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from transforms.checks import coverage_gaps


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

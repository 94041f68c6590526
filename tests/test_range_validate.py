"""One GX run per suite over several days gives each day the outcome a run
of its own frame gives: row failures, uniqueness within the day, table
expectations (row counts, with a per-day parameter, and column sums)."""

from __future__ import annotations

import pytest

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from openbooks.flows.checks import validate
from openbooks.flows.checks.range_validate import validate_days

pytestmark = pytest.mark.pure  # no flow, no command

SUITES = Path(__file__).resolve().parents[1] / "expectations"
DAYS = [date(2025, 3, 8), date(2025, 3, 9), date(2025, 3, 10)]


def _hourly(day: date, hours: int, *, duplicate: bool = False, negative: bool = False) -> pl.DataFrame:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    stamps = [start + timedelta(hours=h) for h in range(hours)]
    if duplicate:
        stamps[1] = stamps[0]
    cost = [-1.0 if negative and h == 2 else 10.0 for h in range(hours)]
    return pl.DataFrame({"hour_start": stamps, "node_log_coverage": [1.0] * hours, "unpriced_token_rows": [0] * hours,
                         "gpu_cost_usd": cost, "theoretical_revenue_usd": [5.0] * hours})


def _breakdown(total: float) -> pl.DataFrame:
    return pl.DataFrame({"line": ["gpu", "power"], "usd": [total, 0.0]})


def _same_as_alone(frames: dict, suite: str, parameters: dict) -> None:
    path = SUITES / f"{suite}.json"
    together = validate_days(frames, path, parameters)
    for day, frame in frames.items():
        alone = validate.validate_frame(frame, path, parameters[day])
        assert together[day].summary() == alone.summary()
        assert [(f.expectation, f.column, f.expected, f.row, f.value) for f in together[day].failures] == [
            (f.expectation, f.column, f.expected, f.row, f.value) for f in alone.failures
        ]


def test_each_day_gets_the_outcome_of_its_own_frame():
    hourly = {DAYS[0]: _hourly(DAYS[0], 24, duplicate=True), DAYS[1]: _hourly(DAYS[1], 23),
              DAYS[2]: _hourly(DAYS[2], 22, negative=True)}  # day 3 is short of its 24 hours
    hours = {DAYS[0]: {"hours_in_day": 24}, DAYS[1]: {"hours_in_day": 23}, DAYS[2]: {"hours_in_day": 24}}
    _same_as_alone(hourly, "hourly_economics", hours)
    outcomes = validate_days(hourly, SUITES / "hourly_economics.json", hours)
    assert outcomes[DAYS[1]].success and not outcomes[DAYS[0]].success and not outcomes[DAYS[2]].success

    breakdown = {DAYS[0]: _breakdown(5.0), DAYS[1]: _breakdown(0.0), DAYS[2]: _breakdown(1.0).head(0)}
    _same_as_alone(breakdown, "cost_breakdown", {day: {} for day in DAYS})


def test_a_long_range_of_failing_days_fails_every_one_of_them():
    """GX lists the values of only the first 200 failing rows: every failing
    row of a year of days is still attributed to its day."""
    days = [date(2024, 3, 1) + timedelta(days=n) for n in range(20)]
    frames = {day: _hourly(day, 24).with_columns(unpriced_token_rows=pl.lit(6, pl.Int64)) for day in days}
    outcomes = validate_days(frames, SUITES / "hourly_economics.json", {day: {"hours_in_day": 24} for day in days})
    assert all(len(outcomes[day].failures) == 24 for day in days)
    assert {f.value for day in days for f in outcomes[day].failures} == {6}
    _same_as_alone({days[-1]: frames[days[-1]]}, "hourly_economics", {days[-1]: {"hours_in_day": 24}})


def test_a_days_sum_is_the_sum_gx_checks_to_the_last_bit():
    """The per-day sums a range's suite checks are taken without pandas, as
    pandas takes them: nulls and NaN count as 0, and an integer column with
    nulls is summed as float64."""
    import random

    from openbooks.flows.checks.range_validate import pandas_sum

    random.seed(13)
    columns = [
        pl.Series([random.uniform(-1e6, 1e6) for _ in range(5000)]),
        pl.Series([0.1] * 1000 + [None] * 7 + [1e-9] * 3000),
        pl.Series([1.5, float("nan"), None, 2.25]),
        pl.Series([0.1, 0.2], dtype=pl.Float32),
        pl.Series([1, 2, None, 4]),
        pl.Series([1, 2, 3], dtype=pl.Int32),
        pl.Series([], dtype=pl.Float64),
    ]
    for column in columns:
        theirs, ours = column.to_pandas().sum(), pandas_sum(column)
        assert ours == theirs and type(ours) is type(theirs), column

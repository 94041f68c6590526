"""The counter rules (openbooks.transforms.counters) on tiny series worked by hand.

The day is 2025-02-27 00:00-03:00 UTC (three hours); times below are
minutes from its start (``m(61)`` = 01:01). A series is ``[(minute, value)]``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl

from openbooks.transforms import counters

START = datetime(2025, 2, 27, tzinfo=timezone.utc)
END = START + timedelta(hours=3)
GAP = 600.0  # max_gap_seconds


def m(minutes: float) -> float:
    return START.timestamp() + minutes * 60


def frame(*series: list[tuple[float, float]], created: dict[int, list[tuple[float, float]]] | None = None):
    rows = [(number, m(minute), value) for number, one in enumerate(series) for minute, value in one]
    samples = counters.samples_frame(rows)
    if created:
        known = pl.DataFrame([(n, m(minute), m(at)) for n, pairs in created.items() for minute, at in pairs],
                             schema={"series": pl.Int64, "ts": pl.Float64, "created": pl.Float64}, orient="row")
        samples = counters.with_created(samples, known)
    return samples


def booked(samples: pl.DataFrame, start=START, end=END) -> dict[int, int]:
    """Hour of the day (0, 1, 2) → tokens booked."""
    found = counters.increases(samples, start, end, GAP)
    hours = found.group_by("hour_start").agg(pl.col("tokens").sum()).sort("hour_start")
    return {int((h - start).total_seconds() // 3600): t for h, t in hours.iter_rows()}


def test_step_aligned_samples_book_each_hour_to_itself():
    # baseline 100 at 00:00; 150 at 01:00, 170 at 02:00, 200 at 03:00 (the day's end, in the day)
    samples = frame([(-5, 90), (0, 100), (60, 150), (120, 170), (180, 200), (185, 999)])
    assert booked(samples) == {0: 50, 1: 20, 2: 30}


def test_a_sample_straddling_an_hour_books_to_the_later_samples_hour():
    # 00:50 → 01:10 (+40) belongs to hour 01; 01:10 → 02:00 (+5) to hour 01 too
    samples = frame([(-1, 0), (50, 60), (70, 100), (120, 105)])
    assert booked(samples) == {0: 60, 1: 45}


def test_days_neither_share_nor_drop_a_difference():
    samples = frame([(-1, 0), (30, 10), (60, 25), (90, 40), (120, 70), (180, 71)])
    middle = START + timedelta(hours=1)  # the sample at 01:00 ends the first part and is the second's baseline
    first, second = booked(samples, START, middle), booked(samples, middle, END)
    assert first == {0: 25} and second == {0: 15 + 30, 1: 1}  # hours count from each part's start
    assert sum(first.values()) + sum(second.values()) == 71


def test_a_drop_is_a_restart_counted_from_zero():
    # 1000 → 1200 (+200); restarted: 30 (+30 from 0); 80 (+50)
    samples = frame([(-1, 1000), (20, 1200), (40, 30), (70, 80)])
    found = counters.increases(samples, START, END, GAP)
    assert found["tokens"].to_list() == [200, 30, 50]
    assert found["restart"].to_list() == [False, True, False]


def test_a_restart_on_an_hour_boundary_books_to_the_hour_it_ends():
    # restarted between 00:55 and 01:00; the sample at exactly 01:00 (value 7) closes hour 00
    samples = frame([(-1, 500), (55, 520), (60, 7), (65, 19)])
    assert booked(samples) == {0: 20 + 7, 1: 12}


def test_a_moved_created_is_a_restart_even_without_a_drop():
    # the count grew past its old value after a restart: only _created shows it (80 counted from 0, not +20)
    samples = frame([(-1, 40), (10, 60), (30, 80), (40, 90)], created={0: [(-1, -600), (10, -600), (30, 25), (40, 25)]})
    found = counters.increases(samples, START, END, GAP)
    assert found["tokens"].to_list() == [20, 80, 10]
    assert found["restart"].to_list() == [False, True, False]


def test_two_restarts_in_one_hour_one_seen_by_a_drop_one_by_created():
    samples = frame([(-1, 1000), (10, 1100), (20, 50), (35, 90), (50, 95)],
                    created={0: [(-1, -60), (20, 15), (35, 30), (50, 30)]})
    # +100; restart (drop and moved): 50; restart (moved, no drop): 90; +5
    assert counters.increases(samples, START, END, GAP)["tokens"].to_list() == [100, 50, 90, 5]
    assert booked(samples) == {0: 245}


def test_no_baseline_and_no_created_is_refused_and_books_nothing():
    # a saved query_range starting after the day's start: 5000 may be a lifetime total
    samples = frame([(5, 5000), (60, 5100)], [(-1, 10), (60, 20)])
    refused = counters.unbaselined(samples, START, END, GAP)
    assert refused.rows() == [(0, m(5), 5000.0)]
    assert counters.increases(samples, START, END, GAP)["series"].to_list() == [1]


def test_a_query_range_from_exactly_the_day_start_has_its_baseline():
    samples = frame([(0, 5000), (60, 5100), (120, 5150)])
    assert counters.unbaselined(samples, START, END, GAP).is_empty()
    assert booked(samples) == {0: 100, 1: 50}


def test_a_pod_created_in_the_day_counts_from_zero_at_creation():
    # created 01:20, first scraped 01:25 with 300 already served
    samples = frame([(85, 300), (120, 420)], created={0: [(85, 80), (120, 80)]})
    assert counters.unbaselined(samples, START, END, GAP).is_empty()
    assert booked(samples) == {1: 420}


def test_created_long_before_the_day_without_a_baseline_is_refused():
    samples = frame([(5, 9000), (60, 9100)], created={0: [(5, -3000), (60, -3000)]})
    assert counters.unbaselined(samples, START, END, GAP)["series"].to_list() == [0]


def test_created_just_before_the_day_within_max_gap_of_its_first_sample_counts_from_zero():
    # born 23:58 the day before, first scraped 00:03 (5 minutes, within the 10-minute max gap)
    samples = frame([(3, 40), (30, 90)], created={0: [(3, -2), (30, -2)]})
    assert counters.unbaselined(samples, START, END, GAP).is_empty()
    assert booked(samples) == {0: 90}


def test_a_first_value_of_zero_is_its_own_baseline():
    samples = frame([(100, 0), (130, 25)])
    assert counters.unbaselined(samples, START, END, GAP).is_empty()
    assert booked(samples) == {1: 0, 2: 25}


def test_gaps_are_one_row_per_series_with_the_longest():
    # series 0: 00:10 → 01:00 (50 minutes) and 01:10 → 01:25 (15) without a sample; it then stops (no gap)
    # series 1: one sample before the day, the next at 02:50
    samples = frame([(-1, 0), (5, 1), (10, 2), (60, 3), (70, 4), (85, 5)], [(-1, 0), (170, 1)])
    found = counters.gaps(samples, START, END, GAP)
    assert found.rows() == [(0, 2, m(10), m(60)), (1, 1, m(-1), m(170))]


def test_a_pod_born_in_the_day_and_scraped_late_has_a_gap_from_its_creation():
    samples = frame([(90, 10), (95, 11)], created={0: [(90, 60), (95, 60)]})
    assert counters.gaps(samples, START, END, GAP).rows() == [(0, 1, m(60), m(90))]


def test_values_that_are_no_counter_values_are_set_aside_once_per_series():
    samples = frame([(-1, 0), (10, 2.5), (20, -1), (30, 7)])
    assert counters.not_counter_values(samples, END.timestamp()).rows() == [(0, 2, m(10), 2.5)]
    assert counters.increases(samples, START, END, GAP)["tokens"].to_list() == [7]

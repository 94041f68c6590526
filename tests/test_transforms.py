"""Each transform on tiny frames whose answers were worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from openbooks.transforms import calendar, capacity, checks, cost, pricing, ratios, statements

pytestmark = pytest.mark.pure  # no flow, no command



def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def node_rows(*rows) -> pl.DataFrame:
    """(start, end, model, role, gpu_type, nodes) tuples → a staged node log."""
    return pl.DataFrame(
        rows,
        schema={
            "interval_start": pl.Datetime("us", "UTC"), "interval_end": pl.Datetime("us", "UTC"),
            "model": pl.String, "role": pl.String, "gpu_type": pl.String, "nodes": pl.Float64,
        },
        orient="row",
    )


def test_day_window_noon_shanghai_is_04_utc():
    assert calendar.day_window(date(2025, 2, 27), "Asia/Shanghai", time(12)) == (
        utc(2025, 2, 27, 4), utc(2025, 2, 28, 4)
    )


@pytest.mark.parametrize(
    ("day", "hours"), [(date(2025, 3, 9), 23), (date(2025, 11, 2), 25), (date(2025, 3, 10), 24)]
)
def test_day_window_across_dst_has_23_or_25_hours(day, hours):
    start, end = calendar.day_window(day, "America/New_York", time(0))
    assert calendar.hour_grid(start, end).height == hours
    assert (end - start).total_seconds() == hours * 3600


def test_hour_grid_clips_a_partial_last_hour():
    grid = calendar.hour_grid(utc(2025, 1, 1, 0), utc(2025, 1, 1, 2, 30))
    assert grid["hours"].to_list() == [1.0, 1.0, 0.5]
    assert grid["hour_end"][-1] == utc(2025, 1, 1, 2, 30)


def test_node_hours_split_an_interval_across_hours():
    # 10 nodes from 00:30 to 02:00: 5 node-hours in hour 0, 10 in hour 1.
    log = node_rows((utc(2025, 1, 1, 0, 30), utc(2025, 1, 1, 2), "m", "decode", "H800", 10.0))
    hours = calendar.hour_grid(utc(2025, 1, 1), utc(2025, 1, 1, 3))
    got = capacity.node_hours_by_hour(log, hours)
    assert got["hour_start"].to_list() == [utc(2025, 1, 1, 0), utc(2025, 1, 1, 1)]
    assert got["node_hours"].to_list() == [5.0, 10.0]


def test_clip_to_day_cuts_intervals_at_the_edges():
    log = node_rows(
        (utc(2024, 12, 31, 23), utc(2025, 1, 1, 1), "m", "decode", "H800", 4.0),
        (utc(2024, 12, 31, 20), utc(2024, 12, 31, 21), "m", "decode", "H800", 4.0),
    )
    clipped = capacity.clip_to_day(log, utc(2025, 1, 1), utc(2025, 1, 2))
    assert clipped.height == 1
    assert clipped["interval_start"][0] == utc(2025, 1, 1)


def test_node_count_steps_sum_models_merge_equal_steps_and_show_gaps():
    log = node_rows(
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), "a", "prefill", "H800", 4.0),
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), "b", "decode", "H800", 18.0),
        (utc(2025, 1, 1, 1), utc(2025, 1, 1, 2), "a", "prefill", "H800", 22.0),
        (utc(2025, 1, 1, 3), utc(2025, 1, 1, 4), "a", "prefill", "H800", 8.0),
    )
    steps = capacity.node_count_steps(log)
    expected = pl.DataFrame(
        {
            "segment_start": [utc(2025, 1, 1, 0), utc(2025, 1, 1, 2), utc(2025, 1, 1, 3)],
            "segment_end": [utc(2025, 1, 1, 2), utc(2025, 1, 1, 3), utc(2025, 1, 1, 4)],
            "nodes": [22.0, 0.0, 8.0],
            "rows": [2, 0, 1],
        },
        schema_overrides={"segment_start": pl.Datetime("us", "UTC"), "segment_end": pl.Datetime("us", "UTC")},
    )
    assert_frame_equal(steps, expected)


def test_coverage_counts_the_gap():
    log = node_rows(
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 0, 15), "a", "prefill", "H800", 4.0),
        (utc(2025, 1, 1, 0, 45), utc(2025, 1, 1, 1), "a", "prefill", "H800", 4.0),
    )
    hours = calendar.hour_grid(utc(2025, 1, 1), utc(2025, 1, 1, 1))
    coverage = capacity.coverage_by_hour(capacity.node_count_steps(log), hours)
    assert coverage["covered_hours"].to_list() == [0.5]


def test_gpu_cost_is_gpu_hours_times_rental():
    node_hours = pl.DataFrame({"gpu_type": ["H800", "H100"], "node_hours": [2.0, 1.0]})
    hardware = pl.DataFrame(
        {"gpu_type": ["H800", "H100"], "gpus_per_node": [8.0, 4.0], "rental_usd_per_gpu_hour": [2.0, 3.0]}
    )
    got = cost.gpu_cost(node_hours, hardware)
    assert got["gpu_hours"].to_list() == [16.0, 4.0]
    assert got["gpu_cost_usd"].to_list() == [32.0, 12.0]


def test_prices_by_hour_follow_effective_dates():
    prices = pl.DataFrame(
        {
            "card": ["c", "c"], "model": ["m", "m"],
            "effective_from": [utc(2025, 1, 1), utc(2025, 1, 1, 2)],
            "effective_to": [utc(2025, 1, 1, 2), None],
            "input_cache_hit": [1.0, 2.0], "input_cache_miss": [1.0, 2.0], "output": [1.0, 2.0],
        },
        schema_overrides={"effective_to": pl.Datetime("us", "UTC"), "effective_from": pl.Datetime("us", "UTC")},
    )
    hours = calendar.hour_grid(utc(2025, 1, 1), utc(2025, 1, 1, 4))
    assert pricing.prices_by_hour(prices, hours)["output"].to_list() == [1.0, 1.0, 2.0, 2.0]


def test_theoretical_revenue_prices_every_model_at_the_reference_price():
    hourly_prices = pl.DataFrame(
        {
            "hour_start": [utc(2025, 1, 1)] * 2, "card": ["c", "c"], "model": ["r1", "v3"],
            "input_cache_hit": [0.14, 0.07], "input_cache_miss": [0.55, 0.27], "output": [2.19, 1.10],
        }
    )
    tokens = pl.DataFrame(
        {
            "hour_start": [utc(2025, 1, 1)] * 2, "model": ["r1", "v3"],
            "cache_hit_tokens": [1_000_000, 2_000_000], "cache_miss_tokens": [1_000_000, 0],
            "output_tokens": [1_000_000, 1_000_000],
        }
    )
    got = pricing.theoretical_revenue(tokens, hourly_prices, card="c", reference_model="r1")
    # r1 row: 0.14 + 0.55 + 2.19 = 2.88; v3 row at r1 prices: 2 × 0.14 + 2.19 = 2.47.
    assert got["theoretical_revenue_usd"].to_list() == pytest.approx([2.88, 2.47])


def test_ratios():
    frame = pl.DataFrame({"revenue": [562_027.0, 0.0], "cost": [87_072.0, 10.0], "hit": [342, 0], "miss": [266, 0]})
    got = frame.select(
        cpm=ratios.cost_profit_margin(pl.col("revenue"), pl.col("cost")),
        gm=ratios.gross_margin(pl.col("revenue"), pl.col("cost")),
        hit_rate=ratios.cache_hit_rate(pl.col("hit"), pl.col("miss")),
    )
    assert got["cpm"][0] == pytest.approx(5.4547, abs=1e-4)
    assert got["gm"][0] == pytest.approx(0.8451, abs=1e-4)
    assert got["gm"][1] is None
    assert got["hit_rate"].to_list() == [pytest.approx(0.5625), None]


def test_flags_overlap_within_a_key_only():
    log = node_rows(
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), "a", "decode", "H800", 1.0),
        (utc(2025, 1, 1, 0, 30), utc(2025, 1, 1, 2), "a", "decode", "H800", 1.0),
        (utc(2025, 1, 1, 0, 30), utc(2025, 1, 1, 2), "b", "decode", "H800", 1.0),
    )
    flagged = checks.flag_node_rows(log, utc(2025, 1, 1), utc(2025, 1, 2))
    assert flagged["no_overlap"].to_list() == [True, False, True]
    assert flagged["within_day"].all()


def test_token_rows_off_the_hour_grid_or_outside_the_day_are_flagged():
    tokens = pl.DataFrame({"hour_start": [utc(2025, 1, 1, 0), utc(2025, 1, 1, 0, 30), utc(2025, 1, 2)]})
    flagged = checks.flag_token_rows(tokens, utc(2025, 1, 1), utc(2025, 1, 2))
    assert flagged["on_hour_grid"].to_list() == [True, False, True]
    assert flagged["within_day"].to_list() == [True, True, False]


def test_hourly_and_daily_economics_on_a_two_hour_day():
    hours = calendar.hour_grid(utc(2025, 1, 1), utc(2025, 1, 1, 2))
    log = node_rows(
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 2), "m", "decode", "H800", 2.0),
        (utc(2025, 1, 1, 1), utc(2025, 1, 1, 2), "m", "prefill", "H800", 1.0),
        (utc(2025, 1, 1, 0), utc(2025, 1, 1, 1), "x", "training", "H800", 5.0),
    )
    hardware = pl.DataFrame({"gpu_type": ["H800"], "gpus_per_node": [8.0], "rental_usd_per_gpu_hour": [2.0]})
    costed = cost.gpu_cost(capacity.node_hours_by_hour(log, hours), hardware)
    priced = pl.DataFrame(
        {
            "hour_start": [utc(2025, 1, 1, 0), utc(2025, 1, 1, 1)], "cache_hit_tokens": [30, 0],
            "cache_miss_tokens": [10, 40], "output_tokens": [5, 5], "requests": [1, 1],
            "theoretical_revenue_usd": [100.0, 20.0],
        }
    )
    steps = capacity.node_count_steps(capacity.serving(log))
    hourly = statements.hourly_economics(hours, costed, priced, capacity.coverage_by_hour(steps, hours))
    # hour 0: 2 decode nodes → 16 GPU-h → $32; hour 1: 3 nodes → $48. Training is not serving cost.
    assert hourly["gpu_cost_usd"].to_list() == [32.0, 48.0]
    assert hourly["avg_nodes"].to_list() == [2.0, 3.0]
    assert hourly["training_node_hours"].to_list() == [5.0, 0.0]
    assert hourly["node_log_coverage"].to_list() == [1.0, 1.0]
    daily = statements.daily_economics(
        hourly, steps, day=date(2025, 1, 1), day_start=utc(2025, 1, 1), day_end=utc(2025, 1, 1, 2),
        reference_model="m",
    ).row(0, named=True)
    assert daily["node_hours"] == 5.0 and daily["peak_nodes"] == 3.0 and daily["avg_nodes"] == 2.5
    assert daily["gpu_cost_usd"] == 80.0 and daily["theoretical_revenue_usd"] == 120.0
    assert daily["cost_profit_margin"] == pytest.approx(0.5)
    assert daily["gross_margin"] == pytest.approx(40 / 120)
    assert daily["cache_hit_rate"] == pytest.approx(30 / 80)

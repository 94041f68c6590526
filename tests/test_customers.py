"""customer_economics on tiny hand-computed frames."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from openbooks.transforms.customers import billed_revenue, customer_economics, price_change_hours, role_cost_shares

pytestmark = pytest.mark.pure  # no flow, no command

H0 = datetime(2025, 2, 27, 4, tzinfo=UTC)
H1 = datetime(2025, 2, 27, 5, tzinfo=UTC)


def hourly_prices(r1_output_at_h1: float = 2.19) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "hour_start": [H0, H0, H1, H1],
            "card": ["deepseek"] * 4,
            "model": ["deepseek-r1", "deepseek-v3"] * 2,
            "input_cache_hit": [0.14, 0.07, 0.14, 0.07],
            "input_cache_miss": [0.55, 0.27, 0.55, 0.27],
            "output": [2.19, 1.10, r1_output_at_h1, 1.10],
        }
    ).with_columns(pl.col("hour_start").dt.cast_time_unit("us"))


def usage() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "model": ["deepseek-r1", "deepseek-v3", "deepseek-r1"],
            "channel": ["api", "api", "web"],
            "hour_start": [H0, H0, H0],
            "requests": [3, 1, 4],
            "cache_hit_tokens": [1_000_000, 0, 5_000_000],
            "cache_miss_tokens": [0, 2_000_000, 2_000_000],
            "output_tokens": [1_000_000, 0, 3_000_000],
        }
    ).with_columns(pl.col("hour_start").dt.cast_time_unit("us"))


def test_cost_split_by_node_hours_then_by_tokens_and_revenue_of_billable_channels():
    prefill, decode = role_cost_shares(100.0, prefill_node_hours=1.0, decode_node_hours=3.0)
    assert (prefill, decode) == (25.0, 75.0)
    priced = billed_revenue(usage(), hourly_prices(), card="deepseek", billable_channels=["api"])
    result = customer_economics(priced, prefill_cost_usd=prefill, decode_cost_usd=decode)
    a, b = result.sort("customer_id").iter_rows(named=True)
    # a: R1 api 1M hits + 1M output = 0.14 + 2.19; V3 api 2M misses = 0.54. b is web: free.
    assert a["billed_revenue_usd"] == pytest.approx(2.87) and b["billed_revenue_usd"] == 0
    # input tokens a 3M of 10M, b 7M; output a 1M of 4M, b 3M.
    assert a["allocated_cost_usd"] == pytest.approx(25 * 0.3 + 75 * 0.25)
    assert b["allocated_cost_usd"] == pytest.approx(25 * 0.7 + 75 * 0.75)
    assert result["allocated_cost_usd"].sum() == pytest.approx(100.0)
    assert a["margin_usd"] == pytest.approx(2.87 - 26.25)
    assert (a["requests"], a["input_tokens"]) == (4, 3_000_000)


def test_price_periods_start_where_a_price_changes():
    hours = pl.DataFrame({"hour_start": [H0, H1]}).with_columns(pl.col("hour_start").dt.cast_time_unit("us"))
    assert price_change_hours(hourly_prices(), hours) == []
    assert price_change_hours(hourly_prices(r1_output_at_h1=1.0), hours) == [1]


def test_billed_prices_follow_the_rules_and_split_price_periods_where_they_change():
    from datetime import time

    from tests.test_economics import ALL_DAYS, factors, prices, rules, utc
    from openbooks.transforms import billing, calendar, pricing

    # 16:30-00:30 UTC, 50% off: from 15:00, the 16:00 hour pays 75% of list, 17:00 on 50%.
    start, end = utc(2025, 2, 27, 15), utc(2025, 2, 27, 19)
    hours = calendar.hour_grid(start, end)
    night = rules(("night", time(16, 30), time(0, 30), ALL_DAYS, date(2025, 2, 26)))
    shares = billing.window_share_by_hour(billing.rule_windows(night, start, end), hours)
    billed = billing.billed_prices_by_hour(
        pricing.prices_by_hour(prices(("c", "m", 0.2, 0.4, 2.0)), hours), shares, factors(("night", "m", 0.5)), card="c"
    )
    assert billed["output"].to_list() == [2.0, 1.5, 1.0, 1.0]
    assert billed["input_cache_hit"].to_list() == pytest.approx([0.2, 0.15, 0.1, 0.1])
    # Usage summed over each period of one billed price: from hours 0, 1 and 2 of the day.
    assert price_change_hours(billed, hours) == [1, 2]

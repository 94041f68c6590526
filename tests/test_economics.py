"""The economics in depth on tiny frames whose answers were worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import polars as pl
import pytest

from openbooks.config import load_config
from openbooks.errors import ConfigError
from tests.conftest import base_config_data, deep_merge
from openbooks.transforms import billing, books, calendar, cache, claims, loaded_cost, pricing, waterfall

pytestmark = pytest.mark.pure  # no flow, no command

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS = ALL_DAYS[:5]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rules(*rows) -> pl.DataFrame:
    """(rule, start, end, days, effective_from) on card "c", read in UTC."""
    return pl.DataFrame(
        [
            {"card": "c", "rule": r, "start": s, "end": e, "timezone": "UTC", "days": d, "effective_from": f,
             "effective_to": None}
            for r, s, e, d, f in rows
        ],
        schema={"card": pl.String, "rule": pl.String, "start": pl.Time, "end": pl.Time, "timezone": pl.String,
                "days": pl.List(pl.String), "effective_from": pl.Date, "effective_to": pl.Date},
    )


def factors(*rows) -> pl.DataFrame:
    """(rule, model, factor) on card "c"."""
    return pl.DataFrame([{"card": "c", "rule": r, "model": m, "factor": f} for r, m, f in rows],
                        schema={"card": pl.String, "rule": pl.String, "model": pl.String, "factor": pl.Float64})


def prices(*rows) -> pl.DataFrame:
    """(card, model, hit, miss, output) in force throughout."""
    return pl.DataFrame(
        [{"card": c, "model": m, "effective_from": utc(2020, 1, 1), "effective_to": None,
          "input_cache_hit": h, "input_cache_miss": i, "output": o} for c, m, h, i, o in rows],
        schema={"card": pl.String, "model": pl.String, "effective_from": pl.Datetime("us", "UTC"),
                "effective_to": pl.Datetime("us", "UTC"), "input_cache_hit": pl.Float64,
                "input_cache_miss": pl.Float64, "output": pl.Float64},
    )


def tokens(*rows) -> pl.DataFrame:
    """(hour_start, model, channel, hit, miss, output)."""
    return pl.DataFrame(
        rows,
        schema={"hour_start": pl.Datetime("us", "UTC"), "model": pl.String, "channel": pl.String,
                "cache_hit_tokens": pl.Int64, "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64},
        orient="row",
    )


def factors_by_hour(rule_frame, factor_frame, start, end, models) -> dict[str, list[float]]:
    hours = calendar.hour_grid(start, end)
    shares = billing.window_share_by_hour(billing.rule_windows(rule_frame, start, end), hours)
    rows = tokens(*[(h, m, "api", 0, 0, 0) for m in models for h in hours["hour_start"]])
    priced = billing.price_factor(rows, shares, factor_frame, "c").sort("model", "hour_start")
    return {m: priced.filter(pl.col("model") == m)["price_factor"].to_list() for m in models}


def test_a_discount_window_crossing_midnight_cuts_the_hours_at_its_ends_in_half():
    # 16:30-00:30 UTC, V3 50% off, R1 75% off. The 16:00 and 00:00 hours are half
    # inside: V3 at 1 - 0.5 x 0.5 = 75% of list, R1 at 1 - 0.5 x 0.75 = 62.5%.
    night = rules(("night", time(16, 30), time(0, 30), ALL_DAYS, date(2025, 2, 26)))
    off = factors(("night", "v3", 0.5), ("night", "r1", 0.25))
    got = factors_by_hour(night, off, utc(2025, 2, 27, 15), utc(2025, 2, 28, 2), ["r1", "v3"])
    #                15    16     17-23        00     01
    assert got["v3"] == [1.0, 0.75, *[0.5] * 7, 0.75, 1.0]
    assert got["r1"] == [1.0, 0.625, *[0.25] * 7, 0.625, 1.0]


def test_a_window_is_not_in_force_before_its_effective_date():
    # From 2025-02-26: the window starting on the 25th at 16:30 does not exist,
    # so the 26th's first hours are at list; the one starting on the 26th does.
    night = rules(("night", time(16, 30), time(0, 30), ALL_DAYS, date(2025, 2, 26)))
    got = factors_by_hour(night, factors(("night", "*", 0.5)), utc(2025, 2, 26, 0), utc(2025, 2, 26, 18), ["m"])
    assert got["m"] == [1.0] * 16 + [0.75, 0.5]


def test_peak_windows_bill_twice_list_on_a_weekday_and_not_on_a_weekend_day():
    peak = rules(("night", time(1), time(4), WEEKDAYS, date(2026, 8, 1)),
                 ("morning", time(6), time(10), WEEKDAYS, date(2026, 8, 1)))
    doubled = factors(("night", "*", 2.0), ("morning", "*", 2.0))
    friday = factors_by_hour(peak, doubled, utc(2026, 8, 7), utc(2026, 8, 8), ["m"])["m"]
    saturday = factors_by_hour(peak, doubled, utc(2026, 8, 8), utc(2026, 8, 9), ["m"])["m"]
    assert friday == [1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0] + [1.0] * 14
    assert saturday == [1.0] * 24


def test_a_window_in_another_timezone_is_the_same_window_in_utc():
    shanghai = rules(("night", time(0, 30), time(8, 30), ALL_DAYS, date(2025, 1, 1))).with_columns(
        timezone=pl.lit("Asia/Shanghai")
    )
    got = factors_by_hour(shanghai, factors(("night", "*", 0.5)), utc(2025, 2, 27, 15), utc(2025, 2, 28, 2), ["m"])
    assert got["m"] == [1.0, 0.75, *[0.5] * 7, 0.75, 1.0]


def test_billed_revenue_prices_each_model_on_its_own_and_only_billable_channels():
    # r1 api: 1M hit x 0.14 + 1M miss x 0.55 + 1M out x 2.19 = 2.88, half price in the window → 1.44
    # v3 api: 2M out x 1.10 = 2.20 at list; web traffic is free.
    hour = utc(2025, 2, 27, 18)
    rows = tokens((hour, "r1", "api", 1_000_000, 1_000_000, 1_000_000), (hour, "v3", "api", 0, 0, 2_000_000),
                  (hour, "v3", "web", 0, 0, 5_000_000))
    book = prices(("c", "r1", 0.14, 0.55, 2.19), ("c", "v3", 0.07, 0.27, 1.10))
    hours = calendar.hour_grid(hour, utc(2025, 2, 27, 19))
    shares = billing.window_share_by_hour(
        billing.rule_windows(rules(("n", time(16, 30), time(0, 30), ALL_DAYS, date(2025, 2, 26))), hour, hours["hour_end"][0]),
        hours,
    )
    billed = billing.bill_tokens(rows, pricing.prices_by_hour(book, hours), shares, factors(("n", "r1", 0.5)),
                                 card="c", billable_channels=["api"])
    assert billed["list_revenue_usd"].to_list() == pytest.approx([2.88, 2.20, 5.50])
    assert billed["billed_revenue_usd"].to_list() == pytest.approx([1.44, 2.20, 0.0])


def test_a_scenario_card_prices_every_model_at_its_one_price_unless_a_model_has_its_own():
    # "*" at $2.50 input / $10 output: 1M hit + 1M miss + 1M out = 2.5 + 2.5 + 10 = $15.
    hour = utc(2025, 2, 27, 4)
    rows = tokens((hour, "r1", "api", 1_000_000, 1_000_000, 1_000_000), (hour, "v3", "web", 1_000_000, 1_000_000, 1_000_000))
    book = prices(("gpt-4o", "*", 2.50, 2.50, 10.0), ("mixed", "*", 2.50, 2.50, 10.0), ("mixed", "v3", 0, 0, 1.0))
    hourly = pricing.prices_by_hour(book, calendar.hour_grid(hour, utc(2025, 2, 27, 5)))
    empty = billing.window_share_by_hour(billing.rule_windows(rules(), hour, hour), calendar.hour_grid(hour, hour))
    gpt = billing.bill_tokens(rows, hourly, empty, factors(), card="gpt-4o", billable_channels=["api"])
    mixed = billing.bill_tokens(rows, hourly, empty, factors(), card="mixed", billable_channels=["api"])
    assert gpt["list_revenue_usd"].to_list() == [15.0, 15.0]
    assert gpt["billed_revenue_usd"].to_list() == [15.0, 0.0]
    assert mixed["list_revenue_usd"].to_list() == [15.0, 1.0]


def test_the_waterfall_steps_sum_to_billed_revenue_to_the_cent():
    # Levels 10.004 → 7.006 → 3.333 → 2.2225 (rounded 10.00, 7.01, 3.33, 2.22).
    billed = pl.DataFrame({
        "model": ["a", "b"],
        "theoretical_revenue_usd": [6.0, 4.004],
        "list_revenue_usd": [3.673, 3.333],
        "billable": [False, True],
        "billed_revenue_usd": [0.0, 2.2225],
    })
    table = waterfall.revenue_waterfall(billed)
    total = table.filter(pl.col("model") == "all")
    assert total["amount_usd"].to_list() == [10.0, -2.99, -3.68, -1.11, 2.22]
    assert total["end_usd"].to_list() == [10.0, 7.01, 3.33, 2.22, 2.22]
    assert waterfall.reconcile(table)["difference_usd"].to_list() == [0.0, 0.0, 0.0]


def test_fully_loaded_cost_with_owned_hardware():
    # 30 owned nodes at $350,400 over 4 years = $10 per node-hour: 30 x 24 x 10 = $7,200.
    # 6 training node-hours credited at 8 GPUs x $2: -$96. Power: 24 serving node-hours
    # x 10 kW x PUE 1.25 x $0.10 = $30. Staff $2,400/day; network $0.50 x 24 node-hours = $12.
    role_hours = pl.DataFrame({"gpu_type": ["H800"] * 4, "role": ["prefill", "decode", "idle", "training"],
                               "node_hours": [10.0, 14.0, 0.0, 6.0]})
    hardware = pl.DataFrame({"gpu_type": ["H800"], "gpus_per_node": [8.0], "rental_usd_per_gpu_hour": [2.0]})
    owned = pl.DataFrame({"gpu_type": ["H800"], "capex_usd_per_node": [350_400.0], "amortization_years": [4.0],
                          "nodes": [30.0]})
    kw = pl.DataFrame({"role": ["prefill", "decode"], "kw_per_node": [10.0, 10.0]})
    lines = pl.DataFrame({"line": ["staff", "network"], "usd_per_day": [2400.0, 0.0], "usd_per_node_hour": [0.0, 0.5]})
    breakdown = loaded_cost.cost_breakdown([
        loaded_cost.amortization(owned, 24.0),
        loaded_cost.training_transfer(role_hours, hardware),
        loaded_cost.power(role_hours, kw, pue=1.25, usd_per_kwh=0.10),
        loaded_cost.declared_lines(lines, serving_node_hours=24.0, hours=24.0),
    ])
    assert breakdown["line"].to_list() == ["hardware amortization", "training transfer", "power", "staff", "network"]
    assert breakdown["usd"].to_list() == pytest.approx([7200.0, -96.0, 30.0, 2400.0, 12.0])
    assert loaded_cost.loaded_cost_usd(breakdown) == pytest.approx(9546.0)
    assert loaded_cost.rental(role_hours, hardware)["usd"].to_list() == [384.0]  # 24 serving node-hours x $16


def test_capacity_efficiency_and_cache_figures():
    # Peak 10 nodes over 24 h, 180 serving node-hours at $16: 60 idle node-hours, 25%, $960.
    day = pl.DataFrame({
        "peak_nodes": [10.0], "hours": [24.0], "node_hours": [180.0], "gpu_cost_usd": [2880.0],
        "loaded_cost_usd": [3600.0], "prefill_node_hours": [60.0], "decode_node_hours": [120.0],
        "input_tokens": [216_000_000], "output_tokens": [43_200_000], "cache_hit_tokens": [36_000_000],
    })
    got = day.select(books.efficiency_columns()).row(0, named=True)
    assert got["idle_capacity_node_hours"] == 60 and got["idle_capacity_share"] == 0.25
    assert got["idle_capacity_usd"] == 960
    assert got["prefill_input_tokens_per_node_second"] == 1000  # 216M / (60 x 3600)
    assert got["decode_output_tokens_per_node_second"] == 100  # 43.2M / (120 x 3600)
    assert got["cost_per_million_input_usd"] == pytest.approx(960 / 216)  # a third of $2,880
    assert got["cost_per_million_output_usd"] == pytest.approx(1920 / 43.2)
    assert got["break_even_output_price_usd"] == pytest.approx(2880 / 43.2)
    saved = day.select(cache.cache_columns(tokens_per_node_second=1000, gpus_per_node=8,
                                           rental_usd_per_gpu_hour=2)).row(0, named=True)
    assert saved == {"cache_saved_node_hours": 10.0, "cache_saved_gpu_hours": 80.0, "cache_saved_usd": 160.0}
    discount = pl.DataFrame({"cache_hit_tokens": [2_000_000], "input_cache_hit": [0.14], "input_cache_miss": [0.55]})
    assert discount.select(cache.cache_discount_usd()).item() == pytest.approx(0.82)


def test_claims_are_confirmed_within_tolerance_rejected_outside_and_flagged_when_unknown():
    daily = pl.DataFrame({"idle_capacity_usd": [19_680.0], "idle_capacity_share": [0.1843525]})
    scenarios = pl.DataFrame({"card": ["v3"], "gross_margin": [0.6896]})
    stated = pl.DataFrame({
        "claim": ["idle", "saves", "v3", "nothing"],
        "figure": ["idle_capacity_share", "idle_capacity_usd", "scenario.v3.gross_margin", "no_such"],
        "stated": [0.184, 78_000.0, 0.70, 1.0], "tolerance": [0.0005, 7_800.0, 0.015, 1.0],
        "source": ["s"] * 4,
    })
    audit = claims.claims_audit(stated, claims.day_figures(daily, scenarios))
    assert audit["verdict"].to_list() == ["confirmed", "rejected", "confirmed", "no such figure"]
    assert audit["computed"][1] == 19_680.0


def write_config(tmp_path, override: dict) -> str:
    path = tmp_path / "openbooks.yaml"
    import yaml

    path.write_text(yaml.safe_dump(deep_merge(base_config_data(), override)))
    return path


def test_price_rules_and_cost_lines_are_checked_with_file_and_key(tmp_path):
    rule = {"name": "both", "start": "01:00", "end": "02:00", "discount": 0.5, "multiplier": 2.0}
    path = write_config(tmp_path, {"price_book": {"cards": {"deepseek": {"rules": [rule]}}}})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}: price_book.cards.deepseek.rules.0: give exactly one of discount" in str(info.value)
    path = write_config(tmp_path, {"costs": {"compute": "owned", "owned": {"A100": {
        "capex_usd_per_node": 1, "amortization_years": 1}}}})
    with pytest.raises(ConfigError, match="costs.owned names GPU type"):
        load_config(path)
    path = write_config(tmp_path, {"costs": {"lines": {"power": {"usd_per_day": 1}}}})
    with pytest.raises(ConfigError, match="costs: .*clash with the built-in lines"):
        load_config(path)


def test_the_waterfall_suite_refuses_steps_that_do_not_sum_to_billed_revenue():
    from openbooks.flows.checks import validate
    from tests.conftest import REPO

    off_by_a_cent = pl.DataFrame({"model": ["all"], "steps_usd": [10.01], "billed_revenue_usd": [10.0],
                                  "difference_usd": [0.01]})
    outcome = validate.validate_frame(off_by_a_cent, REPO / "expectations" / "revenue_waterfall.json", {})
    lines = validate.describe_failures(outcome, lambda i: f"revenue_waterfall row {i}")
    assert lines == ["revenue_waterfall row 0 column difference_usd: "
                     "expected the waterfall steps to sum to billed revenue to the cent, got 0.01"]

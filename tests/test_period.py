"""Period statements: sums over days, ratios from the sums, the days named
that are missing or failed, the change against the previous period. Figures
worked by hand below."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from openbooks.transforms import period

pytestmark = pytest.mark.pure  # no flow, no command


def day(d: date, *, gpu, theoretical, hits, misses, output, node_hours, peak, billed, loaded) -> dict:
    return {
        "day": d, "hours": 24.0, "node_hours": node_hours, "gpu_hours": node_hours * 8, "peak_nodes": peak,
        "gpu_cost_usd": gpu, "input_tokens": hits + misses, "cache_hit_tokens": hits, "cache_miss_tokens": misses,
        "output_tokens": output, "requests": 10, "theoretical_revenue_usd": theoretical,
        "prefill_node_hours": node_hours / 2, "decode_node_hours": node_hours / 2, "serving_node_hours": 0.0,
        "idle_node_hours": 0.0,
        "training_node_hours": 0.0, "billed_revenue_usd": billed, "loaded_cost_usd": loaded,
        "idle_capacity_node_hours": peak * 24 - node_hours, "idle_capacity_usd": 0.0,
        "training_node_hours_credit_usd": 0.0, "cache_discount_usd": 0.0, "cache_saved_node_hours": 0.0,
        "cache_saved_gpu_hours": 0.0, "cache_saved_usd": 0.0,
        "gross_margin": (theoretical - gpu) / theoretical, "billed_gross_margin": (billed - gpu) / billed,
        "cache_hit_rate": hits / (hits + misses),
    }


DAYS = pl.DataFrame([
    # gross margin 50%, cache hit rate 30%
    day(date(2025, 3, 1), gpu=100.0, theoretical=200.0, hits=30, misses=70, output=50, node_hours=48.0, peak=3.0,
        billed=150.0, loaded=120.0),
    # gross margin 25%, cache hit rate 90%
    day(date(2025, 3, 2), gpu=300.0, theoretical=400.0, hits=270, misses=30, output=150, node_hours=72.0, peak=3.0,
        billed=330.0, loaded=360.0),
])
PREVIOUS = pl.DataFrame([
    day(date(2025, 2, 27), gpu=200.0, theoretical=300.0, hits=50, misses=50, output=100, node_hours=48.0, peak=2.0,
        billed=250.0, loaded=240.0),
])
RUNS = pl.DataFrame({"day": [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 4)],
                     "status": ["published", "unchanged", "failed"]})


def test_amounts_are_summed_and_ratios_recomputed_from_the_sums():
    totals = period.period_totals(DAYS).row(0, named=True)
    assert totals["days"] == 2 and totals["gpu_cost_usd"] == 400 and totals["theoretical_revenue_usd"] == 600
    assert totals["input_tokens"] == 400 and totals["output_tokens"] == 200 and totals["node_hours"] == 120
    # (600 - 400) / 600, not the average of 50% and 25% (37.5%)
    assert totals["gross_margin"] == pytest.approx(1 / 3)
    assert DAYS["gross_margin"].mean() == pytest.approx(0.375)
    # 300 hits / 400 input tokens, not the average of 30% and 90% (60%)
    assert totals["cache_hit_rate"] == pytest.approx(0.75)
    assert totals["cost_profit_margin"] == pytest.approx(0.5)  # 600 / 400 - 1
    assert totals["billed_gross_margin"] == pytest.approx(80 / 480)  # (480 - 400) / 480
    assert totals["loaded_gross_margin"] == pytest.approx(0.2)  # (600 - 480) / 600
    assert totals["idle_capacity_share"] == pytest.approx(24 / 144)  # (72 - 48 + 72 - 72) / (3 × 24 + 3 × 24)
    assert totals["avg_nodes"] == pytest.approx(2.5) and totals["peak_nodes"] == 3  # 120 node-hours / 48 h
    # prefill half of each day's cost: 50 + 150 = 200 over 400 input tokens; the other 200 over 200 output
    assert totals["cost_per_million_input_usd"] == pytest.approx(500_000)
    assert totals["cost_per_million_output_usd"] == pytest.approx(1_000_000)
    assert totals["break_even_output_price_usd"] == pytest.approx(2_000_000)  # 400 / 200 × 10^6
    assert totals["prefill_input_tokens_per_node_second"] == pytest.approx(400 / (60 * 3600))


def test_a_missing_and_a_failed_day_are_named():
    days = period.days_table(DAYS, RUNS, date(2025, 3, 1), date(2025, 3, 4))
    assert days.select("day", "status").rows() == [
        (date(2025, 3, 1), "published"), (date(2025, 3, 2), "published"),
        (date(2025, 3, 3), "missing"), (date(2025, 3, 4), "failed"),
    ]
    assert period.absent_days(days)["day"].to_list() == [date(2025, 3, 3), date(2025, 3, 4)]
    assert days["gpu_cost_usd"].to_list() == [100.0, 300.0, None, None]


def test_the_change_against_the_previous_period_of_the_same_length():
    assert period.previous_period(date(2025, 3, 1), date(2025, 3, 4)) == (date(2025, 2, 25), date(2025, 2, 28))
    change = period.period_change(period.period_totals(DAYS), period.period_totals(PREVIOUS))
    rows = {r["figure"]: r for r in change.iter_rows(named=True)}
    assert rows["gpu_cost_usd"]["previous"] == 200 and rows["gpu_cost_usd"]["change"] == 200
    assert rows["gpu_cost_usd"]["change_share"] == pytest.approx(1.0)
    assert rows["gross_margin"]["change"] == pytest.approx(0.0)  # 1/3 then, 1/3 now
    assert rows["cache_hit_rate"]["change"] == pytest.approx(0.25)  # 75% against 50%
    assert rows["cache_hit_rate"]["change_share"] is None  # ratios change by points
    empty = period.period_change(period.period_totals(DAYS), period.period_totals(PREVIOUS.clear()))
    assert empty["change"].null_count() == empty.height


def test_the_waterfall_and_cost_lines_are_summed_over_the_period():
    steps = [("theoretical revenue", "total"), ("model mix", "change"), ("billed revenue", "total")]
    waterfall = pl.DataFrame([
        {"day": d, "model": m, "step_order": i + 1, "step": s, "kind": k, "amount_usd": a}
        for d, amounts in ((date(2025, 3, 1), (200.0, -50.0, 150.0)), (date(2025, 3, 2), (400.1, -70.07, 330.03)))
        for m in ("all", "r1")
        for i, ((s, k), a) in enumerate(zip(steps, amounts))
    ])
    summed = period.period_waterfall(waterfall).filter(pl.col("model") == "all")
    assert summed.select("step", "amount_usd", "start_usd", "end_usd").rows() == [
        ("theoretical revenue", 600.1, 0.0, 600.1), ("model mix", -120.07, 600.1, 480.03),
        ("billed revenue", 480.03, 0.0, 480.03),
    ]
    revenue = period.model_revenue(waterfall).row(0, named=True)
    assert revenue["model"] == "all" and revenue["billed_share"] == pytest.approx(480.03 / 600.1)
    lines = period.period_cost_breakdown(pl.DataFrame({
        "day": [date(2025, 3, 1)] * 2 + [date(2025, 3, 2)] * 2, "line_order": [1, 2, 1, 2],
        "line": ["gpu", "power", "gpu", "power"], "usd": [100.0, 20.0, 300.0, 60.0]}))
    assert lines.select("line", "usd", "share").rows() == [("gpu", 400.0, 400 / 480), ("power", 80.0, 80 / 480)]


def test_a_key_figure_past_its_threshold_against_the_trailing_median_is_an_anomaly():
    from openbooks.flows.report.anomaly_lines import describe
    from openbooks.transforms.anomalies import day_anomalies

    days = [date(2025, 3, d) for d in range(1, 7)]
    daily = pl.DataFrame({
        "day": days,
        "gross_margin": [0.80, 0.82, 0.79, 0.81, 0.80, 0.70],  # median of the five before: 0.80; -10 points
        "cost_per_million_output_usd": [1.0, 1.1, 0.9, 1.0, 1.0, 1.3],  # median 1.0; +30%
        "cache_hit_rate": [0.50, 0.50, 0.50, 0.50, 0.50, 0.52],  # +2 points: within 5
    })
    found = day_anomalies(daily, date(2025, 3, 6))
    rows = {r["figure"]: r for r in found.iter_rows(named=True)}
    assert set(rows) == {"gross_margin", "cost_per_million_output_usd"}
    assert rows["gross_margin"]["median"] == pytest.approx(0.80) and rows["gross_margin"]["move"] == pytest.approx(-0.10)
    assert rows["cost_per_million_output_usd"]["move"] == pytest.approx(0.30) and rows["gross_margin"]["window_days"] == 5
    assert describe(rows["gross_margin"]) == (
        "2025-03-06 Gross margin 70.0% against a median of 80.0% over 5 days (-10.0 pts, threshold 5.0 pts)")
    assert day_anomalies(daily, date(2025, 3, 3)).is_empty()  # two days before it: too few to judge
    assert day_anomalies(daily, date(2025, 3, 6), window_days=2).is_empty()


def test_the_cost_lines_as_focus_rows():
    from datetime import UTC, datetime

    daily = pl.DataFrame({"day": [date(2025, 3, 1)], "day_start": [datetime(2025, 3, 1, 4, tzinfo=UTC)],
                          "day_end": [datetime(2025, 3, 2, 4, tzinfo=UTC)], "gpu_hours": [384.0]})
    lines = pl.DataFrame({"day": [date(2025, 3, 1)] * 3, "line_order": [1, 2, 3],
                          "line": ["GPU rental", "power", "training transfer"],
                          "usd": [768.0, 40.0, -100.0], "share": [768 / 708, 40 / 708, -100 / 708]})
    rows = period.focus_rows(lines, daily)
    assert rows.columns[:12] == ["ChargePeriodStart", "ChargePeriodEnd", "BillingCurrency", "ChargeCategory",
                                 "ChargeDescription", "BilledCost", "EffectiveCost", "ListCost", "ServiceName",
                                 "ResourceId", "ConsumedQuantity", "ConsumedUnit"]
    assert all(c.startswith("x_") for c in rows.columns[12:])
    first = rows.row(0, named=True)
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == ("2025-03-01T04:00:00Z", "2025-03-02T04:00:00Z")
    assert (first["ConsumedQuantity"], first["ConsumedUnit"]) == (384.0, "GPU-hours")
    assert rows["ChargeCategory"].to_list() == ["Usage", "Usage", "Credit"]
    assert rows["BilledCost"].sum() == 708.0 and rows["ConsumedUnit"].null_count() == 2


def test_every_figure_of_a_day_is_carried_into_a_period_or_named_as_the_days_own():
    """A figure added to ``daily_economics`` that the period neither sums nor
    recomputes would show "n/a" in every statement without a word: here it fails."""
    from openbooks.flows.store.schema.statements import DAILY_ECONOMICS

    carried = set(period.period_totals(DAYS).columns)
    missing = [c.name for c in DAILY_ECONOMICS.columns if c.name not in carried and c.name not in period.PER_DAY]
    assert not missing, missing


def test_invoiced_margins_are_recomputed_only_when_every_day_has_an_invoice():
    invoiced = DAYS.with_columns(invoiced_gpu_cost_usd=pl.Series([110.0, 290.0]))
    totals = period.period_totals(invoiced).row(0, named=True)
    assert totals["invoiced_gpu_cost_usd"] == 400
    assert totals["invoiced_gross_margin"] == pytest.approx(1 / 3)  # (600 - 400) / 600
    assert totals["billed_invoiced_gross_margin"] == pytest.approx(80 / 480)
    partial = DAYS.with_columns(invoiced_gpu_cost_usd=pl.Series([110.0, None]))
    totals = period.period_totals(partial).row(0, named=True)
    assert totals["invoiced_gpu_cost_usd"] is None and totals["invoiced_gross_margin"] is None

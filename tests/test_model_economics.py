"""``model_economics``: cost and margin per model, worked out by hand on a
two-model day, and through the flow on the reference day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from openbooks.flows.daily import daily_books
from openbooks.errors import ValidationFailed
from tests.books import published
from openbooks.transforms import calendar, capacity, cost, models

H0, H1, H2 = (datetime(2025, 1, 1, h, tzinfo=UTC) for h in (0, 1, 2))
DAY = date(2025, 2, 27)


def two_model_day() -> pl.DataFrame:
    # $16 a node-hour (8 GPUs at $2). Model a: 1 prefill node and 2 decode
    # nodes for both hours; model b: 1 decode node in hour 0; 1 idle node in
    # hour 1 (logged under a); 3 training nodes in hour 0.
    log = pl.DataFrame(
        [(H0, H2, "a", "prefill", 1.0), (H0, H2, "a", "decode", 2.0), (H0, H1, "b", "decode", 1.0),
         (H1, H2, "a", "idle", 1.0), (H0, H1, "x", "training", 3.0)],
        schema={"interval_start": pl.Datetime("us", "UTC"), "interval_end": pl.Datetime("us", "UTC"),
                "model": pl.String, "role": pl.String, "nodes": pl.Float64},
        orient="row",
    ).with_columns(gpu_type=pl.lit("H800"))
    hardware = pl.DataFrame({"gpu_type": ["H800"], "gpus_per_node": [8.0], "rental_usd_per_gpu_hour": [2.0]})
    costed = cost.gpu_cost(capacity.node_hours_by_hour(log, calendar.hour_grid(H0, H2)), hardware)
    priced = pl.DataFrame({
        "hour_start": [H0, H1, H0], "model": ["a", "a", "b"], "cache_hit_tokens": [1_000_000, 0, 0],
        "cache_miss_tokens": [0, 1_000_000, 2_000_000], "output_tokens": [1_000_000, 1_000_000, 1_000_000],
        "requests": [6, 4, 5], "theoretical_revenue_usd": [120.0, 80.0, 40.0],
    })
    billed = priced.select("model", billed_revenue_usd=pl.Series([90.0, 60.0, 0.0]))  # b is on a free channel
    return models.model_economics(costed, priced, billed)


def test_two_models_carry_their_own_cost_and_idle_and_training_stay_unattributed():
    rows = {r["model"]: r for r in two_model_day().iter_rows(named=True)}
    assert list(rows) == ["a", "b", "unattributed"]
    a, b, rest = rows["a"], rows["b"], rows["unattributed"]
    # a: 2 prefill node-hours ($32) + 4 decode ($64); b: 1 decode ($16); idle 1 node-hour ($16).
    assert (a["prefill_cost_usd"], a["decode_cost_usd"], a["gpu_cost_usd"], a["gpu_hours"]) == (32.0, 64.0, 96.0, 48.0)
    assert (b["prefill_cost_usd"], b["decode_cost_usd"], b["gpu_cost_usd"], b["gpu_hours"]) == (0.0, 16.0, 16.0, 8.0)
    assert (rest["idle_node_hours"], rest["training_node_hours"], rest["gpu_cost_usd"]) == (1.0, 3.0, 16.0)
    assert a["idle_node_hours"] == 0.0 and a["training_node_hours"] == 0.0
    assert a["gpu_cost_usd"] + b["gpu_cost_usd"] + rest["gpu_cost_usd"] == 128.0  # 8 serving node-hours x $16
    # a: 2M input and 2M output tokens, $200 theoretical, $150 billed.
    assert (a["input_tokens"], a["output_tokens"], a["requests"]) == (2_000_000, 2_000_000, 10)
    assert (a["theoretical_revenue_usd"], a["billed_revenue_usd"], a["margin_usd"]) == (200.0, 150.0, 54.0)
    assert a["cost_profit_margin"] == pytest.approx(200 / 96 - 1)
    assert a["gross_margin"] == pytest.approx(0.52) and a["billed_gross_margin"] == pytest.approx(0.36)
    assert (a["cost_per_million_tokens_usd"], a["cost_per_million_input_usd"], a["cost_per_million_output_usd"]) == (
        24.0, 16.0, 32.0
    )
    # b: 2M input, 1M output, $40 theoretical, nothing billed.
    assert b["cost_profit_margin"] == pytest.approx(1.5) and b["gross_margin"] == pytest.approx(0.6)
    assert b["billed_gross_margin"] is None and b["margin_usd"] == -16.0
    assert b["cost_per_million_tokens_usd"] == pytest.approx(16 / 3)
    assert (b["cost_per_million_input_usd"], b["cost_per_million_output_usd"]) == (0.0, 16.0)
    # The unattributed row has no tokens, no revenue and no margins.
    assert (rest["input_tokens"], rest["theoretical_revenue_usd"], rest["margin_usd"]) == (0, 0.0, -16.0)
    assert rest["cost_profit_margin"] is None and rest["cost_per_million_tokens_usd"] is None


def test_the_reference_day_models_add_up_to_the_day(project):
    daily_books(DAY, str(project.config_path))
    (day_cost, theoretical, billed), = published(
        project.config, "SELECT gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd FROM daily_economics"
    )
    rows = published(project.config, "SELECT model, prefill_node_hours, decode_node_hours, training_node_hours, "
                                     "gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd FROM model_economics "
                                     "ORDER BY model")
    assert [r[0] for r in rows] == ["deepseek-r1", "deepseek-v3", "unattributed"]
    # From the sample node log: R1 1,184 prefill + 1,746 decode node-hours at $16, V3 1,108 + 1,404;
    # 1,230 training node-hours unattributed, at no serving cost.
    assert rows[0][1:5] == (1184.0, 1746.0, 0.0, (1184 + 1746) * 16.0)
    assert rows[1][1:5] == (1108.0, 1404.0, 0.0, (1108 + 1404) * 16.0)
    assert rows[2][1:5] == (0.0, 0.0, 1230.0, 0.0)
    assert round(sum(r[4] for r in rows), 2) == round(day_cost, 2) == 87_072.0
    assert sum(r[5] for r in rows) == pytest.approx(theoretical, abs=0.005)
    assert sum(r[6] for r in rows) == pytest.approx(billed, abs=0.005)


def test_models_whose_cost_does_not_add_up_fail_the_day(project, monkeypatch):
    model_economics = models.model_economics

    def a_cent_off(*args):
        rows = model_economics(*args)
        return rows.with_columns(pl.when(pl.col("model") == "deepseek-r1").then(pl.col("gpu_cost_usd") + 0.01)
                                 .otherwise(pl.col("gpu_cost_usd")).alias("gpu_cost_usd"))

    monkeypatch.setattr(models, "model_economics", a_cent_off)
    with pytest.raises(ValidationFailed, match="cost_gap_usd"):
        daily_books(DAY, str(project.config_path))

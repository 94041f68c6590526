"""What if: the reference day re-costed and re-priced, against what was published.

Golden figures, with their sources:
- DeepSeek, "Day 6: One More Thing, DeepSeek-V3/R1 Inference System Overview"
  (open-infra-index, 2025-03-01): ~73.7k input tokens/s per H800 node in
  prefill (cache hits included), ~14.8k output tokens/s per node in decode,
  226.75 nodes on average, $87,072 a day at $2 per GPU-hour.
- LMSYS/SGLang, "Deploying DeepSeek with PD Disaggregation and Large-Scale
  Expert Parallelism on 96 H100 GPUs" (2025-05-05,
  https://lmsys.org/blog/2025-05-05-large-scale-ep/): 52.3k input and 22.3k
  output tokens/s per 8-GPU node, "$0.20 / 1M output tokens" at $2 per H100-hour.
"""

from __future__ import annotations

import time
from datetime import date

import polars as pl
import pytest

from openbooks import sample
from openbooks.catalogue import catalogue, scenario
from openbooks.config import ScenarioSpec
from openbooks.flows.stages import compute
from openbooks.flows.stages.scenarios import SOURCE_TABLES, list_prices, scenario_rows
from openbooks.transforms import whatif
from openbooks.transforms.whatif import Scenario, usd_per_million_tokens

DAY = date(2025, 2, 27)
UTC_US = pl.Datetime("us", "UTC")


def reference_tables(config, day: date = DAY) -> dict[str, pl.DataFrame]:
    """The day's tables as a run publishes them, computed in-process from the sample logs."""
    w = compute.day_window(config, day)
    log = sample.node_log(day).with_columns(
        pl.col("interval_start", "interval_end").str.to_datetime(time_zone="UTC").cast(UTC_US),
        pl.col("nodes").cast(pl.Float64))
    tokens = sample.token_counts(day).with_columns(pl.col("hour_start").str.to_datetime(time_zone="UTC").cast(UTC_US))
    books = compute.books_of_day(config, w, compute.flag_node_log(w, log), compute.token_counts(w, tokens, None))
    return dict(zip(SOURCE_TABLES, (books.daily, books.hourly.with_columns(day=pl.lit(day)), books.models,
                                    books.scenarios)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    from tests.conftest import Project

    project = Project(tmp_path_factory.mktemp("whatif"))
    config = project.write_config()
    return config, reference_tables(config)


def run(config, tables, *scenarios: Scenario) -> dict[tuple[str, str], dict]:
    rows = scenario_rows(config, list(scenarios), tables)
    return {(r["scenario"], r["model"]): r for r in rows.iter_rows(named=True)}


def test_cost_per_million_tokens_on_published_tables_to_the_cent():
    # LMSYS: $2 per H100-hour, 22.3k output tokens/s per 8-GPU node -> "$0.20 / 1M output tokens".
    assert round(usd_per_million_tokens(2.00, 22_300 / 8), 2) == 0.20
    # The same from the 96-GPU cluster: $192 an hour for 12 nodes x 22.3k tokens/s.
    assert round(96 * 2.00 / (12 * 22_300 * 3600) * 1e6, 2) == 0.20
    # DeepSeek's H800 at $2: decode 14.8k output tokens/s per node -> $0.30; prefill 73.7k -> $0.06 per million.
    assert round(usd_per_million_tokens(2.00, 14_800 / 8), 2) == 0.30
    assert round(usd_per_million_tokens(2.00, 73_700 / 8), 2) == 0.06


def test_the_catalogue_cites_every_figure():
    profiles = catalogue()
    assert {"h800-deepseek", "h100-sglang-ep"} <= set(profiles)
    for name, p in profiles.items():
        assert p.source and p.source.startswith(("DeepSeek", "LMSYS", "Ant Group")) and "http" in p.source, name
        assert p.published, name
        assert (p.rental_usd_per_gpu_hour is None) == (p.rental_as_of is None), name
    h800, h100 = profiles["h800-deepseek"], profiles["h100-sglang-ep"]
    assert (h800.input_tokens_per_gpu_second * 8, h800.output_tokens_per_gpu_second * 8) == (73_700, 14_800)
    assert (h100.input_tokens_per_gpu_second * 8, h100.output_tokens_per_gpu_second * 8) == (52_300, 22_300)


def test_the_day_as_measured_is_the_day_as_published(reference):
    config, tables = reference
    rows = run(config, tables, Scenario("measured"))
    day, total = tables["daily_economics"].row(0, named=True), rows[("measured", "all")]
    assert total["gpu_cost_usd"] == day["gpu_cost_usd"] == 87_072.0
    assert total["avg_nodes"] == 226.75 and total["peak_nodes"] == 278.0
    assert total["revenue_usd"] == pytest.approx(562_027, abs=0.01)
    assert total["billed_revenue_usd"] == pytest.approx(day["billed_revenue_usd"], abs=1e-6)
    assert total["cost_profit_margin"] == pytest.approx(day["cost_profit_margin"], abs=1e-12)
    for model in tables["model_economics"].iter_rows(named=True):
        mine = rows[("measured", model["model"])]
        assert mine["gpu_cost_usd"] == pytest.approx(model["gpu_cost_usd"], abs=1e-9), model["model"]


def test_the_reference_day_at_deepseeks_published_throughput_needs_about_226_8_nodes(reference):
    config, tables = reference
    s = scenario(config, "published", ScenarioSpec(profile="h800-deepseek"))
    total = run(config, tables, s)[("published", "all")]
    # 608B input tokens / 73.7k per node-second + 167.97B output / 14.8k: 2,291.6 + 3,152.5 node-hours over 24 h.
    assert round(total["avg_nodes"], 1) == 226.8
    assert abs(total["avg_nodes"] - 226.75) < 0.1  # DeepSeek: 226.75; 0.09 nodes (0.04%) apart
    # The published throughputs are rounded to 0.1k: anywhere in 73.65-73.75k and 14.75-14.85k, the
    # day needs 5,431.9 to 5,456.3 node-hours; the 5,442 it used lie inside.
    low = 608e9 / (73_750 * 3600) + 167_966_666_667 / (14_850 * 3600)
    high = 608e9 / (73_650 * 3600) + 167_966_666_667 / (14_750 * 3600)
    assert low < 5_442 < high and low <= total["node_hours"] <= high
    # And it costs what the day cost within that rounding: $87,105.60 against $87,072 (+0.04%).
    assert total["gpu_cost_usd"] == pytest.approx(87_072, rel=0.0005)
    assert low * 16 < 87_072 < high * 16


def test_lmsys_h100_at_two_dollars_serves_output_at_twenty_cents_a_million(reference):
    config, tables = reference
    s = scenario(config, "h100", ScenarioSpec(profile="h100-sglang-ep"))
    total = run(config, tables, s)[("h100", "all")]
    assert round(total["cost_per_million_output_usd"], 2) == 0.20
    assert total["gpu_type"] == "H100" and total["rental_usd_per_gpu_hour"] == 2.0


def test_prices_cards_cache_and_lending(reference):
    config, tables = reference
    rows = run(config, tables, Scenario("measured"), Scenario("cut", price_factor=0.4), Scenario("gpt", card="gpt-4o"),
               Scenario("cache", cache_hit_rate=0.7), Scenario("keep", lend_idle_to_training=False))
    measured = rows[("measured", "all")]
    assert rows[("cut", "all")]["revenue_usd"] == pytest.approx(0.4 * measured["revenue_usd"])
    assert rows[("cut", "all")]["billed_revenue_usd"] == pytest.approx(0.4 * measured["billed_revenue_usd"])
    card = tables["revenue_scenarios"].filter(pl.col("card") == "gpt-4o").row(0, named=True)
    assert rows[("gpt", "all")]["revenue_usd"] == pytest.approx(card["revenue_usd"])  # the same as revenue_scenarios
    assert rows[("gpt", "all")]["billed_revenue_usd"] == pytest.approx(card["billed_revenue_usd"])
    # 70% of 608B input tokens hit the cache: 83.6B more hits, each $0.41 a million cheaper at R1 prices.
    cache = rows[("cache", "all")]
    assert cache["cache_hit_tokens"] == 425_600_000_000
    assert cache["revenue_usd"] == pytest.approx(measured["revenue_usd"] - 83_600 * 0.41, abs=0.01)
    assert cache["prefill_node_hours"] == pytest.approx(2_292 * 182.4 / 266)  # misses 266B -> 182.4B
    # Kept from training, the 1,230 node-hours lent at night are paid for: $19,680 at $16 a node-hour.
    keep = rows[("keep", "all")]
    assert keep["gpu_cost_usd"] - measured["gpu_cost_usd"] == pytest.approx(19_680)
    assert rows[("keep", "unattributed")]["idle_node_hours"] == pytest.approx(1_230)


def test_every_scenario_adds_up(reference):
    config, tables = reference
    h100 = scenario(config, "h100", ScenarioSpec(profile="h100-sglang-ep", cache_hit_rate=0.4,
                                                 lend_idle_to_training=False, price_factor=0.5))
    frame = scenario_rows(config, [Scenario("x", throughput_factor=2.5, card="deepseek-v3-list"), h100], tables)
    checked = whatif.reconcile(frame.drop("day", "hours"))
    for gap in ("cost_gap_usd", "revenue_gap_usd", "billed_revenue_gap_usd", "margin_gap"):
        assert checked[gap].abs().max() < 1e-6, gap


def test_the_long_view_by_quarter(reference):
    config, tables = reference
    totals = whatif.period_totals(scenario_rows(config, [Scenario("measured")], tables))
    view = whatif.horizon(totals, 4, list_price_decline=0.5, rental_decline=0.2)
    assert view["quarter"].to_list() == [0, 1, 2, 3, 4]
    year = view.row(4, named=True)
    assert (year["price_factor"], year["rental_factor"]) == pytest.approx((0.5, 0.8))
    assert year["revenue_usd"] == pytest.approx(562_027 / 2, abs=0.01)
    assert year["gpu_cost_usd"] == pytest.approx(87_072 * 0.8)
    assert year["gross_margin"] == pytest.approx(1 - 69_657.6 / 281_013.5, abs=1e-6)


def test_a_scenario_costs_a_few_milliseconds_a_day(reference):
    config, tables = reference
    prices = list_prices(config, tables["daily_economics"]["day_start"][0])
    s = scenario(config, "h100", ScenarioSpec(profile="h100-sglang-ep"))
    args = dict(card="deepseek", reference_model="deepseek-r1", gpu_type="H800")
    whatif.scenario_day(s, tables, prices, **args)
    started, n = time.perf_counter(), 20
    for _ in range(n):
        whatif.scenario_day(s, tables, prices, **args)
    per_day = (time.perf_counter() - started) / n
    assert per_day < 0.05, per_day  # measured ~5-10 ms on 2 shared cores; the bound leaves room for load


def test_check_resolves_every_declared_scenario(project):
    from openbooks.flows.admin.project_check import check_project

    project.write_config({"whatif": {"scenarios": {"gb200": {"profile": "gb200-sglang-nvfp4"}}}})
    result = check_project(project.config_path)
    assert any("whatif.scenarios.gb200" in p and "no published rental price" in p for p in result.problems)
    assert "suite scenario_economics" in result.checked and "whatif scenario h100-sglang" in result.checked

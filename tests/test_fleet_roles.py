"""The fleet's roles and sizes in the books: ``serving`` (prefill and decode
on the same GPUs, no split), node-log rows in GPUs, replicas summed, a
declared fleet size. Worked out by hand on small days."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from openbooks.flows.stages import compute
from tests.conftest import deep_merge

DAY = "2025-02-27"
UTC_US = pl.Datetime("us", "UTC")
NODE_SCHEMA = {"interval_start": UTC_US, "interval_end": UTC_US, "model": pl.String, "role": pl.String,
               "gpu_type": pl.String, "nodes": pl.Float64}


def window(config):
    from datetime import date
    return compute.day_window(config, date.fromisoformat(DAY))


def node_log(w, *rows) -> pl.DataFrame:
    """Rows (start hour, end hour, model, role, nodes) from the day's start."""
    return pl.DataFrame(
        [(w.start + timedelta(hours=a), w.start + timedelta(hours=b), m, r, "H800", n) for a, b, m, r, n in rows],
        schema=NODE_SCHEMA, orient="row",
    )


def tokens(w, model: str = "deepseek-v3") -> pl.DataFrame:
    # 1M cache hits, 1M misses, 1M output tokens in the first hour, on the api channel.
    return pl.DataFrame({
        "hour_start": [w.start], "model": [model], "channel": ["api"], "cache_hit_tokens": [1_000_000],
        "cache_miss_tokens": [1_000_000], "output_tokens": [1_000_000], "requests": [10],
    }, schema_overrides={"hour_start": UTC_US})


def books(config, log: pl.DataFrame, token_rows: pl.DataFrame | None = None, **kwargs):
    w = window(config)
    flagged = compute.flag_node_log(w, log)
    return compute.books_of_day(config, w, flagged, compute.token_counts(w, token_rows if token_rows is not None
                                                                          else tokens(w), None), **kwargs)


def test_serving_nodes_are_costed_attributed_and_leave_the_split_figures_null(project):
    config = project.config
    w = window(config)
    # 2 serving nodes all day: 48 node-hours x 8 GPUs x $2 = $768.
    day = books(config, node_log(w, (0, 24, "deepseek-v3", "serving", 2.0)))
    d = day.daily.row(0, named=True)
    assert (d["serving_node_hours"], d["node_hours"], d["gpu_hours"], d["gpu_cost_usd"]) == (48.0, 48.0, 384.0, 768.0)
    assert d["peak_nodes"] == 2.0 and d["prefill_node_hours"] == 0.0
    for figure in ("prefill_input_tokens_per_node_second", "decode_output_tokens_per_node_second",
                   "cost_per_million_input_usd", "cost_per_million_output_usd", "cache_saved_node_hours",
                   "cache_saved_gpu_hours", "cache_saved_usd"):
        assert d[figure] is None, figure
    assert d["break_even_output_price_usd"] == 768.0  # $768 / 1M output tokens x 10^6
    model = {r["model"]: r for r in day.models.iter_rows(named=True)}["deepseek-v3"]
    assert (model["serving_node_hours"], model["gpu_cost_usd"], model["gpu_hours"]) == (48.0, 768.0, 384.0)
    assert model["cost_per_million_tokens_usd"] == 256.0  # $768 / 3M tokens
    assert model["cost_per_million_input_usd"] is None and model["cost_per_million_output_usd"] is None


def test_a_split_day_keeps_its_split_figures(project):
    config = project.config
    w = window(config)
    # 1 prefill and 1 decode node all day: 24 node-hours, $384 each.
    day = books(config, node_log(w, (0, 24, "deepseek-v3", "prefill", 1.0), (0, 24, "deepseek-v3", "decode", 1.0)))
    d = day.daily.row(0, named=True)
    assert d["serving_node_hours"] == 0.0
    assert d["cost_per_million_input_usd"] == pytest.approx(384 / 2)  # $384 / 2M input tokens x 10^6
    assert d["cost_per_million_output_usd"] == pytest.approx(384.0)
    assert d["prefill_input_tokens_per_node_second"] == pytest.approx(2_000_000 / (24 * 3600))


def test_customers_of_a_serving_day_carry_its_cost_by_share_of_all_tokens():
    from openbooks.transforms import customers
    daily = pl.DataFrame({"gpu_cost_usd": [300.0], "serving_node_hours": [10.0], "prefill_node_hours": [0.0],
                          "decode_node_hours": [0.0]})
    usage = pl.DataFrame({"customer_id": ["a", "b"], "requests": [1, 1], "cache_hit_tokens": [0, 0],
                          "cache_miss_tokens": [100, 0], "output_tokens": [100, 100], "billed_revenue_usd": [1.0, 1.0]})
    rows = customers.customer_economics(usage, prefill_cost_usd=0.0, decode_cost_usd=0.0,
                                        unsplit_cost_usd=customers.unsplit_cost_usd(daily))
    by = {r["customer_id"]: r for r in rows.iter_rows(named=True)}
    # a has 200 of the 300 tokens: $200; b $100. No prefill/decode split.
    assert (by["a"]["allocated_cost_usd"], by["b"]["allocated_cost_usd"]) == pytest.approx((200.0, 100.0))
    assert by["a"]["prefill_cost_usd"] is None and by["b"]["decode_cost_usd"] is None


def invoice(**values) -> pl.DataFrame:
    row = {"gpu_type": "H800", "billed_cost": 500.0, "effective_cost": 480.0, "list_cost": 900.0, "hours": 48.0,
           "gpu_hours": 384.0} | values
    return pl.DataFrame([row])


def test_invoiced_cost_sits_beside_the_declared_rate_with_its_margins_and_check(project):
    config = project.config
    w = window(config)
    # 2 serving nodes all day: $768 at the declared $2 per GPU-hour; the invoice bills $500 for the 48 instance-hours.
    day = books(config, node_log(w, (0, 24, "deepseek-v3", "serving", 2.0)), invoices=invoice())
    d = day.daily.row(0, named=True)
    assert (d["gpu_cost_usd"], d["invoiced_gpu_cost_usd"]) == (768.0, 500.0)
    # 1M hits, 1M misses, 1M output at deepseek-r1's $0.14, $0.55, $2.19: $2.88 theoretical.
    assert d["theoretical_revenue_usd"] == pytest.approx(2.88)
    assert d["invoiced_cost_profit_margin"] == pytest.approx(2.88 / 500 - 1)
    assert d["invoiced_gross_margin"] == pytest.approx((2.88 - 500) / 2.88)
    assert d["billed_invoiced_gross_margin"] == pytest.approx((d["billed_revenue_usd"] - 500) / d["billed_revenue_usd"])
    (check,) = day.gpu_cost_check.iter_rows(named=True)
    assert check["gpu_type"] == "H800"
    assert (check["node_hours"], check["gpu_hours"], check["node_log_cost_usd"]) == (48.0, 384.0, 768.0)
    assert check["declared_cost_usd"] == 768.0  # the invoice's 384 GPU-hours at $2
    assert (check["invoiced_node_hours"], check["invoiced_gpu_hours"], check["invoiced_cost_usd"]) == (48.0, 384.0, 500.0)
    assert (check["effective_cost_usd"], check["list_cost_usd"]) == (480.0, 900.0)
    assert check["difference_usd"] == -268.0 and check["ratio"] == pytest.approx(500 / 768)


def test_without_an_invoice_the_invoiced_figures_are_null_and_there_is_no_check(project):
    config = project.config
    w = window(config)
    day = books(config, node_log(w, (0, 24, "deepseek-v3", "serving", 2.0)))
    d = day.daily.row(0, named=True)
    assert d["invoiced_gpu_cost_usd"] is None and d["invoiced_gross_margin"] is None
    assert day.gpu_cost_check is None


def test_invoices_of_gathers_every_source_with_invoiced_cost():
    from openbooks.flows.sources.base import SourceResult
    with_invoice = SourceResult(frame=None, files=[], extra={"invoiced_cost": invoice()})
    assert compute.invoices_of({"plain": SourceResult(frame=None, files=[])}) is None
    assert compute.invoices_of({"bill": with_invoice, "plain": SourceResult(frame=None, files=[])}).height == 1


def test_rows_in_gpus_count_their_gpu_hours(project):
    config = project.config
    w = window(config)
    # A job holding 2 of a node's 8 GPUs all day beside 1 whole node: 0.25 + 1 nodes,
    # 1.25 x 24 = 30 node-hours, 240 GPU-hours, $480.
    log = node_log(w, (0, 24, "deepseek-v3", "serving", 1.0), (0, 24, "deepseek-r1", "serving", None))
    log = log.with_columns(gpus=pl.Series([None, 2.0], dtype=pl.Float64))
    flagged = compute.flag_node_log(w, log, config=config)
    assert flagged["nodes"].to_list() == [1.0, 0.25]
    d = books(config, log).daily.row(0, named=True)
    assert (d["node_hours"], d["gpu_hours"], d["gpu_cost_usd"], d["peak_nodes"]) == (30.0, 240.0, 480.0, 1.25)


def test_replicas_overlap_and_are_summed_when_the_source_says_so(project):
    config = project.config
    w = window(config)
    # Two replicas of one model, one node each, overlapping from hour 6 to 12.
    log = node_log(w, (0, 12, "deepseek-v3", "serving", 1.0), (6, 24, "deepseek-v3", "serving", 1.0))
    assert compute.flag_node_log(w, log)["no_overlap"].to_list() == [True, False]
    flagged = compute.flag_node_log(w, log, replicas_summed=True)
    assert flagged["no_overlap"].to_list() == [True, True]
    day = books(config, log)
    d = day.daily.row(0, named=True)
    assert (d["node_hours"], d["peak_nodes"]) == (30.0, 2.0)  # 12 + 18 node-hours; 2 nodes from 6 to 12


def test_a_declared_fleet_makes_unallocated_hours_idle_not_a_gap(tmp_path):
    from tests.conftest import Project
    from openbooks.transforms import checks
    project = Project(tmp_path)
    config = project.write_config({"hardware": {"H800": {"fleet_nodes": 4}}})
    w = window(config)
    # A fleet of 4 nodes; 3 serving nodes from hour 0 to 10, 1 training node from 4 to 24, nothing from 10 to
    # 24 but training: idle 1 node for 0-4, 0 for 4-10, 3 for 10-24 = 4 + 42 = 46 idle node-hours.
    log = node_log(w, (0, 10, "deepseek-v3", "serving", 3.0), (4, 24, "research", "training", 1.0))
    day = books(config, log)
    d = day.daily.row(0, named=True)
    assert (d["serving_node_hours"], d["idle_node_hours"], d["training_node_hours"]) == (30.0, 46.0, 20.0)
    assert d["node_hours"] == 76.0 and d["gpu_cost_usd"] == 76.0 * 16  # serving + idle, $16 a node-hour
    assert checks.coverage_gaps(day.steps, w.start, w.end).is_empty()
    assert day.hourly["node_log_coverage"].to_list() == [1.0] * 24
    assert d["peak_nodes"] == 4.0 and d["idle_capacity_node_hours"] == 4 * 24 - 76.0
    unattributed = {r["model"]: r for r in day.models.iter_rows(named=True)}["unattributed"]
    assert unattributed["idle_node_hours"] == 46.0
    # Without the fleet declared the same log leaves a gap from hour 10 on.
    plain = books(project.write_config(), log)
    assert checks.coverage_gaps(plain.steps, w.start, w.end).height == 1


def test_openbooks_run_on_a_focus_export_publishes_the_invoiced_cost_and_its_check(tmp_path):
    from tests.books import published
    from tests.fleet_project import fleet_project, run_day
    from tests.test_source_focus import FIXTURE, SOURCE
    # The untagged instance's 32 GPU-hours are 6.2% of the source's: allowed here.
    project, _ = fleet_project(tmp_path, FIXTURE, {**SOURCE, "max_skipped_share": 0.1})
    run_day(project)
    # The fixture's README: $770 billed for 64.5 instance-hours (516 GPU-hours, $1,032 at the declared $2);
    # the node log has the 60.5 node-hours mapped to a model ($968).
    [(invoiced, gpu_cost)] = published(project.config, "SELECT invoiced_gpu_cost_usd, gpu_cost_usd FROM daily_economics")
    assert (invoiced, gpu_cost) == pytest.approx((770.0, 968.0))
    [row] = published(project.config, "SELECT gpu_type, node_hours, node_log_cost_usd, invoiced_node_hours, "
                      "declared_cost_usd, invoiced_cost_usd, difference_usd, ratio FROM gpu_cost_check")
    assert row == pytest.approx(("H800", 60.5, 968.0, 64.5, 1032.0, 770.0, -262.0, 770 / 1032))

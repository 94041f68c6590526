"""FOCUS cost and usage exports as the node log and the invoiced GPU cost:
the format's own logic on ``tests/fixtures/focus`` (hand-computed figures in
its README), from CSV and Parquet, with a real config."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from openbooks.errors import OpenbooksError

from openbooks.flows.sources import focus
from openbooks.flows.sources.base import DayRequest
from tests.conftest import Project
from tests.fleet_project import failed_day, fleet_project, published_day
from tests.test_source_slurm_sacct import node_hours

FIXTURE = Path(__file__).parent / "fixtures" / "focus" / "focus_2025-02-27.csv"
DAY = date(2025, 2, 27)
DAY_START, DAY_END = datetime(2025, 2, 27, 4, tzinfo=UTC), datetime(2025, 2, 28, 4, tzinfo=UTC)
RULES = [{"match": {"Tags.model": "(?P<model>deepseek-.*)", "Tags.role": "(?P<role>prefill|decode)"},
          "model": "{model}", "role": "{role}"}]
OPTIONS = {"instance_types": {"gpu-h800-8x": "H800"}, "rules": RULES}
SKIPPED = {"charge outside the day": 8, "charge for something other than a GPU instance": 3,
           "GPU instance usage without a model (matching no rule)": 4}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("focus")).write_config()


def _result(config, path: Path, content, **options):
    request = DayRequest(
        config=config, name="node_log", source=config.sources.node_log,
        options=focus.FocusOptions(**{**OPTIONS, **options}), day=DAY, start=DAY_START, end=DAY_END, run_id="t",
    )
    return focus.day_result(request, [path], [content])


def _totals(invoiced: pl.DataFrame) -> dict:
    return invoiced.select(pl.col("billed_cost", "effective_cost", "list_cost", "hours", "gpu_hours").sum()).row(
        0, named=True)


def test_gpu_instance_hours_are_the_node_log(config):
    result = _result(config, FIXTURE, FIXTURE.read_text())
    assert result.problems == []
    assert node_hours(result.frame) == {("deepseek-r1", "decode"): 36.5, ("deepseek-r1", "prefill"): 24.0}
    assert result.extra["gpu_hours"] == 484.0
    assert result.skipped == SKIPPED


def test_invoiced_cost_of_the_day_per_gpu_type(config):
    invoiced = _result(config, FIXTURE, FIXTURE.read_text()).extra["invoiced_cost"]
    assert invoiced["gpu_type"].unique().to_list() == ["H800"]
    assert _totals(invoiced) == pytest.approx(
        {"billed_cost": 770.0, "effective_cost": 1115.6, "list_cost": 1651.2, "hours": 64.5, "gpu_hours": 516.0})
    credit = invoiced.filter(pl.col("charge_category") == "Credit")
    assert credit.select("charge_period_start", "charge_period_end", "resource_id", "billed_cost").rows() == [
        (DAY_START, datetime(2025, 2, 28, tzinfo=UTC), "i-0decode01", pytest.approx(-40.0))]
    by_resource = dict(invoiced.group_by("resource_id").agg(pl.col("effective_cost").sum()).iter_rows())
    assert by_resource == pytest.approx(
        {"i-0decode01": 440.0, "i-0prefill01": 345.6, "i-0decode02": 250.0, "i-0train01": 80.0})


def test_declared_rate_against_the_invoice_per_gpu_type(config):
    result = _result(config, FIXTURE, FIXTURE.read_text())
    [row] = result.extra["invoice_by_gpu_type"].to_dicts()
    # 64.5 invoiced instance-hours × 8 GPUs × $2.00 declared = $1,032.
    assert row == pytest.approx({
        "gpu_type": "H800", "node_hours": 64.5, "gpu_hours": 516.0, "billed_cost_usd": 770.0,
        "effective_cost_usd": 1115.6, "list_cost_usd": 1651.2, "declared_cost_usd": 1032.0,
        "billed_minus_declared_usd": -262.0, "effective_minus_declared_usd": 83.6,
    })
    assert result.extra["summary"].endswith("invoiced $770.00 billed against $1,032.00 at the declared rates")


def test_parquet_export_gives_the_same(config, tmp_path):
    frame = pl.read_csv(FIXTURE, infer_schema_length=0)  # FOCUS Parquet: strings here, as read
    path = tmp_path / "focus.parquet"
    frame.write_parquet(path)
    result = _result(config, path, pl.read_parquet(path))
    assert result.problems == []
    assert node_hours(result.frame) == {("deepseek-r1", "decode"): 36.5, ("deepseek-r1", "prefill"): 24.0}
    assert _totals(result.extra["invoiced_cost"])["billed_cost"] == pytest.approx(770.0)


def test_times_without_offset_are_read_in_the_declared_timezone(config):
    text = FIXTURE.read_text().replace(":00:00Z", ":00:00")
    utc = _result(config, FIXTURE, text)
    assert node_hours(utc.frame) == {("deepseek-r1", "decode"): 36.5, ("deepseek-r1", "prefill"): 24.0}
    shanghai = _result(config, FIXTURE, text, timezone="Asia/Shanghai")  # every charge 8 hours earlier
    # 28 hourly rows from 2025-02-26T18:00Z: 04:00Z to 22:00Z in the day.
    assert node_hours(shanghai.frame)[("deepseek-r1", "prefill")] == 18.0


def test_a_commitment_purchase_without_the_instance_is_not_gpu_cost(config):
    invoiced = _result(config, FIXTURE, FIXTURE.read_text()).extra["invoiced_cost"]
    assert "Purchase" not in invoiced["charge_category"].to_list()


def _edit(text: str, line: int, column: str, value: str) -> str:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    rows[line - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize("column, value, expected", [
    ("BilledCost", "twenty", "a decimal number"),
    ("EffectiveCost", "NULL", "a decimal number"),
    ("ConsumedQuantity", "", "a decimal number"),
    ("ChargePeriodStart", "27/02/2025", "a time such as"),
    ("ChargePeriodEnd", "2025-02-27T09:00:00Z", "a ChargePeriodEnd after ChargePeriodStart"),
    ("ConsumedUnit", "GPU-Hours-x", "instance-hours"),
    ("BillingCurrency", "EUR", "charges in USD"),
    ("Tags", "{model: r1", "a JSON object"),
    ("SkuPriceDetails", "[1, 2]", "a JSON object"),
])
def test_a_bad_cell_is_one_problem_naming_line_and_column(config, column, value, expected):
    text = _edit(FIXTURE.read_text(), 10, column, value)  # i-0decode01, 2025-02-27T10:00Z
    [problem] = _result(config, FIXTURE, text).problems
    assert (problem.file, problem.line, problem.column, problem.value) == (str(FIXTURE), 10, column, value)
    assert problem.expected.startswith(expected)


def test_an_instance_type_mapped_to_an_undeclared_gpu_type_is_a_problem(config):
    result = _result(config, FIXTURE, FIXTURE.read_text(), instance_types={"gpu-h800-8x": "H900"})
    assert {p.column for p in result.problems} == {"SkuPriceDetails.InstanceType"}
    assert result.problems[0].line == 2


def test_missing_focus_column_is_a_problem_on_line_1(config):
    text = FIXTURE.read_text().replace("EffectiveCost", "AmortizedCost", 1)
    [problem] = _result(config, FIXTURE, text).problems
    assert (problem.line, problem.column) == (1, "EffectiveCost")


# End to end: `openbooks run --date D` on a config naming the kind, nothing else.
SOURCE = {"kind": "focus", "path": "focus_{date}.csv", "options": OPTIONS}


def test_openbooks_run_on_a_focus_export(tmp_path):
    # The 4 usage rows matching no rule hold 32 GPU-hours, 6.2% of the source's
    # 516: past the default max_skipped_share (5%) the day fails naming the source.
    project, _ = fleet_project(tmp_path / "default", FIXTURE, SOURCE)
    with pytest.raises(OpenbooksError, match=r"sources.node_log: 32.00 GPU-hours left out on purpose \(6.2% of"):
        published_day(project)
    project, _ = fleet_project(tmp_path / "allowed", FIXTURE, {**SOURCE, "max_skipped_share": 0.1})
    # deepseek-r1 decode 36.5 + prefill 24 node-hours of gpu-h800-8x instances; × 8 GPUs × $2.00.
    assert published_day(project) == ((60.5, 36.5, 24.0, 484.0, 968.0, 3.0), {"node_log": SKIPPED})


def test_a_bad_charge_fails_the_day_and_publishes_nothing(tmp_path):
    project, copy = fleet_project(tmp_path, FIXTURE, SOURCE)
    copy.write_text(_edit(copy.read_text(), 10, "BilledCost", "twenty"))
    assert failed_day(project) == (f"{copy} line 10 column BilledCost: expected a decimal number, got 'twenty'",
                                   [(10, "BilledCost", "twenty")])

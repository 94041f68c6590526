"""Fleets that are not busy every hour, from the allocation kinds (Slurm,
OpenCost, FOCUS) as their tools export them: an hour without an allocation
is zero nodes, not a gap; a declared owned fleet's rest is idle; a cloud bill
never adds idle instances; node-hours and GPU-hours per GPU type and role
published every day. Figures worked by hand in the fixtures' READMEs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from openbooks.flows.sources import allocations as alloc
from openbooks.flows.sources import focus, opencost
from openbooks.flows.sources import slurm_sacct as slurm
from openbooks.flows.sources.base import DayRequest
from tests.books import published
from tests.conftest import Project
from tests.fleet_project import NODE_FIGURES, daily, fleet_project, run_cli, run_day
from tests.test_source_slurm_sacct import node_hours

FIXTURES = Path(__file__).parent / "fixtures"
SACCT = FIXTURES / "slurm_sacct" / "sacct_autoscaled_2025-02-27.txt"
OPENCOST = FIXTURES / "opencost" / "allocation_autoscaled_2025-02-27.json"
FOCUS_10 = FIXTURES / "focus" / "focus10_autoscaled_2025-02-27.csv"
FOCUS_12 = FIXTURES / "focus" / "focus12_autoscaled_2025-02-27.csv"
DAY_START, DAY_END = datetime(2025, 2, 27, 4, tzinfo=UTC), datetime(2025, 2, 28, 4, tzinfo=UTC)
SHANGHAI_0945_30 = datetime(2025, 2, 28, 1, 45, 30, tzinfo=UTC)  # 2025-02-28 09:45:30 +08:00

SLURM_SOURCE = {"kind": "slurm_sacct", "path": "sacct_autoscaled_{date}.txt", "options": {
    "timezone": "Asia/Shanghai", "rules": [
        {"match": {"JobName": "vllm-(?P<model>.+)-serve"}, "model": "{model}", "role": "serving"},
        {"match": {"Account": "research"}, "model": "research", "role": "training"},
    ]}}
OPENCOST_SOURCE = {"kind": "opencost", "path": "allocation_autoscaled_{date}.json", "options": {
    "instance_types": {"gpu-8x-h800": "H800"}, "rules": [
        {"match": {"properties.labels.app_kubernetes_io_component": "vllm",
                   "properties.labels.app_kubernetes_io_name": "(?P<model>.+)"}, "model": "{model}", "role": "serving"},
    ]}}
FOCUS_RULES = [{"match": {"Tags.model": "(?P<model>.+)", "Tags.role": "(?P<role>serving)"},
                "model": "{model}", "role": "{role}"}]
FOCUS_BY_SKU = {"instance_type_field": "SkuId", "instance_types": {"7QX2-H800-8X": "H800"}, "rules": FOCUS_RULES}
FOCUS_BY_DESCRIPTION = {"instance_type_field": "ChargeDescription",
                        "instance_type_pattern": r"^(?P<instance_type>[a-z0-9-]+) instance-hours",
                        "instance_types": {"gpu-h800-8x": "H800"}, "rules": FOCUS_RULES}
FLEET_OF_6 = {"hardware": {"H800": {"gpus_per_node": 8, "rental_usd_per_gpu_hour": 2.0, "fleet_nodes": 6}}}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("partial")).write_config()


def request(config, kind, **options) -> DayRequest:
    return DayRequest(config=config, name="node_log", source=config.sources.node_log, options=kind(**options),
                      day=DAY_START.date(), start=DAY_START, end=DAY_END, run_id="t")


def capacity(project) -> dict[tuple, tuple]:
    """capacity_by_role: (GPU type, role) -> (node-hours, GPU-hours, GPU cost)."""
    rows = published(project.config, "SELECT gpu_type, role, node_hours, gpu_hours, gpu_cost_usd "
                                     "FROM capacity_by_role ORDER BY role")
    return {(gpu_type, role): figures for gpu_type, role, *figures in rows}


def approx_rows(expected: dict[tuple, tuple]) -> dict:
    return {key: pytest.approx(value) for key, value in expected.items()}


# ---- zero nodes, not a gap (pure) -------------------------------------------------------------------------------


def t(hours: float) -> datetime:
    return DAY_START + timedelta(hours=hours)


def test_zero_rows_cover_exactly_the_stretches_no_serving_row_covers():
    log = pl.DataFrame({"interval_start": [t(1), t(3), t(2), t(10)], "interval_end": [t(2), t(5), t(4), t(12)],
                        "role": ["serving", "decode", "training", "serving"]},
                       schema_overrides={"interval_start": alloc.UTC_US, "interval_end": alloc.UTC_US})
    zeros = alloc.zero_rows(log, ("serving", "decode", "prefill", "idle"), t(0), t(24), gpu_type="H800",
                            model="unallocated", source_file="f")
    # Serving 1-2, 3-5, 10-12 (training 2-4 does not count): zeros 0-1, 2-3, 5-10, 12-24.
    assert list(zip(zeros["interval_start"], zeros["interval_end"])) == [(t(0), t(1)), (t(2), t(3)), (t(5), t(10)),
                                                                         (t(12), t(24))]
    assert set(zeros["nodes"]) == {0.0} and set(zeros["role"]) == {"idle"} and set(zeros["model"]) == {"unallocated"}


# ---- Slurm: a running job ends at Start + Elapsed ---------------------------------------------------------------


def test_a_running_job_ends_at_start_plus_elapsed_when_nothing_else_gives_the_export_time(config):
    result = slurm.day_result(request(config, slurm.SlurmOptions, **SLURM_SOURCE["options"]), [SACCT],
                              [SACCT.read_text()])
    assert result.problems == []
    ends = result.extra["allocations"].group_by("role").agg(pl.col("end").max())
    assert dict(ends.iter_rows()) == {"serving": SHANGHAI_0945_30, "training": SHANGHAI_0945_30}
    assert node_hours(result.frame) == pytest.approx({("qwen-72b", "serving"): 81030 / 3600,
                                                      ("research", "training"): 32 + 78330 / 3600 / 2})
    assert result.skipped == {"PENDING job": 1, "job outside the day": 1}


def test_an_export_time_still_bounds_a_running_job_before_elapsed(config):
    options = {**SLURM_SOURCE["options"], "export_time": "2025-02-28T08:00:00+08:00"}
    result = slurm.day_result(request(config, slurm.SlurmOptions, **options), [SACCT], [SACCT.read_text()])
    assert result.extra["allocations"]["end"].max() == datetime(2025, 2, 28, 0, tzinfo=UTC)


def test_a_running_job_without_elapsed_or_export_time_names_the_field(config, tmp_path):
    text = SACCT.read_text().replace("|Unknown|13:30:30|", "|Unknown|INVALID|")
    result = slurm.day_result(request(config, slurm.SlurmOptions, **SLURM_SOURCE["options"]), [SACCT], [text])
    [problem] = result.problems
    assert (problem.line, problem.column, problem.value) == (2, "Elapsed", "INVALID")
    assert "Elapsed field such as 1-02:03:04" in problem.expected


def test_sacct_elapsed_forms():
    assert slurm.elapsed("3-01:45:30") == timedelta(days=3, hours=1, minutes=45, seconds=30)
    assert slurm.elapsed("13:30:30") == timedelta(hours=13, minutes=30, seconds=30)
    assert slurm.elapsed("45:07") == timedelta(minutes=45, seconds=7)
    assert slurm.elapsed("Unknown") is None


# ---- OpenCost: gpuHours within its printed precision; errors name the allocation -------------------------------


def test_gpu_hours_rounded_to_five_decimals_are_accepted(config):
    result = opencost.day_result(request(config, opencost.OpenCostOptions, **OPENCOST_SOURCE["options"]),
                                 [OPENCOST], [OPENCOST.read_text()])
    assert result.problems == []
    assert node_hours(result.frame) == pytest.approx({("qwen-72b", "serving"): 682 / 12 / 8})
    assert opencost.printed_tolerance(Decimal("0.16667")) == pytest.approx(5e-6)
    assert opencost.printed_tolerance(Decimal("48")) == pytest.approx(5e-6)
    assert opencost.printed_tolerance(0.1666666667) == pytest.approx(5e-11)


def test_gpu_hours_off_by_more_than_their_precision_name_the_allocation(config):
    text = OPENCOST.read_text().replace('"gpuHours":35.33333', '"gpuHours":35.3334')
    result = opencost.day_result(request(config, opencost.OpenCostOptions, **OPENCOST_SOURCE["options"]),
                                 [OPENCOST], [text])
    [problem] = result.problems
    assert problem.message().endswith(
        f"{OPENCOST.name} line 1 allocation 'inference/qwen-72b-7d9f-klmno/vllm' (pod qwen-72b-7d9f-klmno, window "
        "2025-02-27T16:00:00Z to 2025-02-27T22:00:00Z) field gpuHours: expected gpuCount × running hours = "
        "35.33333333 (within the precision it is printed with), got '35.3334'")


# ---- FOCUS 1.0: the instance type from SkuId or ChargeDescription -----------------------------------------------


@pytest.mark.parametrize("path", [FOCUS_10, FOCUS_12])
@pytest.mark.parametrize("options", [FOCUS_BY_SKU, FOCUS_BY_DESCRIPTION], ids=["SkuId", "ChargeDescription"])
def test_focus_instance_type_from_sku_id_or_charge_description(config, path, options):
    result = focus.day_result(request(config, focus.FocusOptions, **options), [path], [path.read_text()])
    assert result.problems == []
    assert node_hours(result.frame) == {("qwen-72b", "serving"): 10.5}
    invoiced = result.extra["invoice_by_gpu_type"].row(0, named=True)
    assert (invoiced["node_hours"], invoiced["gpu_hours"], invoiced["billed_cost_usd"],
            invoiced["list_cost_usd"]) == pytest.approx((12.5, 100.0, 250.0, 320.0))
    assert result.skipped == {"charge outside the day": 1, "charge for something other than a GPU instance": 2,
                              "GPU instance usage without a model (matching no rule)": 2}


def test_focus_12_reads_sku_price_details_by_default(config):
    options = {"instance_types": {"gpu-h800-8x": "H800"}, "rules": FOCUS_RULES}
    result = focus.day_result(request(config, focus.FocusOptions, **options), [FOCUS_12], [FOCUS_12.read_text()])
    assert result.problems == [] and node_hours(result.frame) == {("qwen-72b", "serving"): 10.5}


def test_focus_10_without_sku_price_details_says_what_to_declare(config):
    options = {"instance_types": {"gpu-h800-8x": "H800"}, "rules": FOCUS_RULES}
    result = focus.day_result(request(config, focus.FocusOptions, **options), [FOCUS_10], [FOCUS_10.read_text()])
    [problem] = result.problems
    assert (problem.line, problem.column) == (1, "SkuPriceDetails")
    assert "FOCUS 1.0 has no SkuPriceDetails: name SkuId" in problem.expected


def test_a_bad_instance_type_pattern_is_a_config_error():
    with pytest.raises(ValueError, match="expected a regular expression"):
        focus.FocusOptions(instance_type_field="ChargeDescription", instance_type_pattern="(gpu")


def test_a_cloud_bill_never_makes_idle_instances_of_a_declared_fleet(tmp_path):
    config = Project(tmp_path).write_config(FLEET_OF_6)
    result = focus.day_result(request(config, focus.FocusOptions, **FOCUS_BY_SKU), [FOCUS_10], [FOCUS_10.read_text()])
    [problem] = result.problems
    assert problem.message() == (
        "sources.node_log column hardware.H800.fleet_nodes: expected no fleet_nodes for H800, which this cloud bill "
        "charges by the instance (a bill's hours without an instance are no cost, not idle nodes); declare owned "
        "nodes under a GPU type of their own")


# ---- end to end: `openbooks run --date 2025-02-27` on each export, config only ----------------------------------


def test_openbooks_run_on_an_autoscaled_slurm_export(tmp_path):
    project, _ = fleet_project(tmp_path, SACCT, SLURM_SOURCE)
    result = run_cli(project)
    assert result.returncode == 0, result.stderr
    assert "$360" in result.stdout
    serving = 81030 / 3600
    [figures] = daily(project, NODE_FIGURES + ", serving_node_hours, training_node_hours")
    assert figures == pytest.approx((serving, 0.0, 0.0, 8 * serving, 16 * serving, 2.0, serving,
                                     32 + 78330 / 7200))
    training = 32 + 78330 / 7200
    assert capacity(project) == approx_rows({
        ("H800", "idle"): (0.0, 0.0, 0.0), ("H800", "serving"): (serving, 8 * serving, 16 * serving),
        ("H800", "training"): (training, 8 * training, 16 * training)})
    coverage = published(project.config, "SELECT min(node_log_coverage) FROM hourly_economics")
    assert coverage == [(1.0,)]


def test_an_owned_fleet_makes_the_rest_idle(tmp_path):
    project, _ = fleet_project(tmp_path, SACCT, SLURM_SOURCE, **FLEET_OF_6)
    run_day(project)
    training = 32 + 78330 / 7200
    [(node_hours_, idle, cost)] = daily(project, "node_hours, idle_node_hours, gpu_cost_usd")
    assert (node_hours_, idle, cost) == pytest.approx((6 * 24 - training, 6 * 24 - training - 81030 / 3600,
                                                       16 * (6 * 24 - training)))
    assert {key: row[0] for key, row in capacity(project).items()} == approx_rows({
        ("H800", "idle"): 6 * 24 - training - 81030 / 3600, ("H800", "serving"): 81030 / 3600,
        ("H800", "training"): training})


def test_openbooks_run_on_a_one_line_opencost_response(tmp_path):
    project, _ = fleet_project(tmp_path, OPENCOST, OPENCOST_SOURCE)
    result = run_cli(project)
    assert result.returncode == 0, result.stderr
    node_hours_ = 682 / 12 / 8
    [figures] = daily(project, NODE_FIGURES)
    assert figures == pytest.approx((node_hours_, 0.0, 0.0, 682 / 12, 682 / 6, 1.0))


def test_a_one_line_opencost_response_off_by_more_than_its_precision_fails_naming_the_allocation(tmp_path):
    project, copy = fleet_project(tmp_path, OPENCOST, OPENCOST_SOURCE)
    copy.write_text(copy.read_text().replace('"gpuHours":0.16667', '"gpuHours":0.1667'))
    result = run_cli(project)
    assert result.returncode != 0
    assert ("allocation 'inference/qwen-72b-7d9f-fghij/vllm' (pod qwen-72b-7d9f-fghij, window 2025-02-27T10:00:00Z "
            "to 2025-02-27T16:00:00Z) field gpuHours: expected gpuCount × running hours = 0.1666666667") in (
        result.stdout + result.stderr)
    assert daily(project, "count(*)") == [(0,)]


@pytest.mark.parametrize("path, options", [(FOCUS_10, FOCUS_BY_DESCRIPTION), (FOCUS_12, FOCUS_BY_SKU)])
def test_openbooks_run_on_a_focus_bill_of_instances_that_come_and_go(tmp_path, path, options):
    # i-0dev01 (2 of the bill's 12.5 instance-hours) matches no rule: left out
    # on purpose, 16% of the source's GPU-hours, so the share allowed is raised.
    source = {"kind": "focus", "path": path.name.replace("2025-02-27", "{date}"), "options": options,
              "max_skipped_share": 0.2}
    project, _ = fleet_project(tmp_path, path, source)
    result = run_cli(project)
    assert result.returncode == 0, result.stderr
    [figures] = daily(project, NODE_FIGURES + ", invoiced_gpu_cost_usd")
    assert figures == pytest.approx((10.5, 0.0, 0.0, 84.0, 168.0, 2.0, 250.0))
    assert capacity(project) == approx_rows({("H800", "idle"): (0.0, 0.0, 0.0),
                                             ("H800", "serving"): (10.5, 84.0, 168.0)})


def test_with_openbooks_own_node_log_beside_an_allocation_source_no_stretch_is_filled(config):
    from openbooks.flows.stages import compute, inputs
    from openbooks.flows.sources.base import SourceResult

    window = compute.day_window(config, DAY_START.date())
    slurm_result = slurm.day_result(request(config, slurm.SlurmOptions, **SLURM_SOURCE["options"]), [SACCT],
                                    [SACCT.read_text()])
    own = SourceResult(frame=slurm_result.frame.head(1), files=[Path("node_log.csv")])
    assert inputs.covers_day({"cluster": slurm_result})
    assert not inputs.covers_day({"node_log": own, "cluster": slurm_result})
    # Alone, the Slurm source's stretches without a serving job are 0 idle nodes; beside a node_log, nothing
    # is added, so the node_log's own gaps still fail the day.
    alone = inputs.node_log_frame(config, window, {"cluster": slurm_result})
    zeros = alone.filter(pl.col("model") == "unallocated")
    assert zeros["nodes"].to_list() == [0.0, 0.0, 0.0] and set(zeros["role"]) == {"idle"}
    hours = (zeros["interval_end"] - zeros["interval_start"]).dt.total_seconds().sum() / 3600
    assert hours == pytest.approx(24 - 4.5 - 48630 / 3600)  # 24 h less 2002's 13:00-17:30 and 2001's 20:15-09:45:30
    mixed = inputs.node_log_frame(config, window, {"node_log": own, "cluster": slurm_result})
    assert mixed.filter(pl.col("model") == "unallocated").is_empty()

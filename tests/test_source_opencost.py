"""OpenCost allocations as the node log: the format's own logic on
``tests/fixtures/opencost`` (hand-computed figures in its README), from the
API's JSON and from opencost-parquet-exporter files, with a real config."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from openbooks.flows.sources import opencost
from openbooks.flows.sources.base import DayRequest
from tests.conftest import Project
from tests.fleet_project import failed_day, fleet_project, published_day
from tests.test_source_slurm_sacct import node_hours

FIXTURE = Path(__file__).parent / "fixtures" / "opencost" / "allocation_2025-02-27.json"
DAY = date(2025, 2, 27)
DAY_START, DAY_END = datetime(2025, 2, 27, 4, tzinfo=UTC), datetime(2025, 2, 28, 4, tzinfo=UTC)
LLM_D = {
    "match": {"properties.labels.llm_d_ai_model": "(?P<model>.+)",
              "properties.labels.llm_d_ai_role": "(?P<role>prefill|decode)"},
    "model": "{model}", "role": "{role}",
}
OPTIONS = {"rules": [LLM_D], "instance_types": {"gpu-8x-h800": "H800"}}
EXPECTED = {("deepseek-r1", "decode"): 36.0, ("deepseek-r1", "prefill"): 13.25}
PREFILL_0_LINE = 64
SKIPPED = {"pod without GPUs": 4, "GPU pod without a model (matching no rule)": 2}


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return Project(tmp_path_factory.mktemp("opencost")).write_config()


def _result(config, path: Path, content, **options):
    request = DayRequest(
        config=config, name="node_log", source=config.sources.node_log,
        options=opencost.OpenCostOptions(**{**OPTIONS, **options}), day=DAY, start=DAY_START, end=DAY_END,
        run_id="t",
    )
    return opencost.day_result(request, [path], [content])


def exporter_frame(response: dict) -> pl.DataFrame:
    """The response as opencost-parquet-exporter writes it: flattened with
    '.', ``pvs`` dropped, ``start``/``end``/``minutes`` renamed to running_*."""
    rows = [opencost.flatten({k: v for k, v in a.items() if k != "pvs"}) for step in response["data"]
            for a in step.values()]
    renamed = {"start": "running_start_time", "end": "running_end_time", "minutes": "running_minutes"}
    return pl.DataFrame(rows, infer_schema_length=None).rename(renamed)


def test_api_response_gives_node_hours_by_model_and_role(config):
    result = _result(config, FIXTURE, FIXTURE.read_text())
    assert result.problems == []
    assert node_hours(result.frame) == EXPECTED
    assert result.extra["gpu_hours"] == 394.0
    assert result.skipped == SKIPPED


def test_replicas_are_summed_and_steps_joined(config):
    frame = _result(config, FIXTURE, FIXTURE.read_text()).frame
    assert frame.select("interval_start", "interval_end", "role", "nodes").rows() == [
        (DAY_START, datetime(2025, 2, 27, 10, tzinfo=UTC), "decode", 1.0),
        (DAY_START, datetime(2025, 2, 27, 7, 30, tzinfo=UTC), "prefill", 0.5),
        (datetime(2025, 2, 27, 7, 30, tzinfo=UTC), datetime(2025, 2, 27, 10, tzinfo=UTC), "prefill", 1.0),
        (datetime(2025, 2, 27, 10, tzinfo=UTC), datetime(2025, 2, 27, 22, tzinfo=UTC), "decode", 2.0),
        (datetime(2025, 2, 27, 10, tzinfo=UTC), DAY_END, "prefill", 0.5),
        (datetime(2025, 2, 27, 22, tzinfo=UTC), DAY_END, "decode", 1.0),
    ]
    # Each row names the line of the first allocation it holds ("<name>": {).
    assert frame["line"].to_list()[:3] == [6, PREFILL_0_LINE, PREFILL_0_LINE]


def test_parquet_exporter_file_gives_the_same_node_log(config, tmp_path):
    path = tmp_path / "allocations.parquet"
    exporter_frame(json.loads(FIXTURE.read_text())).write_parquet(path)
    result = _result(config, path, pl.read_parquet(path))
    assert result.problems == []
    assert node_hours(result.frame) == EXPECTED
    assert result.skipped == SKIPPED


def test_exporter_label_columns_are_read_as_labels(config, tmp_path):
    frame = exporter_frame(json.loads(FIXTURE.read_text())).rename(
        {"properties.labels.llm_d_ai_role": "label.role"})
    rule = {**LLM_D, "match": {**LLM_D["match"], "properties.labels.role": "(?P<role>prefill|decode)"}}
    del rule["match"]["properties.labels.llm_d_ai_role"]
    result = _result(config, tmp_path / "a.parquet", frame, rules=[rule])
    assert node_hours(result.frame) == EXPECTED


def test_gpu_type_by_node_name_when_no_instance_type(config):
    text = FIXTURE.read_text().replace('"node_kubernetes_io_instance_type": "gpu-8x-h800"', '"zone": "a"')
    result = _result(config, FIXTURE, text, instance_types={}, node_types={"h800-.*": "H800"})
    assert node_hours(result.frame) == EXPECTED


def test_unknown_instance_type_is_a_problem_naming_the_field(config):
    text = FIXTURE.read_text().replace('"gpu-8x-h800"', '"gpu-8x-b200"', 1)
    result = _result(config, FIXTURE, text)
    [problem] = result.problems
    assert (problem.line, problem.column, problem.value) == (6, "properties.labels.node_kubernetes_io_instance_type",
                                                             "gpu-8x-b200")


def test_gpu_hours_disagreeing_with_gpu_count_is_a_problem(config):
    response = json.loads(FIXTURE.read_text())
    response["data"][2]["llm-d/ds-r1-decode-1/vllm"]["gpuHours"] = 40.0
    text = json.dumps(response, indent=2)
    [problem] = _result(config, FIXTURE, text).problems
    assert (problem.column, problem.value) == ("gpuHours", "40.0")
    assert problem.expected == "gpuCount × running hours = 48 (within the precision it is printed with)"
    assert text.splitlines()[problem.line - 1].strip() == '"llm-d/ds-r1-decode-1/vllm": {'


@pytest.mark.parametrize("field, value, column", [
    ("start", "yesterday", "start"), ("window", {"start": "2025-02-27T16:00:00Z"}, "window.end"),
    ("gpuCount", "eight", "gpuCount"), ("gpuCount", -1, "gpuCount"),
])
def test_a_bad_allocation_is_one_problem(config, field, value, column):
    response = json.loads(FIXTURE.read_text())
    response["data"][2]["llm-d/ds-r1-decode-1/vllm"][field] = value
    [problem] = _result(config, FIXTURE, json.dumps(response, indent=2)).problems
    assert (problem.file, problem.column) == (str(FIXTURE), column)
    assert "ds-r1-decode-1" in problem.record


def test_not_json_or_not_a_response_is_one_problem(config):
    [broken] = _result(config, FIXTURE, '{"code": 200,\n "data": [\n').problems
    assert broken.line == 3 and "JSON" in broken.expected
    [shape] = _result(config, FIXTURE, '{"code": 200, "data": {"a": 1}}').problems
    assert (shape.line, shape.column) == (1, "data")


# End to end: `openbooks run --date D` on a config naming the kind, nothing else.
SOURCE = {"kind": "opencost", "path": "allocation_{date}.json", "options": OPTIONS}


def test_openbooks_run_on_an_allocation_response(tmp_path):
    project, _ = fleet_project(tmp_path, FIXTURE, SOURCE)
    # deepseek-r1 decode 36 + prefill 13.25 node-hours; × 8 GPUs × $2.00.
    assert published_day(project) == ((49.25, 36.0, 13.25, 394.0, 788.0, 2.5), {"node_log": SKIPPED})


def test_a_bad_allocation_fails_the_day_and_publishes_nothing(tmp_path):
    project, copy = fleet_project(tmp_path, FIXTURE, SOURCE)
    response = json.loads(copy.read_text())
    response["data"][2]["llm-d/ds-r1-decode-1/vllm"]["gpuHours"] = 40.0
    copy.write_text(json.dumps(response, indent=2))
    assert failed_day(project) == (
        f"{copy} line 634 allocation 'llm-d/ds-r1-decode-1/vllm' (pod ds-r1-decode-1, window 2025-02-27T16:00:00Z "
        "to 2025-02-27T22:00:00Z) field gpuHours: expected gpuCount × running hours = 48 (within the precision it "
        "is printed with), got '40.0'",
        [(634, "gpuHours", "40.0")])


def test_an_allocation_in_two_files_counts_once(config, tmp_path):
    request = DayRequest(
        config=config, name="node_log", source=config.sources.node_log, options=opencost.OpenCostOptions(**OPTIONS),
        day=DAY, start=DAY_START, end=DAY_END, run_id="t",
    )
    parquet = tmp_path / "allocations.parquet"
    result = opencost.day_result(request, [FIXTURE, parquet],
                                 [FIXTURE.read_text(), exporter_frame(json.loads(FIXTURE.read_text()))])
    assert node_hours(result.frame) == EXPECTED
    assert result.skipped == {**SKIPPED, "allocation repeated in another file (counted once)": 17}

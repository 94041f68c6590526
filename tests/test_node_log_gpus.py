"""openbooks' own node log with ``gpus`` beside or instead of ``nodes`` and
with replicas summed (``options: {replicas: sum}``), through the daily flow
``openbooks run --date D`` runs, configured by YAML only. Figures by hand:
H800 has 8 GPUs a node at $2 a GPU-hour (configs/openbooks.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openbooks.flows.sources.base import FEEDS, ONE_OF
from openbooks.flows.sources.mapping import checked_mapping
from openbooks.errors import OpenbooksError
from tests.conftest import Project
from tests.fleet_project import daily, fleet_project, run_day

HEADER = "interval_start,interval_end,model,role,gpu_type"
START, END = "2025-02-27T12:00:00+08:00", "2025-02-28T12:00:00+08:00"
FIGURES = "node_hours, gpu_hours, gpu_cost_usd, peak_nodes"


def write_log(root: Path, header: str, rows: list[str]) -> Path:
    path = root / "fixtures" / "2025-02-27.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_a_node_log_in_gpus_counts_its_gpu_hours_end_to_end(tmp_path):
    # A job holding 2 of a node's 8 GPUs all day: 0.25 nodes x 24 h = 6 node-hours,
    # 2 x 24 = 48 GPU-hours, 48 x $2 = $96.
    fixture = write_log(tmp_path, HEADER + ",gpus", [f"{START},{END},deepseek-v3,decode,H800,2"])
    project, _ = fleet_project(tmp_path, fixture, {"path": "{date}.csv"})
    run_day(project)
    assert daily(project, FIGURES) == [pytest.approx((6.0, 48.0, 96.0, 0.25))]


def test_nodes_and_gpus_side_by_side_each_row_gives_one(tmp_path):
    # 1 whole node (8 GPUs) plus 2 GPUs all day: 1.25 x 24 = 30 node-hours, 240 GPU-hours, $480.
    fixture = write_log(tmp_path, HEADER + ",nodes,gpus", [f"{START},{END},deepseek-v3,prefill,H800,1,",
                                                            f"{START},{END},deepseek-v3,decode,H800,,2"])
    project, _ = fleet_project(tmp_path, fixture, {"path": "{date}.csv"})
    run_day(project)
    assert daily(project, FIGURES) == [pytest.approx((30.0, 240.0, 480.0, 1.25))]


REPLICAS = [f"{START},2025-02-28T00:00:00+08:00,deepseek-v3,decode,H800,1",
            f"2025-02-27T18:00:00+08:00,{END},deepseek-v3,decode,H800,1"]


def test_overlapping_replicas_are_summed_when_the_source_says_so(tmp_path):
    # Two replicas, one node each, overlapping from 06:00 to 12:00: 12 + 18 = 30 node-hours,
    # 240 GPU-hours, $480, 2 nodes at the peak.
    fixture = write_log(tmp_path, HEADER + ",nodes", REPLICAS)
    project, _ = fleet_project(tmp_path, fixture, {"path": "{date}.csv", "options": {"replicas": "sum"}})
    run_day(project)
    assert daily(project, FIGURES) == [pytest.approx((30.0, 240.0, 480.0, 2.0))]


def test_overlapping_rows_fail_the_day_by_default(tmp_path):
    fixture = write_log(tmp_path, HEADER + ",nodes", REPLICAS)
    project, _ = fleet_project(tmp_path, fixture, {"path": "{date}.csv"})
    with pytest.raises(OpenbooksError, match="overlap"):
        run_day(project)


def test_a_file_with_neither_nodes_nor_gpus_names_the_missing_column(tmp_path):
    project = Project(tmp_path)
    source = project.write_config().sources.get("node_log")
    columns = HEADER.split(",")
    with pytest.raises(OpenbooksError, match="missing column 'nodes'"):
        checked_mapping(tmp_path / "log.csv", columns, "node_log", source, FEEDS["node_log"],
                        one_of=ONE_OF["node_log"])
    only_gpus = checked_mapping(tmp_path / "log.csv", [*columns, "gpus"], "node_log", source, FEEDS["node_log"],
                                one_of=ONE_OF["node_log"])
    assert only_gpus["nodes"] is None and only_gpus["gpus"] == "gpus"

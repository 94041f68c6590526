"""A project whose node log is a fleet source (Slurm, OpenCost, FOCUS),
configured by YAML only, run through ``openbooks run --date D``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from openbooks.errors import OpenbooksError
from tests.books import published
from tests.conftest import Project, base_config_data

DAY = "2025-02-27"
NODE_FIGURES = "node_hours, decode_node_hours, prefill_node_hours, gpu_hours, gpu_cost_usd, peak_nodes"


def fleet_project(root: Path, fixture: Path, node_log: dict[str, Any], **overrides: Any) -> tuple[Project, Path]:
    """A project reading a copy of ``fixture`` as ``sources.node_log`` (the
    sample's token counts beside it); the copy's path is returned to edit."""
    inputs = root / "input" / "node_log"
    inputs.mkdir(parents=True)
    copy = inputs / fixture.name
    shutil.copyfile(fixture, copy)
    data = base_config_data()
    data["sources"]["node_log"] = {**node_log, "path": str(inputs / node_log["path"])}
    # A fixture's few nodes beside the sample's 776B tokens a day are not
    # believable: the plausibility gate (tested on its own) is off here.
    data["plausibility"] = {"enabled": False}
    data.update(overrides)
    project = Project(root)
    project.write_config(replace=data)
    return project, copy


def run_day(project: Project, day: str = DAY) -> dict:
    """The daily flow ``openbooks run --date day`` runs: the day's figures, or its error raised."""
    from openbooks.flows.daily import daily_books

    return daily_books(date.fromisoformat(day), str(project.config_path))


def run_cli(project: Project, day: str = DAY) -> subprocess.CompletedProcess:
    """``openbooks run --date day --config …`` in a process of its own, on the tests' Prefect server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value() or "", "COLUMNS": "250"}
    command = [sys.executable, "-m", "openbooks.cli", "run", "--date", day, "--config", str(project.config_path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)


def daily(project: Project, columns: str) -> list[tuple]:
    return published(project.config, f"SELECT {columns} FROM daily_economics")


def skipped_rows(project: Project) -> list[str | None]:
    return [row[0] for row in published(project.config, "SELECT skipped_rows FROM run_log ORDER BY started_at")]


def published_day(project: Project) -> tuple[tuple, dict]:
    """Run the day: its ``NODE_FIGURES`` in daily_economics and the rows skipped per source in run_log."""
    run_day(project)
    [figures] = daily(project, NODE_FIGURES)
    return figures, json.loads(skipped_rows(project)[-1])


def failed_day(project: Project) -> tuple[str, list[tuple]]:
    """Run a day that must fail and publish nothing: its message and the
    quarantined (line, column, value)."""
    with pytest.raises(OpenbooksError) as error:
        run_day(project)
    assert daily(project, "count(*)") == [(0,)]
    assert published(project.config, "SELECT status FROM run_log") == [("failed",)]
    return str(error.value), published(project.config, "SELECT line, column_name, value FROM quarantine")

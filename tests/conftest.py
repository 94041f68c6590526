"""Shared fixtures: one Prefect test harness per session, started by the
first test that may run a flow (every test but those marked ``pure``: no
flow, no command, no Prefect API), and a project in a temp dir (config,
warehouse, reports) pointing at the bundled sample data."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

import openbooks  # noqa: F401 - sets telemetry-off environment first
from openbooks.config import Config, load_config
from tests.leftovers import mark_this_run, still_running

mark_this_run()


@pytest.hookimpl(trylast=True)  # after pytest's own, which tears down the session's fixtures (the Prefect harness)
def pytest_sessionfinish(session, exitstatus):
    """A run that leaves a server or worker running fails (tests/leftovers.py)."""
    stop_own_prefect_servers()
    left = still_running()
    if left:
        lines = "\n".join(f"  pid {pid}: {command[:200]}" for pid, command in sorted(left.items()))
        print(f"\nerror: the test run left {len(left)} process(es) running:\n{lines}")
        session.exitstatus = 1

def stop_own_prefect_servers() -> None:
    """Prefect's servers this process started, stopped as they would be at its exit: a log line
    sent to the API after the harness ended (its own "Stopping temporary server") starts one."""
    import sys

    if "prefect.server.api.server" not in sys.modules:
        return
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        server.stop()


REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
REFERENCE_DAY = "2025-02-27"


def pytest_configure(config):
    config.addinivalue_line("markers", "pure: runs no flow and no command: no Prefect harness is started for it")


@pytest.fixture(scope="session")
def prefect_harness():
    """Real Prefect engine on a temporary database, entered once per session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        # Commands the tests run (in this process or as subprocesses) report
        # to the harness's server instead of starting a local one each.
        from prefect.settings import PREFECT_API_URL

        os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()
        try:
            yield
        finally:
            os.environ.pop("PREFECT_API_URL", None)


@pytest.fixture(autouse=True)
def prefect_for_flows(request):
    """The session's Prefect harness, for every test not marked ``pure``."""
    if request.node.get_closest_marker("pure") is None:
        request.getfixturevalue("prefect_harness")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch):
    """No OPENBOOKS__ overrides leak in from the environment."""
    for name in list(os.environ):
        if name.startswith("OPENBOOKS__"):
            monkeypatch.delenv(name)


def deep_merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def base_config_data() -> dict[str, Any]:
    """The shipped config with its paths made absolute (sample data, suites)."""
    data = yaml.safe_load((REPO / "configs" / "openbooks.yaml").read_text())
    for source in data["sources"].values():
        source["path"] = str((REPO / "configs" / source["path"]).resolve())
    data["validation"]["expectations_dir"] = str(REPO / "expectations")
    if data.get("claims", {}).get("path"):
        data["claims"]["path"] = str((REPO / "configs" / data["claims"]["path"]).resolve())
    return data


class Project:
    """A throwaway openbooks project: config in ``root/configs``, warehouse and reports under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.config_path = root / "configs" / "openbooks.yaml"

    def write_config(self, overrides: dict[str, Any] | None = None, *, replace: dict[str, Any] | None = None) -> Config:
        data = replace if replace is not None else deep_merge(base_config_data(), overrides or {})
        data.setdefault("warehouse", {})["path"] = "../data/warehouse.duckdb"
        data.setdefault("reports", {})["dir"] = "../reports"
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        return load_config(self.config_path)

    @property
    def config(self) -> Config:
        return load_config(self.config_path)

    def copy_sample(self, days: list[str] | None = None) -> Path:
        """Copy sample files into ``root/input`` and point the sources there
        (so a test can change inputs without touching the bundled ones)."""
        target = self.root / "input"
        for source in ("node_log", "token_counts"):
            (target / source).mkdir(parents=True, exist_ok=True)
            for path in sorted((SAMPLE / source).glob("*.csv")):
                if days is None or path.stem in days:
                    (target / source / path.name).write_bytes(path.read_bytes())
        self.write_config(
            {"sources": {s: {"path": str(target / s / "{date}.csv")} for s in ("node_log", "token_counts")}}
        )
        return target


@pytest.fixture
def project(tmp_path) -> Project:
    p = Project(tmp_path)
    p.write_config()
    return p

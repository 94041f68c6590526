"""What a run spends before its first task: ``openbooks run`` in a fresh
process under ``python -X importtime``, its imports summed by package, and
the wall clock from the process start to the flow run's start and to its
first task's start (as the Prefect API recorded them).

    python benchmarks/startup.py CONFIG DAY

The project's local Prefect API (or ``PREFECT_API_URL``) is started first, so
the figures are a run's own, not a server's start. Prints one JSON line.
This is a measurement, not a test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$")  # self µs, cumulative µs, name
TOP = 12  # packages listed by name; the rest summed


def imports_by_package(lines: list[str]) -> dict[str, float]:
    """Seconds spent importing each package (its modules' own import times)."""
    totals: dict[str, float] = {}
    for line in lines:
        match = IMPORT_LINE.match(line)
        if not match:
            continue
        package = match.group(4).split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(match.group(1)) / 1e6
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    shown = {k: round(v, 3) for k, v in ranked[:TOP]}
    shown["(the rest)"] = round(sum(v for _, v in ranked[TOP:]), 3)
    shown["(total)"] = round(sum(totals.values()), 3)
    return shown


def split_at_flow_start(stderr: str) -> tuple[list[str], list[str]]:
    """The importtime lines before Prefect's 'Beginning flow run' log line, and after."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if "Beginning flow run" in line:
            return lines[:index], lines[index:]
    return lines, []


def api_post(url: str, path: str, body: dict) -> list[dict]:
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
        return json.load(response)


def stamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run_timeline(url: str, run_id: str) -> dict[str, float]:
    """When the flow run and its first task started (epoch seconds), from the API."""
    (flow_run,) = api_post(url, "/flow_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}})
    tasks = api_post(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [run_id]}}})
    first = min((t for t in tasks if t.get("start_time")), key=lambda t: stamp(t["start_time"]))
    return {"flow_start": stamp(flow_run["start_time"]), "first_task_start": stamp(first["start_time"]),
            "first_task": first["name"]}


def main() -> None:
    from openbooks.flows.runtime.prefect_api import use_local_api
    from openbooks.config import load_config
    from openbooks.flows.store.warehouse import session

    config_path, day = sys.argv[1], sys.argv[2]
    config = load_config(config_path)
    url = use_local_api(config)  # started (or found) before the clock starts
    env = {**os.environ, "PREFECT_API_URL": url, "PREFECT_LOGGING_LEVEL": "INFO"}  # INFO: its flow-start line
    command = [sys.executable, "-X", "importtime", "-m", "openbooks.cli", "--verbose", "run", "--date", day, "--config", config_path]
    began = time.time()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    ended = time.time()
    if done.returncode != 0:
        raise SystemExit(f"openbooks run failed: {done.stderr.strip().splitlines()[-1]}")
    with session(config, read_only=True) as con:
        (run_id,) = con.execute("SELECT run_id FROM run_log ORDER BY started_at DESC LIMIT 1").fetchone()
    timeline = run_timeline(url, run_id)
    before, during = split_at_flow_start(done.stderr)
    print(json.dumps({
        "wall_seconds": round(ended - began, 3),
        "before_flow_seconds": round(timeline["flow_start"] - began, 3),
        "before_first_task_seconds": round(timeline["first_task_start"] - began, 3),
        "first_task": timeline["first_task"],
        "imports_before_flow_seconds": imports_by_package(before),
        "imports_in_flow_seconds": imports_by_package(during),
        "load_before": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()

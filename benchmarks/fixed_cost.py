"""Where the fixed cost of an openbooks run goes: run in a fresh process on a
day of a few rows, timing imports, the first run of the flow (which also
warms GX and the chart renderer; the Prefect API is the one PREFECT_API_URL
names, or the project's local server) and a
second run in the same process, with each Prefect task's own run time.

    python benchmarks/fixed_cost.py CONFIG DAY

Prints one JSON line.
"""

import json
import sys
import time
from datetime import date

marks = {}
begin = last = time.perf_counter()


def mark(name):
    global last
    now = time.perf_counter()
    marks[name] = round(now - last, 3)
    last = now


import openbooks.cli  # noqa: E402,F401 - typer, rich, pydantic, the config

mark("import openbooks CLI and config (typer, rich, pydantic)")
import prefect  # noqa: E402,F401

mark("import prefect")
import openbooks.flows.daily  # noqa: E402,F401 - polars, duckdb, the flow

mark("import the flow (polars, duckdb)")
import great_expectations  # noqa: E402,F401

mark("import great_expectations")
import altair  # noqa: E402,F401
import vl_convert  # noqa: E402,F401

mark("import altair, vl-convert")

config, day = sys.argv[1], date.fromisoformat(sys.argv[2])
first = openbooks.flows.daily.daily_books(day, config)
mark("first run of the flow (the Prefect API already up)")
second = openbooks.flows.daily.daily_books(day, config)
mark("second run of the flow in the same process")


def task_times(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {r.name: round(r.total_run_time.total_seconds(), 3) for r in sorted(runs, key=lambda r: r.start_time)}


try:
    tasks = {"first run": task_times(first["run_id"]), "second run": task_times(second["run_id"])}
except Exception as exc:  # the breakdown is a nicety; the marks above are the measure
    tasks = {"error": str(exc)}
print(json.dumps({"marks_seconds": marks, "total_seconds": round(time.perf_counter() - begin, 3), "tasks_seconds": tasks}))

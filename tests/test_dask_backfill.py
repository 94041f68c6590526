"""The engine's per-day pass on Dask (the optional ``dask`` extra): a real
``dask scheduler`` and two ``dask worker`` processes on loopback compute and
render the days, while this process reads and publishes; the days
published equal the days computed inline, table by table and report by
report."""

from __future__ import annotations

from datetime import date

import pytest

from openbooks.flows.backfill import run_backfill
from openbooks.sample import consecutive_days, write_sample
from tests.conftest import Project
from tests.servers import dask_cluster
from tests.test_parallel_backfill import _outcomes, _reports, _warehouse

distributed = pytest.importorskip("distributed")

DAYS = consecutive_days(date(2025, 2, 24), 4)  # through the reference day


@pytest.fixture(scope="module")
def scheduler():
    with dask_cluster(workers=2) as address:
        yield address


def test_a_backfill_on_a_dask_cluster_equals_the_days_computed_inline(tmp_path, scheduler):
    inputs = tmp_path / "input"
    write_sample(inputs, DAYS)
    sources = {"sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")}}
    inline, on_dask = Project(tmp_path / "inline"), Project(tmp_path / "dask")
    inline.write_config(sources)
    on_dask.write_config(sources)

    here = run_backfill(DAYS, str(inline.config_path), runner="inline")
    there = run_backfill(DAYS, str(on_dask.config_path), runner=scheduler.replace("tcp://", "dask://"))

    assert [(o.day, o.status) for o in here] == [(d, "published") for d in DAYS]
    assert _outcomes(there) == _outcomes(here)
    assert _warehouse(on_dask.config) == _warehouse(inline.config)
    assert _reports(on_dask.config) == _reports(inline.config)
    assert len(_reports(on_dask.config)) == 2 * len(DAYS)
    with distributed.Client(scheduler) as client:  # the days were computed and rendered on the cluster's workers
        ran = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
        workers = client.run(lambda: True)
    assert {"books_and_charts", "render_day", "drawn"} <= set(ran), ran
    assert len(workers) == 2


def test_the_runner_may_come_from_the_config(tmp_path, scheduler):
    project = Project(tmp_path)
    project.copy_sample(days=["2025-02-27"])
    project.write_config({"compute": {"runner": scheduler},
                          "sources": {s: {"path": str(tmp_path / "input" / s / "{date}.csv")}
                                      for s in ("node_log", "token_counts")}})
    (outcome,) = run_backfill([date(2025, 2, 27)], str(project.config_path))
    assert outcome.status == "published" and f"{outcome.figures['gpu_cost_usd']:,.0f}" == "87,072"

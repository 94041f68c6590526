"""Backfills on Dask (the optional ``dask`` extra), on a real
``dask.distributed.LocalCluster`` on loopback: the days published on it equal
the days published one at a time, table by table and report by report."""

from __future__ import annotations

from datetime import date

import pytest

from openbooks.flows.backfill import run_backfill, task_runner
from openbooks.flows.dask_runner import local_cluster_kwargs
from openbooks.sample import consecutive_days, write_sample
from tests.conftest import Project
from tests.test_parallel_backfill import _outcomes, _reports, _warehouse

distributed = pytest.importorskip("distributed")
prefect_dask = pytest.importorskip("prefect_dask")

DAYS = consecutive_days(date(2025, 2, 24), 4)  # through the reference day


@pytest.fixture
def cluster():
    """Two single-threaded Dask workers (threads of this process) behind a scheduler on 127.0.0.1."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as local:
        yield local


def test_a_backfill_on_a_dask_cluster_equals_the_serial_backfill(tmp_path, cluster):
    inputs = tmp_path / "input"
    write_sample(inputs, DAYS)
    sources = {"sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")}}
    serial, on_dask = Project(tmp_path / "serial"), Project(tmp_path / "dask")
    serial.write_config(sources)
    on_dask.write_config(sources)

    one_at_a_time = run_backfill(DAYS, str(serial.config_path))
    distributed_days = run_backfill(DAYS, str(on_dask.config_path), workers=2, runner=cluster.scheduler_address)

    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
    assert [(o.day, o.status) for o in one_at_a_time] == [(d, "published") for d in DAYS]
    assert _outcomes(distributed_days) == _outcomes(one_at_a_time)
    assert _warehouse(on_dask.config) == _warehouse(serial.config)
    assert _reports(on_dask.config) == _reports(serial.config)
    assert len(_reports(on_dask.config)) == 2 * len(DAYS)
    with distributed.Client(cluster.scheduler_address) as client:  # the days ran on the cluster's workers
        ran = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert any(name.startswith("run_one_day") for name in ran), ran


def test_dask_local_is_a_local_cluster_of_the_workers_asked_for():
    runner = task_runner("dask-local", 3)
    assert isinstance(runner, prefect_dask.DaskTaskRunner)
    assert runner.cluster_kwargs == local_cluster_kwargs(3) == {
        "n_workers": 3, "threads_per_worker": 1, "processes": True, "host": "127.0.0.1", "dashboard_address": None,
    }
    assert isinstance(task_runner("tcp://10.0.0.5:8786", 2), prefect_dask.DaskTaskRunner)
    assert task_runner("tcp://10.0.0.5:8786", 2).address == "tcp://10.0.0.5:8786"

"""Parallel backfills: 30 days of aggregate logs on two worker processes
publish exactly what the same days run one at a time publish; writers of
several processes take turns on the warehouse's writer lock."""

from __future__ import annotations

import fcntl
import os
import re
from datetime import date

import pytest
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from openbooks.flows.backfill import failed_days, listening, run_backfill, task_runner
from openbooks.flows.schema import PUBLISHED
from openbooks.flows.warehouse import session
from openbooks import sample
from openbooks.errors import OpenbooksError, WarehouseBusy
from openbooks.sample import consecutive_days, write_sample
from tests.books import published
from tests.conftest import Project

DAYS = consecutive_days(date(2025, 1, 29), 30)  # through the reference day, across a price-rule change
# Columns that differ by nature: run ids, clocks and each project's own config path.
NOT_COMPARED = {
    "run_log": "run_id, started_at, finished_at, config_path",
    "raw.files": "ingested_at",
    "raw.node_log": "ingested_at",
    "raw.token_counts": "ingested_at",
    "configs": "first_seen_at, first_path",
    "quarantine": "run_id, quarantined_at",
}
_RUN_SPECIFIC = [  # in a report: its run id, Data Docs run times, when it was generated
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "RUN-ID"),
    (re.compile(r"\d{8}T\d{6}\.\d{6}Z"), "RUN-TIME"),
    (re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"), "generated AT"),
]


def _warehouse(config) -> dict[str, list[tuple]]:
    """Every table of the warehouse, less the columns in ``NOT_COMPARED``."""
    names = [t.name for t in PUBLISHED]
    contents = {name: published(config, f"SELECT * EXCLUDE (run_id) FROM {name} ORDER BY ALL") for name in names}
    for name, columns in NOT_COMPARED.items():
        contents[name] = published(config, f"SELECT * EXCLUDE ({columns}) FROM {name} ORDER BY ALL")
    return contents


def _reports(config) -> dict[str, str]:
    """Each day's Markdown and HTML report with its run-specific text masked."""
    reports = {}
    for path in sorted(config.report_dir.glob("????-??-??.*")):  # the days' own (not the site's index)
        text = path.read_text(encoding="utf-8")
        for pattern, mask in _RUN_SPECIFIC:
            text = pattern.sub(mask, text)
        reports[path.name] = text
    return reports


def _outcomes(outcomes) -> list[tuple]:
    return [(o.day, o.status, {k: v for k, v in (o.figures or {}).items() if k != "run_id"}, o.reason)
            for o in outcomes]


def test_thirty_days_on_two_worker_processes_equal_the_serial_backfill(tmp_path):
    inputs = tmp_path / "input"
    write_sample(inputs, DAYS)
    sources = {"sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")},
               # Days run side by side cannot see each other's figures, so anomalies (each day against
               # the published days before it) are out of play here: fewer days than min_days ever.
               "anomalies": {"window_days": 28, "min_days": 29}}
    serial, parallel = Project(tmp_path / "serial"), Project(tmp_path / "parallel")
    serial.write_config(sources)
    parallel.write_config(sources)

    one_at_a_time = run_backfill(DAYS, str(serial.config_path))
    heard = []
    with listening(heard.append):
        two_at_a_time = run_backfill(DAYS, str(parallel.config_path), workers=2, runner="process")

    assert [(o.day, o.status) for o in one_at_a_time] == [(d, "published") for d in DAYS]
    assert _outcomes(two_at_a_time) == _outcomes(one_at_a_time)
    assert sorted(_outcomes(heard)) == _outcomes(two_at_a_time)  # the CLI's progress hears every day
    assert _warehouse(parallel.config) == _warehouse(serial.config)
    assert published(parallel.config, "SELECT count(DISTINCT day), count(DISTINCT run_id) FROM daily_economics") == [
        (30, 30)
    ]
    assert _reports(parallel.config) == _reports(serial.config)
    assert len(_reports(parallel.config)) == 60


def test_a_writer_waits_for_another_process_holding_the_writer_lock(project):
    config = project.write_config({"warehouse": {"lock_timeout_seconds": 0.3}})
    with session(config) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    lock_path = config.warehouse_path.with_name("warehouse.duckdb.writer.lock")
    with open(lock_path, "a+") as other:  # an open file of its own: to flock, another process
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with session(config, read_only=True) as con:  # a reader does not queue for the writer lock
            assert con.execute("SELECT x FROM t").fetchall() == [(1,)]
        with pytest.raises(WarehouseBusy, match=f"^warehouse {re.escape(str(config.warehouse_path))} is busy: "):
            with session(config):
                pass
    with session(config) as outer, session(config) as inner:  # re-entrant within a thread
        inner.execute("INSERT INTO t VALUES (2)")
        assert outer.execute("SELECT count(*) FROM t").fetchall() == [(2,)]


def test_the_runner_is_process_thread_or_a_task_runner_named_by_module_and_attribute(project):
    assert isinstance(task_runner(None, 2), ProcessPoolTaskRunner)
    assert isinstance(task_runner(None, 1), ThreadPoolTaskRunner)
    assert isinstance(task_runner("thread", 2), ThreadPoolTaskRunner)
    with pytest.raises(OpenbooksError, match=r"^--runner 'dask': expected process, thread or module:attribute$"):
        task_runner("dask", 2)
    with pytest.raises(OpenbooksError, match=r"^--runner 'no_such_module:Runner': cannot load it \(ModuleNotFound"):
        task_runner("no_such_module:Runner", 2)
    with pytest.raises(OpenbooksError, match=r"^--runner 'json:dumps': expected a Prefect TaskRunner, got function$"):
        task_runner("json:dumps", 2)

    outcomes = run_backfill([date(2025, 2, 27)], str(project.config_path), runner=f"{__name__}:CountingRunner")
    assert [(o.day, o.status) for o in outcomes] == [(date(2025, 2, 27), "published")]
    assert CountingRunner.submitted == ["run_one_day"]


class CountingRunner(ThreadPoolTaskRunner):
    """A runner of one's own, as ``--runner module:attribute`` names it (the
    way a DaskTaskRunner would be named)."""

    submitted: list[str] = []

    def submit(self, task, *args, **kwargs):
        CountingRunner.submitted.append(task.name)
        return super().submit(task, *args, **kwargs)


def _die() -> None:
    os._exit(1)


# Worker processes that die as they start, as a killed worker would.
DYING = ProcessPoolTaskRunner(max_workers=1, initializer=_die)


def test_days_whose_worker_process_died_fail_and_are_found_by_only_failed(project):
    project.copy_sample()
    days = [date(2025, 2, 26), date(2025, 2, 27)]
    outcomes = run_backfill(days, str(project.config_path), runner=f"{__name__}:DYING")
    assert [(o.day, o.status) for o in outcomes] == [(d, "failed") for d in days]
    assert failed_days(project.config, days) == days
    reasons = published(project.config, "SELECT error FROM run_log ORDER BY day")
    assert all(r.startswith("the backfill's worker ended before the day finished: ") for (r,) in reasons)


def test_sample_writes_a_range_of_days_in_the_style_of_the_bundled_week(tmp_path):
    from openbooks import cli
    from tests.conftest import SAMPLE

    cli.sample(out=tmp_path, start="2025-02-26", days=3)
    for source in ("node_log", "token_counts"):
        assert sorted(p.name for p in (tmp_path / source).iterdir()) == [
            "2025-02-26.csv", "2025-02-27.csv", "2025-02-28.csv"
        ]
        for name in ("2025-02-26.csv", "2025-02-27.csv"):  # days of the bundled week: the same bytes
            assert (tmp_path / source / name).read_bytes() == (SAMPLE / source / name).read_bytes()
    assert sample.day_factor(date(2025, 2, 28)) == sample.DAY_FACTOR[date(2025, 2, 21)]  # a Friday, like 02-21
    with pytest.raises(OpenbooksError, match="^--start and --days go together"):
        cli.sample(out=tmp_path, start="2025-02-26", days=None)

"""Backfills on local processes: 30 days of aggregate logs computed and
rendered on worker processes (``flows.executor``) publish exactly what the
same days computed inline publish; writers of several processes take turns
on the warehouse's writer lock; a day whose worker process died fails and
is found by ``--only-failed``."""

from __future__ import annotations

import fcntl
import re
from datetime import date

import pytest

from openbooks.flows import range_books
from openbooks.flows.backfill import failed_days, listening, run_backfill
from openbooks.flows.runtime.executor import Inline, OnDask, Processes, executor_for
from openbooks.flows.store.schema import PUBLISHED
from openbooks.flows.store.warehouse import session
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


def test_thirty_days_on_worker_processes_equal_the_days_computed_inline(tmp_path):
    inputs = tmp_path / "input"
    write_sample(inputs, DAYS)
    sources = {"sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")}}
    inline, processes = Project(tmp_path / "inline"), Project(tmp_path / "processes")
    inline.write_config(sources)
    processes.write_config(sources)

    here = run_backfill(DAYS, str(inline.config_path), runner="inline")
    heard = []
    with listening(heard.append):
        there = run_backfill(DAYS, str(processes.config_path))  # the default: a process per core from 8 days on

    assert [(o.day, o.status) for o in here] == [(d, "published") for d in DAYS]
    assert _outcomes(there) == _outcomes(here)
    assert _outcomes(heard) == _outcomes(there)  # the CLI's progress hears every day
    assert _warehouse(processes.config) == _warehouse(inline.config)
    assert published(processes.config, "SELECT count(DISTINCT day), count(DISTINCT run_id) FROM daily_economics") == [
        (30, 30)
    ]
    assert _reports(processes.config) == _reports(inline.config)
    assert len(_reports(processes.config)) == 60


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


def test_the_runner_is_local_processes_inline_or_a_dask_scheduler():
    assert isinstance(executor_for(2), Inline)  # a short range: processes would cost more than they save
    assert isinstance(executor_for(30, "inline"), Inline)
    pool = executor_for(30, "local")
    try:
        assert isinstance(pool, Processes) and pool.in_processes
    finally:
        pool.close()
    with pytest.raises(OpenbooksError, match=r"^--runner 'thread': expected local, inline or a Dask scheduler"):
        executor_for(2, "thread")
    with pytest.raises(OpenbooksError, match=r"^--runner dask://127.0.0.1:9: cannot reach the Dask scheduler"):
        OnDask("dask://127.0.0.1:9", timeout="1s")


def test_days_whose_worker_process_died_fail_and_are_found_by_only_failed(project, monkeypatch):
    project.copy_sample()
    days = [date(2025, 2, 26), date(2025, 2, 27)]
    monkeypatch.setattr(range_books, "executor_for", lambda days, runner: Processes(1, warm=("tests.dying",)))
    outcomes = run_backfill(days, str(project.config_path))
    assert [(o.day, o.status) for o in outcomes] == [(d, "failed") for d in days]
    assert failed_days(project.config, days) == days
    reasons = published(project.config, "SELECT error FROM run_log ORDER BY day")
    assert all(r.startswith("BrokenProcessPool: ") for (r,) in reasons), reasons


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

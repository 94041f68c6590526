"""A backfill as set work (``flows.range_books``) publishes, records and
reports exactly what its days run one at a time (each a range of one, as
``daily-books`` runs it) do: on the bundled week with a bad day in the
middle, the bad day fails alone (its problems in run_log and quarantine)
and the others publish."""

from __future__ import annotations

import re
from datetime import date

from openbooks.flows.backfill import listening, run_backfill
from openbooks import cli
from tests.books import edit_line, published
from tests.test_backfill_cli import _summary, terminal  # noqa: F401 - the fixture
from tests.conftest import Project
from tests.test_parallel_backfill import _outcomes, _reports, _warehouse

WEEK = [date(2025, 2, 20 + n) for n in range(8)]
BAD = date(2025, 2, 24)
EMPTY = date(2025, 2, 22)  # a node log of a header only: its suite's table expectation fails, per day
DATA_DOCS_ITEM = re.compile(r"<li>GX Data Docs: .*?</li>|\n\nGX Data Docs: [^\n]*")


def _bad_week(root) -> dict:
    """The bundled week under ``root`` with a bad day in the middle; the sources reading it."""
    inputs = Project(root).copy_sample()
    node_log = inputs / "node_log" / f"{BAD}.csv"
    edit_line(node_log, 3, lambda f: f[:4] + ["A100"] + f[5:])  # a GPU type the config does not know
    line_4 = node_log.read_text().splitlines()[3].split(",")
    edit_line(node_log, 5, lambda f: line_4)  # line 5 repeats line 4
    header_only = inputs / "node_log" / f"{EMPTY}.csv"
    header_only.write_text(header_only.read_text().splitlines()[0] + "\n")
    return {"sources": {s: {"path": str(inputs / s / "{date}.csv")} for s in ("node_log", "token_counts")}}


def test_the_set_path_equals_one_run_a_day_and_a_bad_day_fails_alone(tmp_path):
    per_day, as_set, no_docs = (Project(tmp_path / name) for name in ("per_day", "set", "no_docs"))
    sources = _bad_week(tmp_path / "shared")
    for project in (as_set, no_docs):
        project.write_config(sources)
    per_day.write_config({**sources, "reports": {"data_docs": "always"}})  # as --data-docs asks of the set

    one_a_day = [run_backfill([day], str(per_day.config_path))[0] for day in WEEK]
    heard = []
    with listening(heard.append):
        in_one_set = run_backfill(WEEK, str(as_set.config_path), data_docs=True)

    assert [(o.day, o.status) for o in one_a_day] == [
        (d, "failed" if d in (BAD, EMPTY) else "published") for d in WEEK
    ]
    assert _outcomes(in_one_set) == _outcomes(one_a_day)
    assert _outcomes(heard) == _outcomes(in_one_set)
    (reason,) = [o.reason for o in in_one_set if o.day == BAD]
    assert f"{BAD}.csv line 3 column gpu_type: expected" in reason and "line 5" in reason
    assert _warehouse(as_set.config) == _warehouse(per_day.config)  # run_log, quarantine and every table
    assert published(as_set.config, "SELECT count(*) FROM quarantine WHERE day = ?", [BAD])[0][0] >= 2
    assert _reports(as_set.config) == _reports(per_day.config)
    assert len(_reports(as_set.config)) == 2 * (len(WEEK) - 2)

    # Without Data Docs asked for: the same, less the good days' links; pages only for the bad day's failing suite.
    assert _outcomes(run_backfill(WEEK, str(no_docs.config_path))) == _outcomes(one_a_day)
    assert _warehouse(no_docs.config) == _warehouse(per_day.config)
    unlinked = {name: DATA_DOCS_ITEM.sub("", text) for name, text in _reports(per_day.config).items()}
    assert _reports(no_docs.config) == unlinked
    pages = sorted(p.relative_to(no_docs.config.report_dir / "data_docs").parts[:2]
                   for p in (no_docs.config.report_dir / "data_docs").rglob("*.html"))
    assert pages and set(pages) == {("validations", "node_log")}


def test_openbooks_backfill_runs_the_days_as_one_set(project, terminal):
    project.copy_sample(days=["2025-02-26", "2025-02-27"])
    cli.backfill(start="2025-02-26", end="2025-02-27", config=project.config_path)
    rows = _summary(terminal.getvalue())
    assert "published" in rows["2025-02-26"] and "published" in rows["2025-02-27"]
    assert all(figure in rows["2025-02-27"] for figure in ("$87,072", "$562,027", "545%"))
    assert not (project.config.report_dir / "data_docs").exists()  # no suite failed: no pages


def test_a_rerun_of_the_set_changes_nothing(tmp_path):
    project = Project(tmp_path)
    project.copy_sample()
    days = WEEK[-2:]
    first = run_backfill(days, str(project.config_path))
    again = run_backfill(days, str(project.config_path))
    assert [o.status for o in first] == ["published", "published"]
    assert [o.status for o in again] == ["unchanged", "unchanged"]
    assert published(project.config, "SELECT count(*) FROM daily_economics") == [(2,)]
    statuses = published(project.config, "SELECT day, status FROM run_log ORDER BY day, started_at")
    assert statuses == [(d, s) for d in days for s in ("published", "unchanged")]

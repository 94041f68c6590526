"""Many days of a raw-table source read together (a backfill's range) give
each day what reading that day alone gives: the same raw rows, lines, file
records, quarantine and typed frames, whether the files load in one scan or,
when one is not clean, one by one."""

from __future__ import annotations

import shutil
import uuid
from datetime import date, timedelta

import polars as pl
import pytest

from openbooks.flows.stages.compute import day_window
from openbooks.flows.stages.inputs import day_request
from openbooks.flows.sources.raw_source import read_raw_days, read_raw_source
from openbooks.flows.store.warehouse import ensure_schema, session
from tests.conftest import SAMPLE, Project

pytestmark = pytest.mark.pure  # no flow, no command

DAYS = [date(2025, 2, 20) + timedelta(days=n) for n in range(6)]


def _project(root, change=None) -> Project:
    """The sample's node log and token counts for ``DAYS`` under ``root``; ``change(folder)`` edits them."""
    project = Project(root)
    inputs = root / "input"
    for feed in ("node_log", "token_counts"):
        (inputs / feed).mkdir(parents=True)
        for day in DAYS:
            shutil.copy(SAMPLE / feed / f"{day}.csv", inputs / feed / f"{day}.csv")
    if change:
        change(inputs)
    project.write_config({"sources": {f: {"path": str(inputs / f / "{date}.csv")} for f in ("node_log", "token_counts")}})
    with session(project.config) as con:
        ensure_schema(con)
    return project


def _requests(project: Project, feed: str):
    config = project.config
    return [day_request(config, feed, day_window(config, day), str(uuid.UUID(int=n))) for n, day in enumerate(DAYS)]


def _state(project: Project) -> dict:
    tables = {"node_log": "raw.node_log", "token_counts": "raw.token_counts", "files": "raw.files",
              "quarantine": "quarantine"}
    with session(project.config, read_only=True) as con:
        return {name: con.execute(f"SELECT * EXCLUDE ({'ingested_at' if name != 'quarantine' else 'quarantined_at'}) "
                                  f"FROM {table} ORDER BY ALL").fetchall() for name, table in tables.items()}


def _outcome(found) -> tuple:
    if isinstance(found, Exception):
        return (type(found).__name__, str(found))
    frame = None if found.frame is None else found.frame.to_dicts()
    return frame, [p.message() for p in found.problems], found.extra.get("files_read"), found.files


def _ragged(inputs):
    path = inputs / "node_log" / f"{DAYS[2]}.csv"
    lines = path.read_text().splitlines()
    lines[3] += ",extra"
    path.write_text("\n".join(lines) + "\n")


def _header_only(inputs):
    path = inputs / "token_counts" / f"{DAYS[1]}.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")


def _reordered_and_bad_value(inputs):
    path = inputs / "node_log" / f"{DAYS[4]}.csv"
    frame = pl.read_csv(path, infer_schema=False)
    frame.select(reversed(frame.columns)).write_csv(path)
    late = inputs / "token_counts" / f"{DAYS[5]}.csv"
    lines = late.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[4], "many", 1)
    late.write_text("\n".join(lines) + "\n")
    (inputs / "node_log" / f"{DAYS[3]}.csv").unlink()


def _relative(found, root) -> str:
    """``found`` as text, each project's folder the same word."""
    return repr(found).replace(str(root / "together"), "<root>").replace(str(root / "alone"), "<root>")


@pytest.mark.parametrize("change", [None, _ragged, _header_only, _reordered_and_bad_value])
def test_days_read_together_equal_days_read_one_by_one(tmp_path, change):
    together, alone = _project(tmp_path / "together", change), _project(tmp_path / "alone", change)
    for feed in ("node_log", "token_counts"):
        batch = read_raw_days(_requests(together, feed), feed)
        single = {}
        for request in _requests(alone, feed):
            try:
                single[request.day] = read_raw_source(request, feed)
            except Exception as exc:  # noqa: BLE001 - compared with the batch's answer for the day
                single[request.day] = exc
        assert _relative({d: _outcome(f) for d, f in batch.items()}, tmp_path) == _relative(
            {d: _outcome(f) for d, f in single.items()}, tmp_path)
    assert _relative(_state(together), tmp_path) == _relative(_state(alone), tmp_path)


def test_a_second_read_of_the_days_reads_no_file_again(tmp_path):
    project = _project(tmp_path)
    first = read_raw_days(_requests(project, "node_log"), "node_log")
    again = read_raw_days(_requests(project, "node_log"), "node_log")
    assert [f.extra["files_read"] for f in first.values()] == [1] * len(DAYS)
    assert [f.extra["files_read"] for f in again.values()] == [0] * len(DAYS)
    assert all(a.frame.equals(b.frame) for a, b in zip(first.values(), again.values()))

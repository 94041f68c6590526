"""Staging: the day's raw rows, typed. A value that cannot be read as its type
goes to ``quarantine`` with its file, line and column, and fails the run.

Only the files a run lists now (at their current content hash) are staged, so
a file that was replaced or removed no longer counts. With ``{date}`` in a
source path the day's files are staged whole (rows outside the day then fail
an expectation); with a plain glob, the rows that fall in the day are staged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import polars as pl

from openbooks.flows.sources.base import FEEDS, Problem
from openbooks.flows.sources.files import SourceFile
from openbooks.flows.store.warehouse import QuarantineRow, frame, quarantine, registered

COLUMN_TYPES = {
    "node_log": {
        "interval_start": "timestamp", "interval_end": "timestamp", "model": "text",
        "role": "text", "gpu_type": "text", "nodes": "number",
        "gpus": "number",
    },
    "token_counts": {
        "hour_start": "timestamp", "model": "text", "channel": "text", "cache_hit_tokens": "integer",
        "cache_miss_tokens": "integer", "output_tokens": "integer", "requests": "integer",
    },
}
EXPECTED = {
    "timestamp": "an ISO 8601 timestamp with a UTC offset, e.g. 2025-02-27T12:00:00+08:00",
    "integer": "a whole number",
    "number": "a number",
}
# Text → type, strictly: a timestamp needs its UTC offset, an integer is digits only.
CASTS = {
    "timestamp": "CASE WHEN regexp_matches({v}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$') "
                 "THEN TRY_CAST({v} AS TIMESTAMPTZ) END",
    "integer": "CASE WHEN regexp_matches({v}, '^[+-]?[0-9]+$') THEN TRY_CAST({v} AS BIGINT) END",
    "number": "TRY_CAST({v} AS DOUBLE)",
    "text": "{v}",
}
# Rows of a plain-glob source that belong to their day (rows whose time cannot be read stay, to be reported).
IN_DAY = {
    "node_log": "(interval_start IS NULL OR interval_end IS NULL OR "
                "(interval_end > __day_start AND interval_start < __day_end))",
    "token_counts": "(hour_start IS NULL OR (hour_start >= __day_start AND hour_start < __day_end))",
}


@dataclass(frozen=True)
class StagedDay:
    """One day to stage: its files (at their current content) and bounds, and the run it is staged for."""

    day: date
    files: list[SourceFile]
    day_start: datetime
    day_end: datetime
    run_id: str


def parse_text(kind: str, value_sql: str) -> str:
    """SQL reading the text ``value_sql`` as ``kind`` strictly (NULL when it is not one)."""
    return CASTS[kind].format(v=value_sql)


def _typed_sql(feed: str) -> str:
    parts = []
    for column, kind in COLUMN_TYPES[feed].items():
        value = f"nullif(trim({column}), '')"
        parts.append(f"{parse_text(kind, value)} AS {column}")
        parts.append(f"({value} IS NOT NULL AND {parse_text(kind, value)} IS NULL) AS __bad_{column}")
    return ", ".join(parts)


def stage_feed(con: duckdb.DuckDBPyConnection, name: str, feed: str, files: list[SourceFile], *, day: date,
               day_start: datetime, day_end: datetime, run_id: str, scoped_to_day: bool) -> tuple[pl.DataFrame, list[Problem]]:
    """The day's typed rows of ``raw.<feed>`` from ``files`` and one problem
    per unreadable value (each also written to ``quarantine``)."""
    staged = StagedDay(day, files, day_start, day_end, run_id)
    return stage_feed_days(con, name, feed, [staged], scoped_to_day=scoped_to_day)[day]


def stage_feed_days(con: duckdb.DuckDBPyConnection, name: str, feed: str, days: list[StagedDay], *,
                    scoped_to_day: bool) -> dict[date, tuple[pl.DataFrame, list[Problem]]]:
    """``stage_feed`` for each of ``days`` in one pass: day → its typed rows
    and its problems (each also written to ``quarantine`` for its day's run)."""
    files = pl.DataFrame(
        [(d.day, str(f.path), f.content_hash, d.day_start, d.day_end) for d in days for f in d.files],
        schema={"__day": pl.Date, "source_file": pl.String, "content_hash": pl.String,
                "__day_start": pl.Datetime("us", "UTC"), "__day_end": pl.Datetime("us", "UTC")},
        orient="row",
    )
    with registered(con, "__files", files):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE __typed AS SELECT f.__day, f.__day_start, f.__day_end, r.source_file, "
            f"r.content_hash, r.line, {', '.join('r.' + c + ' AS __raw_' + c for c in FEEDS[feed])}, "
            f"{_typed_sql(feed)} FROM raw.{feed} r JOIN __files f USING (source_file, content_hash)"
        )
    in_day = "TRUE" if scoped_to_day else IN_DAY[feed]
    problems = _bad_values(con, name, feed, in_day)
    runs = {d.day: d.run_id for d in days}
    quarantine(con, [QuarantineRow.of(p, runs[day], day) for day, found in problems.items() for p in found])
    columns = ", ".join(FEEDS[feed])
    typed = frame(con, f"SELECT __day, {columns}, source_file, line FROM __typed WHERE {in_day} "
                       f"ORDER BY __day, source_file, line")
    per_day = typed.partition_by("__day", as_dict=True, include_key=False, maintain_order=True)
    empty = typed.drop("__day").clear()
    return {d.day: (per_day.get((d.day,), empty), problems.get(d.day, [])) for d in days}


def _bad_values(con: duckdb.DuckDBPyConnection, name: str, feed: str, in_day: str) -> dict[date, list[Problem]]:
    problems: dict[date, list[Problem]] = {}
    record = "json_object(" + ", ".join(f"'{c}', __raw_{c}" for c in FEEDS[feed]) + ")::VARCHAR"
    for column, kind in COLUMN_TYPES[feed].items():
        if kind == "text":
            continue
        rows = con.execute(
            f"SELECT __day, source_file, content_hash, line, __raw_{column}, {record} FROM __typed "
            f"WHERE __bad_{column} AND {in_day} ORDER BY __day, source_file, line"
        ).fetchall()
        for day, source_file, content_hash, line, value, raw_record in rows:
            problems.setdefault(day, []).append(Problem(
                name, EXPECTED[kind], file=source_file, line=line, column=column, value=value, record=raw_record,
                content_hash=content_hash, quarantined=True))
    return problems

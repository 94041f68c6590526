"""Staging: the day's raw rows, typed. A value that cannot be read as its type
goes to ``quarantine`` with its file, line and column, and fails the run.

Only the files a run lists now (at their current content hash) are staged, so
a file that was replaced or removed no longer counts. With ``{date}`` in a
source path the day's files are staged whole (rows outside the day then fail
an expectation); with a plain glob, the rows that fall in the day are staged.
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from flows.sources.base import FEEDS, Problem
from flows.sources.files import SourceFile
from flows.warehouse import QuarantineRow, frame, quarantine

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
# Rows of a plain-glob source that belong to the day (rows whose time cannot be read stay, to be reported).
IN_DAY = {
    "node_log": "(interval_start IS NULL OR interval_end IS NULL OR (interval_end > ? AND interval_start < ?))",
    "token_counts": "(hour_start IS NULL OR (hour_start >= ? AND hour_start < ?))",
}


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
    con.execute("CREATE OR REPLACE TEMP TABLE __files (source_file VARCHAR, content_hash VARCHAR)")
    con.executemany("INSERT INTO __files VALUES (?, ?)", [[str(f.path), f.content_hash] for f in files])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __typed AS SELECT r.source_file, r.content_hash, r.line, "
        f"{', '.join('r.' + c + ' AS __raw_' + c for c in FEEDS[feed])}, {_typed_sql(feed)} "
        f"FROM raw.{feed} r JOIN __files f USING (source_file, content_hash)"
    )
    in_day = "TRUE" if scoped_to_day else IN_DAY[feed]
    params = [] if scoped_to_day else [day_start, day_end]
    problems = _bad_values(con, name, feed, in_day, params)
    quarantine(con, [QuarantineRow.of(p, run_id, day) for p in problems])
    columns = ", ".join(FEEDS[feed])
    typed = frame(
        con, f"SELECT {columns}, source_file, line FROM __typed WHERE {in_day} ORDER BY source_file, line", params
    )
    return typed, problems


def _bad_values(con: duckdb.DuckDBPyConnection, name: str, feed: str, in_day: str, params: list) -> list[Problem]:
    problems = []
    record = "json_object(" + ", ".join(f"'{c}', __raw_{c}" for c in FEEDS[feed]) + ")::VARCHAR"
    for column, kind in COLUMN_TYPES[feed].items():
        if kind == "text":
            continue
        rows = con.execute(
            f"SELECT source_file, content_hash, line, __raw_{column}, {record} FROM __typed "
            f"WHERE __bad_{column} AND {in_day} ORDER BY source_file, line",
            params,
        ).fetchall()
        problems += [Problem(name, EXPECTED[kind], file=source_file, line=line, column=column, value=value,
                             record=raw_record, content_hash=content_hash, quarantined=True)
                     for source_file, content_hash, line, value, raw_record in rows]
    return problems

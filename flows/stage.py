"""Stage: the day's raw rows, typed. A value that cannot be read as its type
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

from flows.ingest import SourceFile, display_path, source_config
from flows.warehouse import frame
from openbooks.config import CANONICAL_COLUMNS

COLUMN_TYPES = {
    "node_log": {
        "interval_start": "timestamp", "interval_end": "timestamp", "model": "text",
        "role": "text", "gpu_type": "text", "nodes": "number",
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
_CAST = {
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


def _typed_sql(source: str) -> str:
    parts = []
    for column, kind in COLUMN_TYPES[source].items():
        value = f"nullif(trim({column}), '')"
        parts.append(f"{_CAST[kind].format(v=value)} AS {column}")
        parts.append(f"({value} IS NOT NULL AND {_CAST[kind].format(v=value)} IS NULL) AS __bad_{column}")
    return ", ".join(parts)


def stage_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    files: list[SourceFile],
    *,
    day: date,
    day_start: datetime,
    day_end: datetime,
    run_id: str,
    scoped_to_day: bool,
) -> tuple[pl.DataFrame, list[str]]:
    """The day's typed rows of ``source`` and one message per unreadable value
    (each also written to ``quarantine``)."""
    con.execute("CREATE OR REPLACE TEMP TABLE __files (source_file VARCHAR, content_hash VARCHAR)")
    con.executemany("INSERT INTO __files VALUES (?, ?)", [[str(f.path), f.content_hash] for f in files])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __typed AS SELECT r.source_file, r.content_hash, r.line, "
        f"{', '.join('r.' + c + ' AS __raw_' + c for c in CANONICAL_COLUMNS[source])}, {_typed_sql(source)} "
        f"FROM raw.{source} r JOIN __files f USING (source_file, content_hash)"
    )
    in_day = "TRUE" if scoped_to_day else IN_DAY[source]
    params = [] if scoped_to_day else [day_start, day_end]
    problems = _quarantine_bad_values(con, source, in_day, params, day=day, run_id=run_id)
    columns = ", ".join(CANONICAL_COLUMNS[source])
    typed = frame(
        con, f"SELECT {columns}, source_file, line FROM __typed WHERE {in_day} ORDER BY source_file, line", params
    )
    return typed, problems


def _quarantine_bad_values(
    con: duckdb.DuckDBPyConnection, source: str, in_day: str, params: list, *, day: date, run_id: str
) -> list[str]:
    problems = []
    record = "json_object(" + ", ".join(f"'{c}', __raw_{c}" for c in CANONICAL_COLUMNS[source]) + ")::VARCHAR"
    for column, kind in COLUMN_TYPES[source].items():
        if kind == "text":
            continue
        rows = con.execute(
            f"SELECT source_file, content_hash, line, __raw_{column}, {record} FROM __typed "
            f"WHERE __bad_{column} AND {in_day} ORDER BY source_file, line",
            params,
        ).fetchall()
        reason = f"expected {EXPECTED[kind]}"
        for source_file, content_hash, line, value, raw_record in rows:
            con.execute(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [run_id, day, source, source_file, content_hash, line, column, value, reason, raw_record],
            )
            problems.append(f"{display_path(source_file)} line {line} column {column}: {reason}, got {value!r}")
    return problems


def is_scoped_to_day(config, source: str) -> bool:
    """Whether the source path names the day's files with ``{date}``."""
    return "{date}" in source_config(config, source).path

"""The request-level aggregation: one row per request in, hourly token counts
and per-customer usage out, set-based in DuckDB with ``GROUPING SETS``.

The rows come as ``RequestRows``: SQL for the typed canonical columns (from
files: ``flows.sources.requests``; from a Polars or Arrow frame read from
anywhere: ``frame_rows``) and SQL that numbers them, to name a bad row. The
scan aggregates token counts per hour, model and channel (the rows the rest
of the pipeline reads as ``token_counts``) and per customer, model, channel
and price period (a period ends where a billed price changes within the day).

When the rows lie in time order (``time_ordered``: Parquet statistics say
so), each price period is aggregated on its own, filtered on ``ts``: DuckDB
skips the row groups outside it, so every row is still read once and the
customer groups need no period key. Otherwise the period is a grouping key
computed per row, in one scan. Checks on a grouping key (hour, model,
channel, customer) are counted from the groups; the row-by-row checks on
token counts make one more key, ``bad``. Only when some row is bad are the
failing rows of each check counted exactly, in a second scan, and the first
few of each read again with their file and row (``request_checks``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows.sources.request_checks import Check, checks, sample, summary
from openbooks.flows.store.warehouse import frame

HOUR_US = 3_600_000_000
_FLOOR_SHIFT = 100_000  # hours added before integer division, so times before the day floor to negative hours
CUSTOMER_SCHEMA = {
    "customer_id": pl.String, "model": pl.String, "channel": pl.String, "hour_start": pl.Datetime("us", "UTC"),
    "requests": pl.Int64, "cache_hit_tokens": pl.Int64, "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64,
}
_SUMS = (
    "count(*) AS requests, sum(cached_tokens)::BIGINT AS cache_hit_tokens, "
    "sum(input_tokens - cached_tokens)::BIGINT AS cache_miss_tokens, sum(output_tokens)::BIGINT AS output_tokens"
)


@dataclass(frozen=True)
class RequestRows:
    """A day's request rows as SQL. ``typed``: the canonical columns, typed;
    ``numbered``: the same plus ``__file`` and ``__line`` (and the values as
    read, for quarantine); ``raw_values``: canonical column → its value as
    read (text); ``raw_record``: the row as read, as JSON text."""

    typed: str
    numbered: str
    raw_values: dict[str, str]
    raw_record: str
    label: str  # how the rows are named in the hourly frame's source_file, e.g. "requests (2 files)"
    time_ordered: Callable[[duckdb.DuckDBPyConnection, list[tuple[int, int]], datetime], bool] = (
        lambda con, periods, day_start: False
    )


@dataclass(frozen=True)
class DayScope:
    """The day a scan is for: its bounds (UTC), hours, priced models, the
    hours at which a billed price changes, and whether the rows are the
    day's files whole (``scoped_to_day``) or to be filtered to the day."""

    start: datetime
    end: datetime
    hours: int
    priced_models: list[str]
    price_change_hours: list[int]
    scoped_to_day: bool


@dataclass
class RequestUsage:
    """A day of request logs, aggregated. ``hourly`` has the staged
    ``token_counts`` columns; ``customers`` one row per customer, model,
    channel and price period (``hour_start`` = the period's first hour);
    ``summary`` one row: ``rows`` and the failing rows of each check."""

    files: list[Path]
    hourly: pl.DataFrame
    customers: pl.DataFrame
    summary: pl.DataFrame
    samples: dict[str, list[tuple]] = field(default_factory=dict)  # check → (file, row, column, value, record)
    hashes: dict[Path, str] = field(default_factory=dict)
    by_period: bool = False  # each price period scanned on its own (rows in time order)
    # check -> what a row should hold, when the source's options change the suite's words
    expected: dict[str, str] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.summary["rows"][0])

    @property
    def sampled_rows(self) -> int:
        """The bad rows read again and kept in quarantine."""
        return sum(len(rows) for rows in self.samples.values())


@dataclass(frozen=True)
class Scan:
    """The pieces of the aggregating scan: the typed rows (``typed``), the
    rows that belong to the day (``in_day``), each row's hour from the day's
    start (``hour``) and whether it fails a row-by-row check (``bad``)."""

    typed: str
    in_day: str
    hour: str
    bad: str
    bind: Callable[[str], str]


def timestamp_sql(value: datetime) -> str:
    return f"'{value.isoformat()}'::TIMESTAMPTZ"


def price_periods(price_change_hours: list[int], hours: int) -> list[tuple[int, int]]:
    """The day's price periods as (first hour, end hour), from the hours at which a price changes."""
    starts = [0, *sorted(h for h in set(price_change_hours) if 0 < h < hours)]
    return list(zip(starts, [*starts[1:], hours]))


def aggregate(con: duckdb.DuckDBPyConnection, rows: RequestRows, scope: DayScope) -> tuple[pl.DataFrame, pl.DataFrame,
                                                                                            pl.DataFrame, dict, bool]:
    """Aggregate ``rows`` in ``con`` (see the module doc): hourly, customers,
    summary, samples of failing rows per check, and whether by period.
    DuckDB errors propagate (the caller names what could not be read)."""
    checklist = checks(scope.priced_models)
    values = {"$start": timestamp_sql(scope.start), "$end": timestamp_sql(scope.end), "$hours": str(scope.hours)}

    def bind(sql: str) -> str:
        for key, value in values.items():
            sql = sql.replace(key, value)
        return sql

    in_day = "TRUE" if scope.scoped_to_day else bind("(ts IS NULL OR (ts >= $start AND ts < $end))")
    periods = price_periods(scope.price_change_hours, scope.hours)
    scan = Scan(rows.typed, in_day, _hour_expr(scope.start), _bad_expr(checklist, bind), bind)
    by_period = len(periods) > 1 and rows.time_ordered(con, periods, scope.start)
    if by_period:
        _aggregate_by_period(con, scan, periods, scope.start, scope.scoped_to_day)
    else:
        _aggregate_in_one_pass(con, scan, periods)
    counts = summary(con, scan, checklist)
    samples = {c.name: sample(con, rows, c, bind, in_day) for c in checklist if counts[c.name][0] > 0}
    hourly, customers = _results(con, checklist, bind, scope.start, rows.label)
    return hourly, customers, counts, samples, by_period


def _results(con, checklist: list[Check], bind, day_start: datetime, label: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    good = " AND ".join(f"NOT ({bind(c.group)})" for c in checklist if c.group and c.table == "hourly")
    hourly = frame(
        con,
        "SELECT ?::TIMESTAMPTZ + to_hours(h) AS hour_start, model, channel, "
        "sum(cache_hit_tokens)::BIGINT AS cache_hit_tokens, sum(cache_miss_tokens)::BIGINT AS cache_miss_tokens, "
        "sum(output_tokens)::BIGINT AS output_tokens, sum(requests)::BIGINT AS requests "
        f"FROM grouped WHERE by_hour = 1 AND {good} GROUP BY h, model, channel ORDER BY h, model, channel",
        [day_start],
    )
    customers = frame(
        con,
        "SELECT customer_id, model, channel, ?::TIMESTAMPTZ + to_hours(period) AS hour_start, requests, "
        "cache_hit_tokens, cache_miss_tokens, output_tokens FROM grouped "
        "WHERE by_hour = 0 AND customer_id IS NOT NULL AND period IS NOT NULL",
        [day_start],
    )
    hourly = hourly.with_columns(
        pl.col("hour_start").dt.cast_time_unit("us"), source_file=pl.lit(label),
        line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
    )
    customers = customers.with_columns(pl.col("hour_start").dt.cast_time_unit("us")).cast(CUSTOMER_SCHEMA)
    return hourly, customers


def _hour_expr(day_start: datetime) -> str:
    """A row's hour counted from the day's start (negative before it)."""
    start_us = int(day_start.timestamp() * 1_000_000)
    return f"(epoch_us(ts) - {start_us} + {_FLOOR_SHIFT * HOUR_US}) // {HOUR_US} - {_FLOOR_SHIFT}"


def _bad_expr(checklist: list[Check], bind: Callable[[str], str]) -> str:
    """True for a row failing any row-by-row check."""
    return "coalesce(" + " OR ".join(f"({bind(c.row)})" for c in checklist if c.group is None) + ", TRUE)"


def _grouped(scan: Scan, where: str, period: str, *, period_key: bool) -> str:
    """One aggregating pass over the rows matching ``where``: by hour, model,
    channel and ``bad`` (``by_hour = 1``), and by customer, model and channel,
    and ``period`` too when it is a key computed per row (``period_key``)."""
    rows = f"SELECT *, {scan.hour} AS h, {scan.bad} AS bad FROM ({scan.typed}) WHERE {where}"
    customer_set = "customer_id, model, channel"
    if period_key:
        rows, period, customer_set = f"SELECT *, {period} AS period FROM ({rows})", "period", customer_set + ", period"
    return (
        f"SELECT GROUPING(customer_id) AS by_hour, h, bad, customer_id, model, channel, {period} AS period, {_SUMS} "
        f"FROM ({rows}) GROUP BY GROUPING SETS ((h, model, channel, bad), ({customer_set}))"
    )


def _aggregate_in_one_pass(con: duckdb.DuckDBPyConnection, scan: Scan, periods: list[tuple[int, int]]) -> None:
    """Temp table ``grouped`` in one scan, the price period (its first hour) a key computed per row."""
    period = "0"
    for first, _ in periods[1:]:
        period = f"CASE WHEN h >= {first} THEN {first} ELSE {period} END"
    con.execute(f"CREATE OR REPLACE TEMP TABLE grouped AS {_grouped(scan, scan.in_day, period, period_key=True)}")


def _aggregate_by_period(con: duckdb.DuckDBPyConnection, scan: Scan, periods: list[tuple[int, int]],
                         day_start: datetime, scoped_to_day: bool) -> None:
    """Temp table ``grouped``: each price period aggregated on its own, filtered
    on ``ts`` so that DuckDB reads only its row groups; then the rows in no
    period (unreadable times, and times outside the day when the files are the
    day's), for the checks."""
    passes = [
        _grouped(scan, f"ts >= {timestamp_sql(day_start + timedelta(hours=first))} "
                       f"AND ts < {timestamp_sql(day_start + timedelta(hours=end))}", str(first), period_key=False)
        for first, end in periods
    ]
    elsewhere = scan.bind("ts IS NULL OR ts < $start OR ts >= $end") if scoped_to_day else "ts IS NULL"
    passes.append(_grouped(scan, elsewhere, "NULL::BIGINT", period_key=False))
    con.execute("CREATE OR REPLACE TEMP TABLE grouped AS " + " UNION ALL ".join(passes))


# -- request rows from a frame (e.g. read from a database) ----------------------------------------------------------

_FRAME_TYPES = {
    "ts": pl.Datetime("us", "UTC"), "model": pl.String, "channel": pl.String, "customer_id": pl.String,
    "input_tokens": pl.Int64, "cached_tokens": pl.Int64, "output_tokens": pl.Int64,
}


def frame_rows(con: duckdb.DuckDBPyConnection, rows: pl.DataFrame, label: str) -> RequestRows:
    """``RequestRows`` of a frame with the canonical ``requests`` columns (and
    ``source_file`` and ``line``, naming where each row came from), registered
    in ``con`` as ``__request_rows``; scanned in one pass."""
    typed = rows.select(
        *[pl.col(c).cast(t, strict=False) for c, t in _FRAME_TYPES.items()],
        pl.col("source_file").cast(pl.String), pl.col("line").cast(pl.Int64),
    )
    con.register("__request_rows", typed.to_arrow())
    columns = ", ".join(_FRAME_TYPES)
    raw = {c: f"CAST({c} AS VARCHAR)" for c in _FRAME_TYPES}
    record = "json_object(" + ", ".join(f"'{c}', {c}" for c in _FRAME_TYPES) + ")::VARCHAR"
    return RequestRows(
        typed=f"SELECT {columns} FROM __request_rows",
        numbered=f"SELECT {columns}, source_file AS __file, line AS __line FROM __request_rows",
        raw_values=raw, raw_record=record, label=label,
    )

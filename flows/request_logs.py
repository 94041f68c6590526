"""Request-level logs: one row per request, hundreds of millions a day.

Unlike the small hourly sources, request files are never copied into the
warehouse as text. DuckDB reads them typed, straight from Parquet (or CSV),
and aggregates them set-based, with ``GROUPING SETS``: token counts per hour,
model and channel (the rows the rest of the pipeline reads as
``token_counts``) and per customer, model, channel and price period (a
period ends where a billed price changes within the day).

How the price periods are told apart depends on the files. When Parquet
statistics show the rows lie in time order (as logs are written), each period
is aggregated on its own, filtered on ``ts``: DuckDB skips the row groups
outside it, so every row is still read once and the customer groups need no
period key. Otherwise (CSV, unordered rows) the period is a grouping key
computed per row, in one scan.

Every row is checked in the same scan: checks on a grouping key (hour,
model, channel, customer) are counted from the groups; the row-by-row checks
on token counts make one more key, ``bad``, of the hourly groups. Only when
some row is bad are the failing rows of each check counted exactly, in a
second scan, and the first few of each read again with their file and row
number and kept in ``quarantine``. The counts are validated by the GX suite
``expectations/requests.json``.

The scan runs in a scratch in-memory DuckDB with the warehouse's
``memory_limit`` and ``temp_directory``, so memory stays bounded whatever
the day's size and the warehouse is not locked meanwhile. Each file is
recorded in ``raw.files`` with its content hash (hashed in a background
thread while DuckDB reads).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from flows.ingest import _file_columns, _mapped_columns, content_hash, display_path, source_config, source_paths
from flows.stage import _CAST
from flows.warehouse import frame, scratch
from openbooks.config import Config
from openbooks.errors import InputError, SourceNotFound, WarehouseError

SOURCE = "requests"
SAMPLES_PER_CHECK = 20
CHANNELS = ("web", "app", "api")
# Column → (DuckDB type, kind for text values). request_id is carried by the files but not read.
TYPES = {
    "ts": ("TIMESTAMP WITH TIME ZONE", "timestamp"),
    "model": ("VARCHAR", "text"),
    "channel": ("VARCHAR", "text"),
    "customer_id": ("VARCHAR", "text"),
    "input_tokens": ("BIGINT", "integer"),
    "cached_tokens": ("BIGINT", "integer"),
    "output_tokens": ("BIGINT", "integer"),
}
_HOUR_US = 3_600_000_000
_FLOOR_SHIFT = 100_000  # hours added before integer division, so times before the day floor to negative hours


@dataclass(frozen=True)
class Check:
    """A row-level check: ``name`` is its column in the summary and the suite;
    ``row`` the SQL that is true for a failing row; ``group`` the same test on
    the groups of the ``hourly`` pass (hour ``h``, ``model``, ``channel``) or
    the ``customers`` pass, when the check can be counted from them rather
    than row by row."""

    name: str
    column: str
    row: str
    group: str | None = None
    table: str = "hourly"


def checks(priced_models: list[str]) -> list[Check]:
    """Every check, in the order of the suite. (With a plain-glob source, rows
    outside the day are left out before counting, so ``outside_day`` is 0.)"""
    models = ", ".join(_literal(m) for m in priced_models)
    channels = ", ".join(_literal(c) for c in CHANNELS)
    return [
        Check("unreadable_ts", "ts", "ts IS NULL", "h IS NULL"),
        Check("outside_day", "ts", "ts < $start OR ts >= $end", "h < 0 OR h >= $hours"),
        Check("unpriced_model", "model", f"model IS NULL OR model NOT IN ({models})",
              f"model IS NULL OR model NOT IN ({models})"),
        Check("unknown_channel", "channel", f"channel IS NULL OR channel NOT IN ({channels})",
              f"channel IS NULL OR channel NOT IN ({channels})"),
        Check("missing_customer", "customer_id", "customer_id IS NULL", "customer_id IS NULL", "customers"),
        Check("bad_input_tokens", "input_tokens", "input_tokens IS NULL OR input_tokens < 0"),
        Check("bad_cached_tokens", "cached_tokens",
              "cached_tokens IS NULL OR cached_tokens < 0 OR cached_tokens > input_tokens"),
        Check("bad_output_tokens", "output_tokens", "output_tokens IS NULL OR output_tokens < 0"),
    ]


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

    @property
    def rows(self) -> int:
        return int(self.summary["rows"][0])

    @property
    def sampled_rows(self) -> int:
        """The bad rows read again and kept in quarantine."""
        return sum(len(rows) for rows in self.samples.values())


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def list_request_files(config: Config, day: date) -> list[Path]:
    paths = source_paths(config, SOURCE, day)
    if not paths:
        pattern = source_config(config, SOURCE).path.replace("{date}", day.isoformat())
        raise SourceNotFound(
            f"no {SOURCE} file for {day}: nothing matches sources.{SOURCE}.path = {display_path(config.resolve(pattern))}"
        )
    return paths


def _reader(config: Config, paths: list[Path], fmt: str, file_columns: list[str], *, numbered: bool) -> str:
    """The day's files as one DuckDB table function (``filename`` and
    ``file_row_number`` only when ``numbered``: the failure path)."""
    files = "[" + ", ".join(_literal(str(p)) for p in paths) + "]"
    if fmt == "parquet":
        extra = ", filename = true, file_row_number = true" if numbered else ""
        return f"read_parquet({files}{extra})"
    source = source_config(config, SOURCE)
    columns = "{" + ", ".join(f"{_literal(c)}: 'VARCHAR'" for c in file_columns) + "}"
    extra = ", filename = true" if numbered else ""
    return (
        f"read_csv({files}, header = true, auto_detect = false, delim = {_literal(source.delimiter)}, "
        f"quote = '\"', escape = '\"', columns = {columns}{extra})"
    )


def _typed_columns(mapping: dict[str, str], file_types: dict[str, str]) -> str:
    """Each canonical column typed: as is when the file has the type already,
    parsed strictly from text (timestamps need a UTC offset), else TRY_CAST."""
    parts = []
    for name, (target, kind) in TYPES.items():
        column = _ident(mapping[name])
        have = file_types[mapping[name]]
        if have == target:
            expr = column
        elif have == "VARCHAR" and kind != "text":
            expr = _CAST[kind].format(v=f"nullif(trim({column}), '')")
        else:
            expr = f"TRY_CAST({column} AS {target})"
        parts.append(f"{expr} AS {name}")
    return ", ".join(parts)


def _schema(con: duckdb.DuckDBPyConnection, config: Config, paths: list[Path], fmt: str) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """File columns, canonical → file column, file column → DuckDB type. Every
    file must carry the mapped columns; the first file's types are used."""
    source = source_config(config, SOURCE)
    mapping, file_columns = {}, []
    for path in paths:
        file_columns = _file_columns(path, fmt, source, con)
        mapping = _mapped_columns(path, file_columns, SOURCE, source)
    if fmt == "parquet":
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_literal(str(paths[0]))})").fetchall()
        types = {row[0]: row[1] for row in described}
    else:
        types = {c: "VARCHAR" for c in file_columns}
    return file_columns, mapping, types


def aggregate_requests(
    config: Config,
    paths: list[Path],
    *,
    day_start: datetime,
    day_end: datetime,
    hours: int,
    priced_models: list[str],
    price_change_hours: list[int],
    scoped_to_day: bool,
) -> RequestUsage:
    """Read the day's request files and aggregate them (see the module doc)."""
    source = source_config(config, SOURCE)
    fmt = source.file_format(paths[0])
    checklist = checks(priced_models)
    values = {"$start": _timestamp(day_start), "$end": _timestamp(day_end), "$hours": str(hours)}

    def bind(sql: str) -> str:
        for key, value in values.items():
            sql = sql.replace(key, value)
        return sql

    with ThreadPoolExecutor(max_workers=1) as pool, scratch(config) as con:
        hashing = {path: pool.submit(content_hash, path) for path in paths}
        file_columns, mapping, types = _schema(con, config, paths, fmt)
        typed = f"SELECT {_typed_columns(mapping, types)} FROM {_reader(config, paths, fmt, file_columns, numbered=False)}"
        in_day = "TRUE" if scoped_to_day else bind("(ts IS NULL OR (ts >= $start AND ts < $end))")
        periods = price_periods(price_change_hours, hours)
        scan = Scan(typed, in_day, _hour_expr(day_start), _bad_expr(checklist, bind), bind)
        by_period = len(periods) > 1 and _rows_in_time_order(con, paths, fmt, mapping["ts"], types, periods, day_start)
        try:
            if by_period:
                _aggregate_by_period(con, scan, periods, day_start, scoped_to_day)
            else:
                _aggregate_in_one_pass(con, scan, periods)
        except duckdb.OutOfMemoryException as exc:
            raise WarehouseError(
                f"sources.{SOURCE}: out of memory aggregating the day ({str(exc).strip().splitlines()[0]}); "
                "raise warehouse.memory_limit (32MB at the very least) or set warehouse.temp_directory"
            )
        except duckdb.Error as exc:
            raise InputError(f"sources.{SOURCE}: the day's files cannot be read: {str(exc).strip().splitlines()[0]}")
        summary = _summary(con, scan, checklist)
        failing = [c for c in checklist if summary[c.name][0] > 0]
        samples = {c.name: _sample(con, config, paths, fmt, file_columns, mapping, types, c, bind, in_day)
                   for c in failing}
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
        hashes = {path: future.result() for path, future in hashing.items()}
    hourly = hourly.with_columns(
        pl.col("hour_start").dt.cast_time_unit("us"),
        source_file=pl.lit(f"{SOURCE} ({len(paths)} file{'s' if len(paths) != 1 else ''})"),
        line=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
    )
    customers = customers.with_columns(pl.col("hour_start").dt.cast_time_unit("us")).cast(CUSTOMER_SCHEMA)
    return RequestUsage(paths, hourly, customers, summary, samples, hashes, by_period)


CUSTOMER_SCHEMA = {
    "customer_id": pl.String, "model": pl.String, "channel": pl.String, "hour_start": pl.Datetime("us", "UTC"),
    "requests": pl.Int64, "cache_hit_tokens": pl.Int64, "cache_miss_tokens": pl.Int64, "output_tokens": pl.Int64,
}
# Split the scan by price period only while that reads at most this many rows per row of the day.
MAX_READS_PER_ROW = 1.2
_SUMS = (
    "count(*) AS requests, sum(cached_tokens)::BIGINT AS cache_hit_tokens, "
    "sum(input_tokens - cached_tokens)::BIGINT AS cache_miss_tokens, sum(output_tokens)::BIGINT AS output_tokens"
)


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


def price_periods(price_change_hours: list[int], hours: int) -> list[tuple[int, int]]:
    """The day's price periods as (first hour, end hour), from the hours at which a price changes."""
    starts = [0, *sorted(h for h in set(price_change_hours) if 0 < h < hours)]
    return list(zip(starts, [*starts[1:], hours]))


def _timestamp(value: datetime) -> str:
    return f"'{value.isoformat()}'::TIMESTAMPTZ"


def _hour_expr(day_start: datetime) -> str:
    """A row's hour counted from the day's start (negative before it)."""
    start_us = int(day_start.timestamp() * 1_000_000)
    return f"(epoch_us(ts) - {start_us} + {_FLOOR_SHIFT * _HOUR_US}) // {_HOUR_US} - {_FLOOR_SHIFT}"


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
    con.execute(f"CREATE TEMP TABLE grouped AS {_grouped(scan, scan.in_day, period, period_key=True)}")


def _aggregate_by_period(con: duckdb.DuckDBPyConnection, scan: Scan, periods: list[tuple[int, int]],
                         day_start: datetime, scoped_to_day: bool) -> None:
    """Temp table ``grouped``: each price period aggregated on its own, filtered
    on ``ts`` so that DuckDB reads only its row groups; then the rows in no
    period (unreadable times, and times outside the day when the files are the
    day's), for the checks."""
    passes = [
        _grouped(scan, f"ts >= {_timestamp(day_start + timedelta(hours=first))} "
                       f"AND ts < {_timestamp(day_start + timedelta(hours=end))}", str(first), period_key=False)
        for first, end in periods
    ]
    elsewhere = scan.bind("ts IS NULL OR ts < $start OR ts >= $end") if scoped_to_day else "ts IS NULL"
    passes.append(_grouped(scan, elsewhere, "NULL::BIGINT", period_key=False))
    con.execute("CREATE TEMP TABLE grouped AS " + " UNION ALL ".join(passes))


def _rows_in_time_order(con: duckdb.DuckDBPyConnection, paths: list[Path], fmt: str, ts_column: str,
                        types: dict[str, str], periods: list[tuple[int, int]], day_start: datetime) -> bool:
    """Whether scanning each price period on its own reads at most
    ``MAX_READS_PER_ROW`` rows per row: Parquet with a ``ts`` column typed
    with its time zone and row groups whose ``ts`` statistics (min and max)
    overlap few periods."""
    if fmt != "parquet" or types.get(ts_column) != TYPES["ts"][0]:
        return False
    files = "[" + ", ".join(_literal(str(p)) for p in paths) + "]"
    groups = con.execute(
        "SELECT row_group_num_rows, epoch_us(TRY_CAST(stats_min_value AS TIMESTAMPTZ)), "
        f"epoch_us(TRY_CAST(stats_max_value AS TIMESTAMPTZ)) FROM parquet_metadata({files}) WHERE path_in_schema = ?",
        [ts_column],
    ).fetchall()
    start_us = int(day_start.timestamp() * 1_000_000)
    bounds = [(start_us + first * _HOUR_US, start_us + end * _HOUR_US) for first, end in periods]
    rows = reads = 0
    for count, low, high in groups:
        rows += count
        if low is None or high is None:
            return False
        reads += count * sum(1 for a, b in bounds if high >= a and low < b)
    return rows > 0 and reads <= MAX_READS_PER_ROW * rows


def _summary(con: duckdb.DuckDBPyConnection, scan: Scan, checklist: list[Check]) -> pl.DataFrame:
    """One row: the day's rows and the failing rows of each check. Row-by-row
    checks are counted in a second scan, only when the first found bad rows."""
    counted = [
        f"coalesce(sum(requests) FILTER (WHERE by_hour = {int(c.table == 'hourly')} AND ({scan.bind(c.group)})), 0)"
        f"::BIGINT AS {c.name}"
        for c in checklist if c.group
    ]
    summary = frame(
        con,
        "SELECT coalesce(sum(requests) FILTER (WHERE by_hour = 1), 0)::BIGINT AS rows, "
        f"coalesce(sum(requests) FILTER (WHERE by_hour = 1 AND bad), 0)::BIGINT AS bad, {', '.join(counted)} FROM grouped",
    )
    row_checks = [c for c in checklist if c.group is None]
    if summary["bad"][0] > 0:
        exact = frame(con, "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE {scan.bind(c.row)})::BIGINT AS {c.name}" for c in row_checks
        ) + f" FROM ({scan.typed}) WHERE {scan.in_day}")
    else:
        exact = pl.DataFrame({c.name: [0] for c in row_checks}, schema={c.name: pl.Int64 for c in row_checks})
    return pl.concat([summary.drop("bad"), exact], how="horizontal").select("rows", *[c.name for c in checklist])


def _sample(con, config, paths, fmt, file_columns, mapping, types, check: Check, bind, in_day: str) -> list[tuple]:
    """The first failing rows of ``check``, read again with file and row number:
    (file, row or line, column, value as text, the row as JSON)."""
    reader = _reader(config, paths, fmt, file_columns, numbered=True)
    if fmt == "parquet":
        numbered = f"SELECT *, filename AS __file, file_row_number + 1 AS __line FROM {reader}"
    else:  # CSV: line in the file, the header being line 1
        numbered = f"SELECT *, filename AS __file, row_number() OVER (PARTITION BY filename) + 1 AS __line FROM {reader}"
    raw = "json_object(" + ", ".join(f"{_literal(n)}, {_ident(mapping[n])}" for n in TYPES) + ")::VARCHAR"
    sql = (
        f"SELECT __file, __line, {_literal(check.column)}, CAST({_ident(mapping[check.column])} AS VARCHAR), {raw} "
        f"FROM (SELECT *, {_typed_columns(mapping, types)} FROM ({numbered})) "
        f"WHERE ({bind(check.row)}) AND {in_day} ORDER BY __file, __line LIMIT {SAMPLES_PER_CHECK}"
    )
    return con.execute(sql).fetchall()


def quarantine_rows(usage: RequestUsage, expected: dict[str, str], run_id: str, day: date) -> list[list]:
    """``quarantine`` rows for the sampled bad rows (``expected``: check → what a row should hold)."""
    return [
        [run_id, day, SOURCE, source_file, usage.hashes.get(Path(source_file)), line, column, value,
         f"expected {expected.get(name, name)}", record]
        for name, samples in usage.samples.items()
        for source_file, line, column, value, record in samples
    ]


def failure_lines(usage: RequestUsage, name: str, expected: str) -> list[str]:
    """One line per sampled bad row of check ``name``, then how many rows fail it in all."""
    lines = [
        f"{display_path(source_file)} row {line} column {column}: expected {expected}, got "
        + ("empty" if value is None else repr(value))
        for source_file, line, column, value, _ in usage.samples.get(name, [])
    ]
    total = int(usage.summary[name][0])
    if total > len(lines):
        lines.append(f"{SOURCE}: {total:,} rows in all fail '{name}' ({len(lines)} kept in quarantine)")
    return lines


def record_files(con: duckdb.DuckDBPyConnection, usage: RequestUsage, fmt: str) -> None:
    """One ``raw.files`` row per request file: path, content hash, size, rows."""
    rows = {}
    if fmt == "parquet":
        listed = "[" + ", ".join(_literal(str(p)) for p in usage.files) + "]"
        rows = dict(con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({listed})").fetchall())
    con.execute("BEGIN")
    try:
        for path in usage.files:
            con.execute("DELETE FROM raw.files WHERE source = ? AND path = ?", [SOURCE, str(path)])
            con.execute(
                "INSERT INTO raw.files VALUES (?, ?, ?, ?, ?, ?, NULL, now())",
                [SOURCE, str(path), usage.hashes[path], path.stat().st_size, rows.get(str(path)),
                 sum(1 for s in usage.samples.values() for row in s if row[0] == str(path))],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise

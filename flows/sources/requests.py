"""openbooks' own request-level logs: one row per request (Parquet, CSV or
JSON), hundreds of millions a day.

Unlike the small hourly sources, request files are never copied into the
warehouse as text. DuckDB reads them typed, straight from their files, and
``request_scan`` aggregates them into hourly token counts (fed to
``token_counts``) and per-customer usage. The scan runs in a scratch
in-memory DuckDB with the warehouse's ``memory_limit`` and
``temp_directory``, so memory stays bounded whatever the day's size and the
warehouse is not locked meanwhile. Each file is recorded in ``raw.files``
with its content hash (hashed in a background thread while DuckDB reads).

A kind whose request rows come from elsewhere (a database, an API) builds a
Polars frame with the ``FEEDS["requests"]`` columns and calls
``aggregate_request_frame`` then ``usage_result``: same checks, same suite.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import duckdb
import polars as pl

from openbooks.flows.sources.base import FEEDS, DayRequest, SourceKind, SourceResult
from openbooks.flows.sources.files import SourceFile, content_hash, day_paths, is_scoped_to_day
from openbooks.flows.sources.mapping import checked_mapping, ident, literal, text_sql, typed_sql
from openbooks.flows.sources.raw_tables import record_file
from openbooks.flows.sources.readers import format_of, reader_for
from openbooks.flows.sources.request_checks import quarantine_rows
from openbooks.flows.sources import request_times
from openbooks.flows.sources.request_diagnosis import unreadable_file
from openbooks.flows.sources.request_times import RequestOptions
from openbooks.flows.sources.request_scan import HOUR_US, DayScope, RequestRows, RequestUsage, aggregate, frame_rows
from openbooks.flows.sources.staging import parse_text
from openbooks.flows.store.warehouse import quarantine, scratch, session
from openbooks.config.frames import price_change_hours
from openbooks.errors import InputError, WarehouseError
from openbooks.expectations.suites import load_suite_file
from openbooks.transforms.calendar import hour_count

SOURCE = "requests"
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


class TimeReading(NamedTuple):
    """How a source's ``ts`` is read (its options) and the day it is read for."""

    options: RequestOptions
    start: datetime
    end: datetime


# Split the scan by price period only while that reads at most this many rows per row of the day.
MAX_READS_PER_ROW = 1.2


def _typed_columns(mapping: dict, file_types: dict[str, str], times: TimeReading) -> str:
    """Each canonical column typed: as is when the file has the type already,
    parsed strictly from text (timestamps need a UTC offset unless the
    source's options say how ``ts`` is written), else TRY_CAST."""
    return ", ".join(
        (_ts_sql(mapping[name], file_types, times) if name == "ts" else _typed(mapping[name], target, kind, file_types))
        + f" AS {name}" for name, (target, kind) in TYPES.items()
    )


def _typed(spec, target: str, kind: str, file_types: dict[str, str]) -> str:
    return typed_sql(spec, target, file_types, lambda v: parse_text(kind, v))


def _ts_sql(spec, file_types: dict[str, str], times: TimeReading) -> str:
    options, start, end = times
    if isinstance(spec, str) and file_types[spec] != "VARCHAR":
        typed = request_times.typed_column_sql(ident(spec), file_types[spec], options, start, end)
        if typed is not None:
            return typed
    return typed_sql(spec, TYPES["ts"][0], file_types, lambda v: request_times.text_sql(v, options, start, end))


def file_rows(con: duckdb.DuckDBPyConnection, name: str, source, paths: list[Path],
              times: TimeReading | None = None) -> RequestRows:
    """The day's request files as ``RequestRows``. Every file must carry the
    mapped columns; the first file's types are used. ``times``: how ``ts`` is
    written (the source's options) and the day's bounds."""
    times = times or TimeReading(RequestOptions(), datetime(1970, 1, 1), datetime(1970, 1, 2))
    reader = reader_for(source, paths[0])
    mapping, file_columns = {}, []
    for path in paths:
        file_columns = reader.columns(path, source, con)
        mapping = checked_mapping(path, file_columns, name, source, FEEDS["requests"])
    types = reader.types(paths, con, file_columns)
    typed = _typed_columns(mapping, types, times)
    ts_column = mapping["ts"] if isinstance(mapping["ts"], str) else None
    ordered = reader.name == "parquet" and ts_column is not None and types.get(ts_column) == TYPES["ts"][0]
    return RequestRows(
        typed=f"SELECT {typed} FROM {reader.table(paths, source, file_columns)}",
        # the typed columns under their own names; the row as read as the struct __raw
        numbered=f"SELECT {typed}, __file, __line, __raw FROM ({reader.numbered(paths, source, file_columns)}) __raw",
        raw_values={n: text_sql(mapping[n], RAW) for n in TYPES},
        raw_record="json_object(" + ", ".join(f"{literal(n)}, {_raw(mapping[n])}" for n in TYPES) + ")::VARCHAR",
        label=f"{SOURCE} ({len(paths)} file{'s' if len(paths) != 1 else ''})",
        time_ordered=(lambda c, periods, start: _rows_in_time_order(c, paths, ts_column, periods, start)) if ordered
        else (lambda c, periods, start: False),
    )


RAW = "__raw."


def _raw(spec) -> str:
    return RAW + ident(spec) if isinstance(spec, str) else text_sql(spec, RAW)


def _rows_in_time_order(con: duckdb.DuckDBPyConnection, paths: list[Path], ts_column: str,
                        periods: list[tuple[int, int]], day_start: datetime) -> bool:
    """Whether scanning each price period on its own reads at most
    ``MAX_READS_PER_ROW`` rows per row: row groups whose ``ts`` statistics
    (min and max) overlap few periods."""
    files = "[" + ", ".join(literal(str(p)) for p in paths) + "]"
    groups = con.execute(
        "SELECT row_group_num_rows, epoch_us(TRY_CAST(stats_min_value AS TIMESTAMPTZ)), "
        f"epoch_us(TRY_CAST(stats_max_value AS TIMESTAMPTZ)) FROM parquet_metadata({files}) WHERE path_in_schema = ?",
        [ts_column],
    ).fetchall()
    start_us = int(day_start.timestamp() * 1_000_000)
    bounds = [(start_us + first * HOUR_US, start_us + end * HOUR_US) for first, end in periods]
    rows = reads = 0
    for count, low, high in groups:
        rows += count
        if low is None or high is None:
            return False
        reads += count * sum(1 for a, b in bounds if high >= a and low < b)
    return rows > 0 and reads <= MAX_READS_PER_ROW * rows


def _scan(con, config, name: str, rows: RequestRows, scope: DayScope, paths: list[Path]):
    try:
        return aggregate(con, rows, scope)
    except duckdb.OutOfMemoryException as exc:
        raise WarehouseError(
            f"sources.{name}: out of memory aggregating the day ({str(exc).strip().splitlines()[0]}); "
            "raise warehouse.memory_limit (32MB at the very least) or set warehouse.temp_directory"
        )
    except duckdb.Error as exc:
        raise InputError(unreadable_file(con, paths, name, exc))


def aggregate_requests(config, paths: list[Path], *, day_start: datetime, day_end: datetime, hours: int,
                       priced_models: list[str], price_change_hours: list[int], scoped_to_day: bool,
                       name: str = SOURCE) -> RequestUsage:
    """Read the day's request files of source ``name`` and aggregate them."""
    source = config.sources.get(name)
    options = source_options(source)
    scope = DayScope(day_start, day_end, hours, priced_models, price_change_hours, scoped_to_day)
    with ThreadPoolExecutor(max_workers=1) as pool, scratch(config) as con:
        hashing = {path: pool.submit(content_hash, path) for path in paths}
        rows = file_rows(con, name, source, paths, TimeReading(options, day_start, day_end))
        hourly, customers, summary, samples, by_period = _scan(con, config, name, rows, scope, paths)
        hashes = {path: future.result() for path, future in hashing.items()}
    expected = {"unreadable_ts": options.expected()} if options.expected() else {}
    return RequestUsage(paths, hourly, customers, summary, samples, hashes, by_period, expected)


def source_options(source) -> RequestOptions:
    """The source's ``options`` as this kind's (the defaults when it has none)."""
    options = getattr(source, "validated_options", None)
    if isinstance(options, RequestOptions):
        return options
    return RequestOptions(**(getattr(source, "options", None) or {}))


def aggregate_request_frame(config, frame: pl.DataFrame, scope: DayScope, label: str) -> RequestUsage:
    """Aggregate request rows read from anywhere (a frame with the canonical
    ``requests`` columns, ``source_file`` and ``line``), as the files are."""
    with scratch(config) as con:
        hourly, customers, summary, samples, by_period = aggregate(con, frame_rows(con, frame, label), scope)
    return RequestUsage([], hourly, customers, summary, samples, {}, by_period)


def day_scope(request: DayRequest) -> DayScope:
    """The scan's view of the day: bounds, hours, priced models, price changes."""
    config, start, end = request.config, request.start, request.end
    return DayScope(start, end, hour_count(start, end), priced_names(config),
                    price_change_hours(config, request.day, start, end), is_scoped_to_day(config, request.name))


def priced_names(config) -> list[str]:
    """Model names a request may carry: the billing card's models ("*" among
    them when it prices every model), and the raw names ``models:`` maps onto them."""
    card = config.price_book.cards[config.price_book.card]
    raw = [name for name, books_name in config.models.items() if books_name in card.models]
    return sorted({*card.models, *raw})


def usage_result(usage: RequestUsage) -> SourceResult:
    """A kind's result from aggregated request rows: no canonical frame (the
    rows are never materialised), the per-check counts for the suite, the
    usage itself under ``extra["usage"]``."""
    summary = (f"{usage.rows} rows, "
               + ("each price period scanned on its own" if usage.by_period else "in one pass"))
    return SourceResult(None, list(usage.files), checked=usage.summary,
                        extra={"usage": usage, "quarantined_rows": usage.sampled_rows, "summary": summary})


def keep_samples(request: DayRequest, usage: RequestUsage) -> None:
    """The sampled bad rows into ``quarantine``, the reason from the suite's ``expected``."""
    with session(request.config) as con:
        quarantine(con, quarantine_rows(usage, request.name, suite_expected(request.config, "requests"),
                                        request.run_id, request.day))


def suite_expected(config, suite: str) -> dict[str, str]:
    """column → what the suite expects of it (its ``meta.expected``, else the expectation's type)."""
    loaded = load_suite_file(config.expectations_dir / f"{suite}.json")
    return {e["kwargs"]["column"]: (e.get("meta") or {}).get("expected", e["type"]) for e in loaded["expectations"]}


def read(request: DayRequest) -> SourceResult:
    """The day's request files, aggregated; files in ``raw.files``, sampled bad rows in quarantine."""
    paths = day_paths(request.config, request.name, request.day)
    scope = day_scope(request)
    usage = aggregate_requests(request.config, paths, day_start=scope.start, day_end=scope.end, hours=scope.hours,
                               priced_models=scope.priced_models, price_change_hours=scope.price_change_hours,
                               scoped_to_day=scope.scoped_to_day, name=request.name)
    record_request_files(request, usage)
    keep_samples(request, usage)
    return usage_result(usage)


def record_request_files(request: DayRequest, usage: RequestUsage) -> None:
    """One ``raw.files`` row per request file: path, content hash, size, rows."""
    rows = {}
    if usage.files and format_of(request.source, usage.files[0]) == "parquet":
        listed = "[" + ", ".join(literal(str(p)) for p in usage.files) + "]"
        with scratch(request.config) as con:
            rows = dict(con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata({listed})").fetchall())
    with session(request.config) as con:
        con.execute("BEGIN")
        try:
            for path in usage.files:
                sampled = sum(1 for s in usage.samples.values() for row in s if row[0] == str(path))
                record_file(con, SourceFile(request.name, path, usage.hashes[path]),
                            rows=rows.get(str(path)), rejected_rows=sampled, error=None)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


KIND = SourceKind(
    name="requests", feeds="requests", read=read, suite="requests", options=RequestOptions,
    description="openbooks' request-level logs: one row per request, aggregated in DuckDB",
)

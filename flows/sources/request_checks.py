"""The checks on request rows: counted in the aggregating scan, validated by
the GX suite ``expectations/requests.json`` (one count per check, each
expected 0), and the first failing rows of each read again with their file
and row, printed one line each and kept in ``quarantine``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from openbooks.flows.sources.files import display_path
from openbooks.flows.sources.mapping import literal
from openbooks.flows.store.warehouse import QuarantineRow, frame
from openbooks.config import ANY_MODEL

SAMPLES_PER_CHECK = 20
CHANNELS = ("web", "app", "api")


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
    models = ", ".join(literal(m) for m in priced_models)
    unpriced = "model IS NULL" if ANY_MODEL in priced_models else f"model IS NULL OR model NOT IN ({models})"
    channels = ", ".join(literal(c) for c in CHANNELS)
    return [
        Check("unreadable_ts", "ts", "ts IS NULL", "h IS NULL"),
        Check("outside_day", "ts", "ts < $start OR ts >= $end", "h < 0 OR h >= $hours"),
        Check("unpriced_model", "model", unpriced, unpriced),  # a card's "*" prices every model
        Check("unknown_channel", "channel", f"channel IS NULL OR channel NOT IN ({channels})",
              f"channel IS NULL OR channel NOT IN ({channels})"),
        Check("missing_customer", "customer_id", "customer_id IS NULL", "customer_id IS NULL", "customers"),
        Check("bad_input_tokens", "input_tokens", "input_tokens IS NULL OR input_tokens < 0"),
        Check("bad_cached_tokens", "cached_tokens",
              "cached_tokens IS NULL OR cached_tokens < 0 OR cached_tokens > input_tokens"),
        Check("bad_output_tokens", "output_tokens", "output_tokens IS NULL OR output_tokens < 0"),
    ]


def summary(con: duckdb.DuckDBPyConnection, scan, checklist: list[Check]) -> pl.DataFrame:
    """One row: the day's rows and the failing rows of each check. Row-by-row
    checks are counted in a second scan, only when the first found bad rows."""
    counted = [
        f"coalesce(sum(requests) FILTER (WHERE by_hour = {int(c.table == 'hourly')} AND ({scan.bind(c.group)})), 0)"
        f"::BIGINT AS {c.name}"
        for c in checklist if c.group
    ]
    counts = frame(
        con,
        "SELECT coalesce(sum(requests) FILTER (WHERE by_hour = 1), 0)::BIGINT AS rows, "
        f"coalesce(sum(requests) FILTER (WHERE by_hour = 1 AND bad), 0)::BIGINT AS bad, {', '.join(counted)} FROM grouped",
    )
    row_checks = [c for c in checklist if c.group is None]
    if counts["bad"][0] > 0:
        exact = frame(con, "SELECT " + ", ".join(
            f"count(*) FILTER (WHERE {scan.bind(c.row)})::BIGINT AS {c.name}" for c in row_checks
        ) + f" FROM ({scan.typed}) WHERE {scan.in_day}")
    else:
        exact = pl.DataFrame({c.name: [0] for c in row_checks}, schema={c.name: pl.Int64 for c in row_checks})
    return pl.concat([counts.drop("bad"), exact], how="horizontal").select("rows", *[c.name for c in checklist])


def sample(con: duckdb.DuckDBPyConnection, rows, check: Check, bind: Callable[[str], str], in_day: str) -> list[tuple]:
    """The first failing rows of ``check``, read again with file and row number:
    (file, row or line, column, value as text, the row as JSON)."""
    sql = (
        f"SELECT __file, __line, {literal(check.column)}, {rows.raw_values[check.column]}, {rows.raw_record} "
        f"FROM ({rows.numbered}) WHERE ({bind(check.row)}) AND {in_day} ORDER BY __file, __line "
        f"LIMIT {SAMPLES_PER_CHECK}"
    )
    return con.execute(sql).fetchall()


def quarantine_rows(usage, name: str, expected: dict[str, str], run_id: str, day: date) -> list[QuarantineRow]:
    """``quarantine`` rows for the sampled bad rows of source ``name``
    (``expected``: check → what a row should hold)."""
    return [
        QuarantineRow(run_id, day, name, f"expected {usage.expected.get(check) or expected.get(check, check)}",
                      source_file,
                      usage.hashes.get(Path(source_file)), line, column, value, record)
        for check, samples in usage.samples.items()
        for source_file, line, column, value, record in samples
    ]


def failure_lines(usage, name: str, check: str, expected: str) -> list[str]:
    """One line per sampled bad row of ``check``, then how many rows fail it in all."""
    expected = usage.expected.get(check) or expected
    lines = [
        f"{display_path(source_file)} row {line} column {column}: expected {expected}, got "
        + ("empty" if value is None else repr(value))
        for source_file, line, column, value, _ in usage.samples.get(check, [])
    ]
    total = int(usage.summary[check][0])
    if total > len(lines):
        lines.append(f"{name}: {total:,} rows in all fail '{check}' ({len(lines)} kept in quarantine)")
    return lines

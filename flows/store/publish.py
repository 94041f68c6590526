"""Write-audit-publish: computed frames go to ``staging`` first; only a
validated run swaps its day into the published tables, in one transaction.

A failure anywhere before COMMIT leaves the published tables as they were.
A computed column that ``flows/store/schema.py`` does not declare is an error, not
dropped: a new figure needs its column declared there.
"""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from openbooks.flows.store.books import Books
from openbooks.flows.store.schema import (
    API_SPEND,
    CAPACITY_BY_ROLE,
    CLAIMS_AUDIT,
    COST_BREAKDOWN,
    CUSTOMER_ECONOMICS,
    DAILY_ECONOMICS,
    GPU_COST_CHECK,
    HOURLY_ECONOMICS,
    MODEL_ECONOMICS,
    NODE_STEPS,
    PUBLISHED,
    REVENUE_SCENARIOS,
    REVENUE_WATERFALL,
    SCENARIO_ECONOMICS,
    Table,
)
from openbooks.flows.store.warehouse import registered, transaction
from openbooks.errors import OpenbooksError


class UndeclaredColumns(OpenbooksError):
    """A computed frame carries a column its table does not declare."""


def staged_frames(books: Books, run_id: str, config_hash: str) -> dict[Table, pl.DataFrame]:
    day = pl.lit(books.window.day)
    frames = {
        DAILY_ECONOMICS: books.daily.with_columns(run_id=pl.lit(run_id), config_hash=pl.lit(config_hash)),
        HOURLY_ECONOMICS: books.hourly.with_columns(day=day, run_id=pl.lit(run_id)),
        NODE_STEPS: books.steps.with_columns(day=day, run_id=pl.lit(run_id)),
        **{
            table: frame.with_columns(day=day, run_id=pl.lit(run_id))
            for table, frame in (
                (REVENUE_WATERFALL, books.waterfall), (REVENUE_SCENARIOS, books.scenarios),
                (COST_BREAKDOWN, books.cost_breakdown), (CLAIMS_AUDIT, books.claims_audit),
            )
        },
    }
    if books.models is not None:
        frames[MODEL_ECONOMICS] = books.models.with_columns(day=day, run_id=pl.lit(run_id))
    if books.gpu_cost_check is not None:
        frames[GPU_COST_CHECK] = books.gpu_cost_check.with_columns(day=day, run_id=pl.lit(run_id))
    if books.api_spend is not None:
        frames[API_SPEND] = books.api_spend.with_columns(day=day, run_id=pl.lit(run_id))
    if books.scenario_economics is not None:
        frames[SCENARIO_ECONOMICS] = books.scenario_economics.with_columns(day=day, run_id=pl.lit(run_id))
    if books.capacity is not None:
        frames[CAPACITY_BY_ROLE] = books.capacity.with_columns(day=day, run_id=pl.lit(run_id))
    if books.customers is not None:
        frames[CUSTOMER_ECONOMICS] = books.customers.with_columns(day=day, run_id=pl.lit(run_id))
    return frames


def undeclared_columns(table: Table, frame: pl.DataFrame) -> list[str]:
    """Columns of ``frame`` that ``table`` does not declare."""
    declared = {c.name for c in table.columns}
    return [name for name in frame.columns if name not in declared]


def check_declared(frames: dict[Table, pl.DataFrame]) -> None:
    """Raise ``UndeclaredColumns`` naming every computed column the schema lacks."""
    problems = [
        f"{table.name}: {extra}" for table, frame in frames.items() if (extra := undeclared_columns(table, frame))
    ]
    if problems:
        raise UndeclaredColumns(
            "computed columns not declared in flows/store/schema.py (declare them there to publish them): "
            + "; ".join(problems)
        )


def write_staging(con: duckdb.DuckDBPyConnection, frames: dict[Table, pl.DataFrame], run_id: str) -> None:
    """Replace this run's rows in ``staging.<table>`` (every column declared,
    see ``check_declared``; declared columns a frame lacks are null)."""
    write_staging_runs(con, frames, [run_id])


def stacked(days: list[dict[Table, pl.DataFrame]]) -> dict[Table, pl.DataFrame]:
    """Many runs' staged frames as one frame per table (each row keeps its
    ``day`` and ``run_id``; a column one run lacks is null in its rows)."""
    tables: dict[Table, list[pl.DataFrame]] = {}
    for frames in days:
        for table, frame in frames.items():
            tables.setdefault(table, []).append(frame)
    return {table: pl.concat(parts, how="diagonal_relaxed") if len(parts) > 1 else parts[0]
            for table, parts in tables.items()}


def write_staging_runs(con: duckdb.DuckDBPyConnection, frames: dict[Table, pl.DataFrame], run_ids: list[str]) -> None:
    """Replace the staged rows of ``run_ids`` by ``frames`` (the rows of those
    runs, ``stacked``), every table in one transaction."""
    check_declared(frames)
    with registered(con, "__runs", pl.DataFrame({"run_id": run_ids}, schema={"run_id": pl.String})), \
            transaction(con):
        for table, frame in frames.items():
            columns = [c.name for c in table.columns if c.name in frame.columns]
            with registered(con, "__frame", frame.select(columns)):
                con.execute(f"DELETE FROM staging.{table.name} WHERE run_id IN (SELECT run_id FROM __runs)")
                con.execute(f"INSERT INTO staging.{table.name} BY NAME SELECT * FROM __frame")


def publish_day(con: duckdb.DuckDBPyConnection, day: date, run_id: str, tables: tuple[Table, ...] = PUBLISHED) -> bool:
    """Swap ``day`` in every published table for this run's staged rows, all
    in one transaction: readers see the old day or the new day, never a mix.

    When the staged rows equal the published ones (every column but
    ``run_id``), the published rows are kept as they are and this returns
    False: re-running a day with the same inputs and config changes nothing."""
    return day in publish_days(con, {day: run_id}, tables)


def publish_days(con: duckdb.DuckDBPyConnection, runs: dict[date, str],
                 tables: tuple[Table, ...] = PUBLISHED) -> set[date]:
    """``publish_day`` for each day of ``runs`` (day → its run), in one
    transaction for them all: each day is swapped whole or not at all, and a
    day whose staged rows equal its published ones is kept as it is. Returns
    the days that changed."""
    schema = {"day": pl.Date, "run_id": pl.String}
    with registered(con, "__runs", pl.DataFrame({"day": list(runs), "run_id": list(runs.values())}, schema=schema)), \
            transaction(con):
        changed = set().union(*(_differing_days(con, table) for table in tables))
        days = sorted(changed)
        with registered(con, "__changed", pl.DataFrame({"day": days, "run_id": [runs[d] for d in days]},
                                                       schema=schema)):
            for table in tables:
                if changed:
                    con.execute(f"DELETE FROM {table.qualified} WHERE day IN (SELECT day FROM __changed)")
                    con.execute(f"INSERT INTO {table.qualified} BY NAME SELECT * FROM staging.{table.name} "
                                f"WHERE run_id IN (SELECT run_id FROM __changed)")
                con.execute(f"DELETE FROM staging.{table.name} WHERE run_id IN (SELECT run_id FROM __runs)")
    return changed


def _differing_days(con: duckdb.DuckDBPyConnection, table: Table) -> set[date]:
    """The days of ``__runs`` whose staged rows of ``table`` differ from the
    published ones (as multisets, ignoring which run wrote them)."""
    columns = ", ".join(c.name for c in table.columns if c.name != "run_id")
    staged = f"SELECT {columns} FROM staging.{table.name} WHERE run_id IN (SELECT run_id FROM __runs)"
    current = f"SELECT {columns} FROM {table.qualified} WHERE day IN (SELECT day FROM __runs)"
    rows = con.execute(
        f"SELECT DISTINCT day FROM (({staged} EXCEPT ALL {current}) UNION ALL ({current} EXCEPT ALL {staged}))"
    ).fetchall()
    return {row[0] for row in rows}


def discard_staging_days(con: duckdb.DuckDBPyConnection, days: list[date]) -> None:
    """Drop staged rows of earlier runs of ``days`` (a failed run's rows stay
    until its day is run again, for inspection), a statement per table."""
    with registered(con, "__days", pl.DataFrame({"day": days}, schema={"day": pl.Date})):
        for table in PUBLISHED:
            con.execute(f"DELETE FROM staging.{table.name} WHERE day IN (SELECT day FROM __days)")

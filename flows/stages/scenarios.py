"""What-if scenarios on published days: the tables they are computed from,
read from the warehouse (``openbooks whatif``) or taken from a run's books
(``scenario_economics``), and the price cards compiled for them. The
computing is ``transforms.whatif``."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from openbooks.catalogue import declared_scenarios
from openbooks.config import Config
from openbooks.config.frames import price_frame
from openbooks.flows.store.warehouse import frame
from openbooks.transforms import pricing, whatif
from openbooks.transforms.whatif import Scenario

SOURCE_TABLES = ("daily_economics", "hourly_economics", "model_economics", "revenue_scenarios")


def list_prices(config: Config, at: datetime) -> pl.DataFrame:
    """Every card's list price per model in force at ``at``."""
    hours = pl.DataFrame({"hour_start": [at]}, schema={"hour_start": pl.Datetime("us", "UTC")})
    return pricing.prices_by_hour(price_frame(config), hours).drop("hour_start")


def measured_gpu_type(config: Config) -> str:
    """The label of the fleet's hardware: its GPU type, or the types joined."""
    return "+".join(config.hardware)


def scenario_rows(config: Config, scenarios: list[Scenario], tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Each scenario on one day's tables (``SOURCE_TABLES``): rows per model
    and in total, with ``day`` and ``hours``."""
    daily = tables["daily_economics"]
    prices = list_prices(config, daily["day_start"][0])
    parts = [whatif.scenario_day(s, tables, prices, card=config.price_book.card,
                                 reference_model=config.price_book.reference_model,
                                 gpu_type=measured_gpu_type(config))[0] for s in scenarios]
    return pl.concat(parts).with_columns(day=pl.lit(daily["day"][0]), hours=pl.lit(daily["hours"][0]))


def books_scenarios(config: Config, daily: pl.DataFrame, hourly: pl.DataFrame, models: pl.DataFrame | None,
                    cards: pl.DataFrame) -> pl.DataFrame | None:
    """``scenario_economics`` of a day being run (its computed tables), or
    None when the config declares no scenario."""
    if not config.whatif.scenarios or models is None:
        return None
    tables = dict(zip(SOURCE_TABLES, (daily, hourly, models, cards)))
    return scenario_rows(config, declared_scenarios(config), tables).drop("hours")


def published_days(con: duckdb.DuckDBPyConnection, first: date, last: date) -> dict[date, dict[str, pl.DataFrame]]:
    """The source tables of every published day from ``first`` to ``last``."""
    read = {name: frame(con, f"SELECT * FROM {name} WHERE day BETWEEN ? AND ?", [first, last]).drop("run_id")
            for name in SOURCE_TABLES}
    days = sorted(read["daily_economics"]["day"].to_list())
    return {day: {name: rows.filter(pl.col("day") == day) for name, rows in read.items()} for day in days}


def whatif_days(config: Config, scenarios: list[Scenario], days: dict[date, dict[str, pl.DataFrame]]) -> pl.DataFrame:
    """Every scenario on every day: one frame, ``day`` and ``hours`` on each row."""
    return pl.concat([scenario_rows(config, scenarios, tables) for tables in days.values()])

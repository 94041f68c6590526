"""The headline strip of a UI page: the day and the published days of its window, read in the page's connection."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from openbooks.flows.report.headline import WINDOW_DAYS, headline_rows, with_unit_cost


def headline(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """One row per figure: day, figure, label, kind, value, median, days in the median, change."""
    daily = con.sql("""SELECT day, gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd, cost_profit_margin,
            billed_gross_margin, input_tokens, output_tokens, cache_hit_rate
        FROM daily_economics WHERE day BETWEEN $1 AND $2""", params=[day - timedelta(days=2 * WINDOW_DAYS), day]).pl()
    return headline_rows(with_unit_cost(daily), day)

"""The headline strip: a day's key figures, each against its trailing median.

The median is taken over the published days before the day, up to
``WINDOW_DAYS`` of them (the anomaly check's default window). Shares move by
points (0.05 = 5 points), amounts by their share of the median.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

WINDOW_DAYS = 28
# (key, label, kind): kind money, share (a fraction) or rate (dollars per million tokens)
FIGURES = (
    ("gpu_cost_usd", "GPU cost", "money"),
    ("theoretical_revenue_usd", "Theoretical revenue", "money"),
    ("billed_revenue_usd", "Billed revenue", "money"),
    ("cost_profit_margin", "Cost profit margin", "share"),
    ("billed_gross_margin", "Billed gross margin", "share"),
    ("cost_per_million_tokens_usd", "Cost per million tokens", "rate"),
    ("cache_hit_rate", "Cache hit rate", "share"),
)


def trailing(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """The day's row and the published days of its window before it, the day first."""
    return con.sql("""SELECT day, gpu_cost_usd, theoretical_revenue_usd, billed_revenue_usd, cost_profit_margin,
            billed_gross_margin, gpu_cost_usd / nullif(input_tokens + output_tokens, 0) * 1e6
            AS cost_per_million_tokens_usd, cache_hit_rate
        FROM daily_economics WHERE day BETWEEN $1 AND $2 ORDER BY day = $2 DESC, day DESC""",
                       params=[day - timedelta(days=WINDOW_DAYS), day]).pl()


def change(value: float | None, median: float | None, kind: str) -> float | None:
    """Points for shares, share of the median for amounts; None without both."""
    if value is None or median is None:
        return None
    if kind == "share":
        return value - median
    return None if median == 0 else (value - median) / abs(median)


def headline(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """One row per figure: day, figure, label, kind, value, median, days in the median, change."""
    frame = trailing(con, day)
    here = frame.filter(pl.col("day") == day)
    before = frame.filter(pl.col("day") != day)
    out = []
    for key, label, kind in FIGURES:
        value = here[key][0] if here.height else None
        median = before[key].median() if before[key].drop_nulls().len() else None
        out.append({"day": day, "figure": key, "label": label, "kind": kind, "value": value, "median": median,
                    "median_days": before[key].drop_nulls().len(), "change": change(value, median, kind)})
    return pl.DataFrame(out, schema={"day": pl.Date, "figure": pl.Utf8, "label": pl.Utf8, "kind": pl.Utf8,
                                     "value": pl.Float64, "median": pl.Float64, "median_days": pl.Int64,
                                     "change": pl.Float64})

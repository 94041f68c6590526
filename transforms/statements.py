"""The statements: ``hourly_economics`` and ``daily_economics``.

``hourly_economics`` is built from the hour grid, costed node-hours and priced
token counts; ``daily_economics`` sums the hours, so a day's figures always
equal the sum of its hours.
"""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from openbooks.transforms.capacity import ROLES, SERVING_ROLES
from openbooks.transforms.figures import exprs

TOKEN_SUMS = ("cache_hit_tokens", "cache_miss_tokens", "output_tokens", "requests")


def _node_hours_by_role(costed: pl.DataFrame) -> list[pl.Expr]:
    return [
        pl.col("node_hours").filter(pl.col("role") == role).sum().alias(f"{role}_node_hours")
        for role in ROLES
    ]


def hourly_economics(
    hours: pl.DataFrame, costed_node_hours: pl.DataFrame, priced_tokens: pl.DataFrame, coverage: pl.DataFrame
) -> pl.DataFrame:
    """One row per hour of the business day.

    ``costed_node_hours``: hour_start, model, role, gpu_type, node_hours,
    gpu_hours, gpu_cost_usd (all roles; cost counts serving roles only).
    ``priced_tokens``: token rows with ``theoretical_revenue_usd``.
    ``coverage``: hour_start, covered_hours (from the serving node log)."""
    is_serving = pl.col("role").is_in(SERVING_ROLES)
    capacity = costed_node_hours.group_by("hour_start").agg(
        node_hours=pl.col("node_hours").filter(is_serving).sum(),
        gpu_hours=pl.col("gpu_hours").filter(is_serving).sum(),
        gpu_cost_usd=pl.col("gpu_cost_usd").filter(is_serving).sum(),
        *_node_hours_by_role(costed_node_hours),
    )
    tokens = priced_tokens.group_by("hour_start").agg(
        *[pl.col(c).sum() for c in TOKEN_SUMS],
        theoretical_revenue_usd=pl.col("theoretical_revenue_usd").sum(),
        unpriced_token_rows=pl.col("theoretical_revenue_usd").is_null().sum().cast(pl.Int64),
    )
    zero_filled = [c for c in capacity.columns + tokens.columns if c != "hour_start"]
    return (
        hours.join(capacity, on="hour_start", how="left")
        .join(tokens, on="hour_start", how="left")
        .join(coverage, on="hour_start", how="left")
        .with_columns(pl.col(zero_filled).fill_null(0))
        .with_columns(
            input_tokens=pl.col("cache_hit_tokens") + pl.col("cache_miss_tokens"),
            node_log_coverage=pl.col("covered_hours") / pl.col("hours"),
        )
        .with_columns(_rates())
        .drop("covered_hours")
        .sort("hour_start")
    )


def _rates() -> list[pl.Expr]:
    return exprs("avg_nodes", "cache_hit_rate", "cost_profit_margin", "gross_margin")


def daily_economics(
    hourly: pl.DataFrame,
    steps: pl.DataFrame,
    *,
    day: date,
    day_start: datetime,
    day_end: datetime,
    reference_model: str,
) -> pl.DataFrame:
    """One row for the business day: sums of its hours, the peak of the
    serving node-count step function, the average over the day's length."""
    summed = [
        "hours", "node_hours", "gpu_hours", "gpu_cost_usd", "cache_hit_tokens", "cache_miss_tokens",
        "input_tokens", "output_tokens", "requests", "theoretical_revenue_usd",
        *[f"{role}_node_hours" for role in ROLES],
    ]
    return (
        hourly.select(pl.col(summed).sum())
        .with_columns(
            day=pl.lit(day),
            day_start=pl.lit(day_start).dt.cast_time_unit("us"),
            day_end=pl.lit(day_end).dt.cast_time_unit("us"),
            peak_nodes=pl.lit(steps["nodes"].max() if steps.height else 0.0, dtype=pl.Float64),
            reference_model=pl.lit(reference_model),
        )
        .with_columns(_rates())
        .select("day", "day_start", "day_end", "hours", "node_hours", "gpu_hours", "peak_nodes", "avg_nodes",
                "gpu_cost_usd", "input_tokens", "cache_hit_tokens", "cache_miss_tokens", "output_tokens",
                "requests", "cache_hit_rate", "reference_model", "theoretical_revenue_usd",
                "cost_profit_margin", "gross_margin", *[f"{role}_node_hours" for role in ROLES])
    )

"""The revenue waterfall: from theoretical revenue to billed revenue.

Four levels, each summed over the day's token rows and rounded to the cent:
theoretical (every token at the reference price), at own list price (each
model at its own price), billable at list (free channels removed), billed
(time-of-day rules applied). The steps between them are differences of
rounded levels, so they sum exactly, to the cent, to billed revenue.
"""

from __future__ import annotations

import polars as pl

ALL_MODELS = "all"
STEPS = (
    ("theoretical revenue", "total"),
    ("model mix", "change"),
    ("free channels", "change"),
    ("time-of-day pricing", "change"),
    ("billed revenue", "total"),
)
LEVELS = ("theoretical_revenue_usd", "list_revenue_usd", "billable_list_revenue_usd", "billed_revenue_usd")


def _cents(column: pl.Expr) -> pl.Expr:
    return (column.sum() * 100).round(0).cast(pl.Int64)


def waterfall_levels(billed: pl.DataFrame) -> pl.DataFrame:
    """Per model and for all models (``model`` = ``"all"``): the four levels in
    whole cents (``<level>_cents``)."""
    aggregates = [
        _cents(pl.col("theoretical_revenue_usd")).alias("theoretical_revenue_usd_cents"),
        _cents(pl.col("list_revenue_usd")).alias("list_revenue_usd_cents"),
        _cents(pl.col("list_revenue_usd").filter(pl.col("billable"))).alias("billable_list_revenue_usd_cents"),
        _cents(pl.col("billed_revenue_usd")).alias("billed_revenue_usd_cents"),
    ]
    per_model = billed.group_by("model").agg(aggregates).sort("model")
    everything = billed.select(aggregates).with_columns(model=pl.lit(ALL_MODELS))
    return pl.concat([everything.select(per_model.columns), per_model])


def revenue_waterfall(billed: pl.DataFrame) -> pl.DataFrame:
    """One row per model and step: ``model``, ``step_order``, ``step``,
    ``kind`` (total or change), ``amount_usd``, and the bar's ``start_usd``
    and ``end_usd``. ``billed``: token rows with ``theoretical_revenue_usd``,
    ``list_revenue_usd``, ``billable`` and ``billed_revenue_usd``."""
    levels = waterfall_levels(billed)
    cents = [pl.col(f"{level}_cents") for level in LEVELS]
    bars = [  # (start, end) of each step's bar, in cents
        (pl.lit(0, pl.Int64), cents[0]),
        (cents[0], cents[1]),
        (cents[1], cents[2]),
        (cents[2], cents[3]),
        (pl.lit(0, pl.Int64), cents[3]),
    ]
    rows = [
        levels.select(
            "model",
            step_order=pl.lit(order, pl.Int64),
            step=pl.lit(step),
            kind=pl.lit(kind),
            start_cents=start,
            end_cents=end,
        )
        for order, ((step, kind), (start, end)) in enumerate(zip(STEPS, bars), start=1)
    ]
    return (
        pl.concat(rows)
        .with_columns(
            amount_usd=(pl.col("end_cents") - pl.col("start_cents")) / 100,
            start_usd=pl.col("start_cents") / 100,
            end_usd=pl.col("end_cents") / 100,
        )
        .drop("start_cents", "end_cents")
        .sort(pl.col("model") != ALL_MODELS, "model", "step_order")
    )


def reconcile(waterfall: pl.DataFrame) -> pl.DataFrame:
    """Per model: ``steps_usd`` (the first total plus every change) beside
    ``billed_revenue_usd`` (the last total), and ``difference_usd``."""
    first = pl.col("step_order") == 1
    changes = pl.col("kind") == "change"
    last = pl.col("step_order") == len(STEPS)
    return (
        waterfall.group_by("model", maintain_order=True)
        .agg(
            steps_usd=pl.col("amount_usd").filter(first | changes).sum(),
            billed_revenue_usd=pl.col("amount_usd").filter(last).sum(),
        )
        .with_columns(difference_usd=(pl.col("steps_usd") - pl.col("billed_revenue_usd")).round(6))
    )

"""The claims audit: each published claim against the computed day.

Figures are named as in the warehouse: a ``daily_economics`` column
(``cost_profit_margin``) or ``scenario.<card>.<column>`` for a
``revenue_scenarios`` row. A claim is confirmed when the computed value is
within its tolerance of the stated one; a claim whose figure the day does not
have is ``no such figure``; a claim about other days than this one (its
``day`` to ``through``) is ``not applicable``. A rejected claim is a finding,
not an error.
"""

from __future__ import annotations

from datetime import date

import polars as pl

FIGURE_SCHEMA = {"figure": pl.String, "computed": pl.Float64}


def day_figures(daily: pl.DataFrame, scenarios: pl.DataFrame) -> pl.DataFrame:
    """Every numeric figure of the day, long: ``figure``, ``computed``."""
    numeric = [name for name, dtype in daily.schema.items() if dtype.is_numeric()]
    plain = daily.select(pl.col(numeric).cast(pl.Float64)).unpivot(variable_name="figure", value_name="computed")
    per_card = [c for c, dtype in scenarios.schema.items() if dtype.is_numeric()]
    by_card = (
        scenarios.select("card", pl.col(per_card).cast(pl.Float64))
        .unpivot(index="card", variable_name="column", value_name="computed")
        .select(figure=pl.format("scenario.{}.{}", "card", "column"), computed="computed")
    )
    return pl.concat([plain.cast(FIGURE_SCHEMA), by_card.cast(FIGURE_SCHEMA)])


def verdict() -> pl.Expr:
    """confirmed when |computed − stated| ≤ tolerance, else rejected."""
    return (
        pl.when(~pl.col("applies"))
        .then(pl.lit("not applicable"))
        .when(pl.col("computed").is_null())
        .then(pl.lit("no such figure"))
        .when((pl.col("computed") - pl.col("stated")).abs() <= pl.col("tolerance") + 1e-12)
        .then(pl.lit("confirmed"))
        .otherwise(pl.lit("rejected"))
    )


def applies_to(day: date | None) -> pl.Expr:
    """True when the claim is about ``day``: no ``day`` of its own, or ``day``
    within its ``day`` .. ``through`` (``through`` defaults to ``day``)."""
    first, last = pl.col("day"), pl.coalesce("through", "day")
    if day is None:
        return pl.lit(True)
    return first.is_null() | ((first <= day) & (last >= day))


def claims_audit(claims: pl.DataFrame, figures: pl.DataFrame, day: date | None = None) -> pl.DataFrame:
    """``claims`` (claim, figure, stated, tolerance, source, and optionally
    day, through, unit) with ``computed``, ``difference`` (computed − stated)
    and ``verdict`` for ``day``, in the claims' order. ``day``, ``through`` and
    ``unit`` come out as ``first_day``, ``last_day`` and ``unit``."""
    optional = {"day": pl.Date, "through": pl.Date, "unit": pl.String}
    missing = [pl.lit(None, dtype).alias(name) for name, dtype in optional.items() if name not in claims.columns]
    return (
        claims.with_columns(missing).with_row_index("claim_order", offset=1)
        .join(figures, on="figure", how="left", maintain_order="left")
        .with_columns(applies=applies_to(day))
        .with_columns(difference=pl.col("computed") - pl.col("stated"), verdict=verdict())
        .drop("applies").rename({"day": "first_day", "through": "last_day"})
        .sort("claim_order")
    )

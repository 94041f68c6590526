"""Invoiced GPU cost (a cloud bill, e.g. FOCUS) beside the declared rental
rate: the billed GPU cost of the day, margins on it, and a check per GPU type
of declared-rate cost against the invoice, so a savings plan or a discount
shows by how much (not hidden in the margin).

Frames:
- invoices: ``gpu_type``, ``billed_cost``, ``effective_cost``, ``list_cost``,
  ``hours`` (instance-hours), ``gpu_hours``: the day's part of every GPU
  instance charge (``flows/sources/focus.py``'s ``extra["invoiced_cost"]``)
- costed: node-hours by hour, model, role and GPU type with ``gpu_hours`` and
  ``gpu_cost_usd`` at the declared rate (``cost.gpu_cost``), every role
"""

from __future__ import annotations

import polars as pl

from openbooks.transforms.cost import rental_usd
from openbooks.transforms.figures import exprs
from openbooks.transforms.ratios import ratio

CHECK_COLUMNS = (
    "gpu_type", "node_hours", "gpu_hours", "node_log_cost_usd", "invoiced_node_hours", "invoiced_gpu_hours",
    "declared_cost_usd", "invoiced_cost_usd", "effective_cost_usd", "list_cost_usd", "difference_usd", "ratio",
)
DAILY_COLUMNS = ("invoiced_gpu_cost_usd", "invoiced_cost_profit_margin", "invoiced_gross_margin",
                 "billed_invoiced_gross_margin")


def invoiced_by_gpu_type(invoices: pl.DataFrame) -> pl.DataFrame:
    """Per GPU type: the invoice's instance-hours, GPU-hours and billed, effective and list cost."""
    return invoices.group_by("gpu_type").agg(
        invoiced_node_hours=pl.col("hours").sum(), invoiced_gpu_hours=pl.col("gpu_hours").sum(),
        invoiced_cost_usd=pl.col("billed_cost").sum(), effective_cost_usd=pl.col("effective_cost").sum(),
        list_cost_usd=pl.col("list_cost").sum(),
    )


def declared_by_gpu_type(costed: pl.DataFrame) -> pl.DataFrame:
    """Per GPU type: the node log's node-hours and GPU-hours (every role: the
    bill charges an instance whatever it does) at the declared rental rate."""
    return costed.group_by("gpu_type").agg(
        pl.col("node_hours").sum(), pl.col("gpu_hours").sum(), node_log_cost_usd=pl.col("gpu_cost_usd").sum()
    )


def gpu_cost_check(costed: pl.DataFrame, invoices: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """One row per GPU type in the node log or the invoice: the node log's
    hours at the declared rate, the invoiced hours at the declared rate
    (``declared_cost_usd``, like for like) and as invoiced (billed), their
    difference (invoiced − declared) and ratio (invoiced / declared; below 1
    a discount or savings plan)."""
    return (
        declared_by_gpu_type(costed)
        .join(invoiced_by_gpu_type(invoices), on="gpu_type", how="full", coalesce=True)
        .with_columns(pl.exclude("gpu_type").fill_null(0.0))
        .join(hardware, on="gpu_type", how="left")
        .with_columns(declared_cost_usd=rental_usd(pl.col("invoiced_node_hours")).fill_null(0.0))
        .with_columns(
            difference_usd=pl.col("invoiced_cost_usd") - pl.col("declared_cost_usd"),
            ratio=ratio(pl.col("invoiced_cost_usd"), pl.col("declared_cost_usd")),
        )
        .select(CHECK_COLUMNS)
        .sort("gpu_type")
    )


def invoiced_daily(daily: pl.DataFrame, invoices: pl.DataFrame | None) -> pl.DataFrame:
    """``daily_economics`` with the invoiced GPU cost (null without an
    invoice) and the margins on it: theoretical revenue / invoiced − 1,
    (theoretical − invoiced) / theoretical, (billed − invoiced) / billed."""
    invoiced = None if invoices is None else float(invoices["billed_cost"].sum())
    return daily.with_columns(invoiced_gpu_cost_usd=pl.lit(invoiced, dtype=pl.Float64)).with_columns(
        exprs("invoiced_cost_profit_margin", "invoiced_gross_margin", "billed_invoiced_gross_margin"))

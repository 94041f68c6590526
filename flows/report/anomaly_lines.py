"""Anomalies in words: one line each, as reports, the console and the
webhook show them (``2025-02-27 Gross margin 70.0% against a median of
84.0% over 7 days (-14.0 pts, threshold 5.0)``)."""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.format import format_value
from openbooks.flows.report.sections.figures import FIGURES
from openbooks.flows.report.sections.in_depth import IN_DEPTH_FIGURES
from openbooks.transforms.anomalies import POINTS
from openbooks.transforms.forecast import BUDGET_SO_FAR

LABELS = {key: (label.strip(), fmt) for key, label, fmt in FIGURES + IN_DEPTH_FIGURES}
LABELS["idle_capacity_share"] = ("Idle capacity share", "{:.1%}")


def describe(row: dict) -> str:
    """``2025-02-27 Gross margin 70.0% against a median of 84.0% over 7 days (-14.0 pts, threshold 5.0)``."""
    if row.get("budget") is not None:
        return describe_budget(row)
    label, fmt = LABELS.get(row["figure"], (row["figure"], "{:,.4g}"))
    if row["kind"] == POINTS:
        moved, limit = f"{row['move'] * 100:+.1f} pts", f"{row['threshold'] * 100:.1f} pts"
    else:
        moved, limit = f"{row['move']:+.1%}", f"{row['threshold']:.0%}"
    return (f"{row['day']} {label} {format_value(row['value'], fmt)} against a median of "
            f"{format_value(row['median'], fmt)} over {row['window_days']} days ({moved}, threshold {limit})")


def describe_budget(row: dict) -> str:
    """``2025-02-27 budget 'GPU cost ceiling' broken by the month's forecast: GPU cost $2,900,000 above $2,800,000``."""
    money = row["figure"].startswith("gpu_cost_usd")
    shown = (lambda v: f"${v:,.0f}") if money else (lambda v: f"{v:.1%}")
    where = "above" if money else "below"
    by = "the month so far" if row["kind"] == BUDGET_SO_FAR else "the month's forecast"
    return (f"{row['day']} budget '{row['budget']}' broken by {by}: {row['figure']} {shown(row['value'])} "
            f"{where} {shown(row['threshold'])} ({row['window_days']} days published)")


def descriptions(anomalies: pl.DataFrame) -> list[str]:
    return [describe(row) for row in anomalies.iter_rows(named=True)]

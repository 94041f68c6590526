"""The day's report: Markdown and a self-contained HTML page.

``render_day(tables, context)`` renders a day from its tables by name (as a
run computed them, or as ``operator`` reads them back from the warehouse);
``sections.SECTIONS`` lists the page's sections and ``sections.TABLES`` the
tables they read. ``render(...)`` keeps the keyword form of earlier versions.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from openbooks.flows.report import day as tables_
from openbooks.flows.report.day import Context
from openbooks.flows.report.files import report_current, report_paths
from openbooks.flows.report.output import write_report
from openbooks.flows.report.format import figure_rows as _figure_rows
from openbooks.flows.report.format import format_value
from openbooks.flows.report.page import Report, render_day
from openbooks.flows.report.sections import TABLES
from openbooks.flows.report.sections.figures import FIGURES

__all__ = ["FIGURES", "TABLES", "Context", "Report", "figure_rows", "format_value", "render", "render_day",
           "report_current", "report_paths", "write_report"]

RENDER_ARGUMENTS = {  # render() keyword -> published table
    "daily": tables_.DAILY, "hourly": tables_.HOURLY, "steps": tables_.STEPS, "waterfall": tables_.WATERFALL,
    "scenarios": tables_.SCENARIOS, "cost_breakdown": tables_.COST_BREAKDOWN, "claims": tables_.CLAIMS,
    "customers": tables_.CUSTOMERS, "whatif": "scenario_economics", "models": "model_economics",
    "headline": "headline",
}


def figure_rows(daily: dict, figures: tuple[tuple[str, str, str], ...] = FIGURES) -> list[tuple[str, str]]:
    """(label, formatted value) of the headline figures (or of ``figures``)."""
    return _figure_rows(daily, figures)


def render(*, timezone: str, validation: list[str], run_id: str, config_hash: str, generated_at: datetime,
           data_docs: dict[str, str] | None = None, **frames: pl.DataFrame | None) -> Report:
    """The keyword form: one argument per table (see ``RENDER_ARGUMENTS``)."""
    unknown = set(frames) - set(RENDER_ARGUMENTS)
    if unknown:
        raise TypeError(f"render() got unexpected arguments: {', '.join(sorted(unknown))}")
    tables = {RENDER_ARGUMENTS[name]: frame for name, frame in frames.items() if frame is not None}
    context = Context(timezone, run_id, config_hash, generated_at, list(validation), dict(data_docs or {}))
    return render_day(tables, context)

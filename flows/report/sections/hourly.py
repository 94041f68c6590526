"""The hourly statement, in the business timezone."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import polars as pl

from openbooks.flows.report.day import HOURLY, Day
from openbooks.flows.report.format import Part, html_table, markdown_table

TABLES = (HOURLY,)
HEADER = ["hour", "avg nodes", "GPU cost", "input tokens", "output tokens", "theoretical income"]


def rows(hourly: pl.DataFrame, timezone: str) -> list[list[str]]:
    zone = ZoneInfo(timezone)
    return [
        [
            row["hour_start"].astimezone(zone).strftime("%m-%d %H:%M"),
            f"{row['avg_nodes']:,.2f}",
            f"${row['gpu_cost_usd']:,.0f}",
            f"{row['input_tokens']:,}",
            f"{row['output_tokens']:,}",
            f"${row['theoretical_revenue_usd']:,.0f}",
        ]
        for row in hourly.iter_rows(named=True)
    ]


def render(day: Day) -> Part:
    table = rows(day.table(HOURLY), day.context.timezone)
    return Part("## Hourly\n\n" + markdown_table(HEADER, table), html_table("Hourly", HEADER, table))

"""The top customers by billed revenue and by loss (from request-level logs)."""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.day import CUSTOMERS, Day
from openbooks.flows.report.format import Part, html_table, markdown_table, money

TABLES = (CUSTOMERS,)
HEADER = ["customer", "requests", "input tokens", "output tokens", "billed revenue", "allocated cost", "margin"]
TOP = 10


def _rows(frame: pl.DataFrame) -> list[list[str]]:
    return [
        [str(r["customer_id"]), f"{r['requests']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}",
         money(r["billed_revenue_usd"]), money(r["allocated_cost_usd"]), money(r["margin_usd"])]
        for r in frame.iter_rows(named=True)
    ]


def tables(customers: pl.DataFrame) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) of the top customers by billed revenue and by loss."""
    by_revenue = customers.sort("billed_revenue_usd", "customer_id", descending=[True, False], nulls_last=True)
    by_loss = customers.filter(pl.col("margin_usd") < 0).sort("margin_usd", "customer_id", nulls_last=True)
    return [
        (f"Top {TOP} customers by billed revenue", _rows(by_revenue.head(TOP))),
        (f"Top {TOP} customers by loss", _rows(by_loss.head(TOP))),
    ]


def render(day: Day) -> Part | None:
    customers = day.table(CUSTOMERS)
    if not customers.height:
        return None
    titled = tables(customers)
    return Part(
        "\n\n".join(f"## {title}\n\n" + markdown_table(HEADER, rows) for title, rows in titled),
        "".join(html_table(title, HEADER, rows) for title, rows in titled),
    )

"""The top customers by billed revenue and by loss (from request-level logs)."""

from __future__ import annotations

import polars as pl

from openbooks.flows.report.day import CUSTOMERS, Day
from openbooks.flows.report.format import Link, Part, html_table, markdown_table, money

TABLES = (CUSTOMERS,)
HEADER = ["customer", "requests", "input tokens", "output tokens", "billed revenue", "allocated cost", "margin"]
TOP = 10


def _customer(name, linked: bool) -> str:
    """The customer's cell: on the day's page, a link to the customer's page (``named_pages``)."""
    from urllib.parse import quote

    return Link(str(name), f"customers/{quote(quote(str(name), safe=''))}.html") if linked else str(name)


def _rows(frame: pl.DataFrame, linked: bool = False) -> list[list[str]]:
    return [
        [_customer(r["customer_id"], linked), f"{r['requests']:,}", f"{r['input_tokens']:,}", f"{r['output_tokens']:,}",
         money(r["billed_revenue_usd"]), money(r["allocated_cost_usd"]), money(r["margin_usd"])]
        for r in frame.iter_rows(named=True)
    ]


def tables(customers: pl.DataFrame, linked: bool = False) -> list[tuple[str, list[list[str]]]]:
    """(title, rows) of the top customers by billed revenue and by loss (``linked``: to their pages)."""
    by_revenue = customers.sort("billed_revenue_usd", "customer_id", descending=[True, False], nulls_last=True)
    by_loss = customers.filter(pl.col("margin_usd") < 0).sort("margin_usd", "customer_id", nulls_last=True)
    return [
        (f"Top {TOP} customers by billed revenue", _rows(by_revenue.head(TOP), linked)),
        (f"Top {TOP} customers by loss", _rows(by_loss.head(TOP), linked)),
    ]


def render(day: Day) -> Part | None:
    customers = day.table(CUSTOMERS)
    if not customers.height:
        return None
    titled = tables(customers, linked=True)
    return Part(
        "\n\n".join(f"## {title}\n\n" + markdown_table(HEADER, rows) for title, rows in titled),
        "".join(html_table(title, HEADER, rows) for title, rows in titled),
    )

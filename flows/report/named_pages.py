"""The site's page of each model (``models/<name>.html``) and of each customer
(``customers/<id>.html``): its days, each linking to the day's page, its
months' statements, and a chart of its cost and revenue per day.

A customer has a page when a day's page links to it: when it is among a
day's top customers by billed revenue or by loss (``sections.customers``),
so that a site over millions of customers writes the pages its days name.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import polars as pl

from openbooks.flows.report.charts import figures
from openbooks.flows.report.files import write_text_atomically
from openbooks.flows.report.format import Link, format_value, html_table, money, pct
from openbooks.flows.report.page import end, head
from openbooks.flows.report.period_charts import line_chart

MODELS, CUSTOMERS = "models", "customers"
MODEL_HEADER = ["day", "requests", "GPU cost", "theoretical revenue", "billed revenue", "margin",
                "gross margin, billed"]
CUSTOMER_HEADER = ["day", "requests", "input tokens", "output tokens", "billed revenue", "allocated cost", "margin"]
MODEL_SERIES = ({"gpu_cost_usd": "GPU cost", "theoretical_revenue_usd": "theoretical revenue",
                 "billed_revenue_usd": "billed revenue"}, "USD per day", "USD", "${:,.0f}", "$,.0f")
CUSTOMER_SERIES = ({"allocated_cost_usd": "allocated GPU cost", "billed_revenue_usd": "billed revenue",
                    "margin_usd": "margin"}, "USD per day", "USD", "${:,.0f}", "$,.0f")


def file_name(name: str) -> str:
    """A model's or customer's page: its name, every character but letters, digits and ``-._~`` %-encoded."""
    return quote(str(name), safe="") + ".html"


def href(kind: str, name: str, prefix: str = "") -> str:
    return f"{prefix}{kind}/{quote(file_name(name))}"


def link(kind: str, name: str, prefix: str = "") -> Link:
    """A table cell naming a model or customer, linking to its page."""
    return Link(str(name), href(kind, name, prefix))


def model_rows(days: pl.DataFrame) -> list[list[str]]:
    return [[Link(str(r["day"]), f"../{r['day']}.html"), f"{r['requests'] or 0:,}", money(r["gpu_cost_usd"]),
             money(r["theoretical_revenue_usd"]), money(r["billed_revenue_usd"]), money(r["margin_usd"]),
             pct(r["billed_gross_margin"])] for r in days.sort("day", descending=True).iter_rows(named=True)]


def customer_rows(days: pl.DataFrame) -> list[list[str]]:
    return [[Link(str(r["day"]), f"../{r['day']}.html"), f"{r['requests']:,}", f"{r['input_tokens']:,}",
             f"{r['output_tokens']:,}", money(r["billed_revenue_usd"]), money(r["allocated_cost_usd"]),
             money(r["margin_usd"])] for r in days.sort("day", descending=True).iter_rows(named=True)]


def month_links(days: pl.DataFrame, directory: Path) -> str:
    """The statements of the months of ``days`` the site has."""
    months = sorted({f"{d:%Y-%m}" for d in days["day"]}, reverse=True)
    return "".join(f'<a href="../periods/{m}.html">{m}</a>' for m in months
                   if (directory / "periods" / f"{m}.html").exists())


def named_page(kind: str, name: str, days: pl.DataFrame, chart: str, rows: Callable, header: list[str],
               directory: Path) -> str:
    what = "model" if kind == MODELS else "customer"
    total = days["billed_revenue_usd"].sum()
    lines = [
        f'<nav class="site"><a href="../index.html">all days</a>{month_links(days, directory)}</nav>',
        f"<h1>openbooks: {what} {html.escape(str(name))}</h1>",
        f"<p>{days.height} published day(s), {days['day'].min()} to {days['day'].max()}; "
        f"billed revenue {html.escape(format_value(total, '${:,.0f}'))}.</p>",
        chart,
        html_table("Days", header, rows(days)),
    ]
    return head(html.escape(f"{what} {name}")) + "\n".join(lines) + "\n" + end("../")


def write_named_pages(directory: Path, models: pl.DataFrame, customers: pl.DataFrame) -> list[Path]:
    """The page of each model and of each customer a day's page names; their paths."""
    kinds = [(MODELS, models, "model", MODEL_SERIES, model_rows, MODEL_HEADER),
             (CUSTOMERS, customers, "customer_id", CUSTOMER_SERIES, customer_rows, CUSTOMER_HEADER)]
    written = []
    for kind, frame, column, series, rows, header in kinds:
        if not frame.height:
            continue
        groups = [(name, days.sort("day")) for (name,), days in frame.group_by(column, maintain_order=True)]
        drawn = figures([(line_chart, (days, series[0], f"{name}: {series[1]}", *series[2:])) for name, days in groups],
                        static=False)
        (directory / kind).mkdir(parents=True, exist_ok=True)
        for (name, days), chart in zip(groups, drawn, strict=True):
            path = directory / kind / file_name(name)
            write_text_atomically(path, named_page(kind, name, days, chart, rows, header, directory))
            written.append(path)
    return written


def index_links(models: pl.DataFrame, customers: pl.DataFrame) -> str:
    """The index's way to every model's and customer's page."""
    parts = []
    for title, kind, frame, column in (("Models", MODELS, models, "model"),
                                       ("Customers", CUSTOMERS, customers, "customer_id")):
        if frame.height:
            names = frame[column].unique(maintain_order=True).to_list()
            parts.append(f'<h2>{title}</h2><nav class="site">'
                         + "".join(f'<a href="{html.escape(href(kind, n))}">{html.escape(str(n))}</a>' for n in names)
                         + "</nav>")
    return "".join(parts)

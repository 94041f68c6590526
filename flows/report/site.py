"""The report site: ``reports/index.html``, every published day with its
headline figures and a link to its page, the month statements of the latest
published day's month and of the month before, the trends of the last 90
days, and the page of each model and customer (``named_pages``). Every page
opens offline: its charts are drawn by the site's own Vega bundle
(``assets/vega.js``, ``assets``), and the index's and the statements' are
kept as SVG for a browser without script.

"Current month" is the month of the latest published day (a backfill of past
data has its own present). GX Data Docs pages are linked from each day's page
but not part of the site: they load their styles from a CDN.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import polars as pl

from openbooks.flows.report.assets import write_bundle
from openbooks.flows.report.charts import concurrently, figures
from openbooks.flows.report.files import report_paths, write_text_atomically
from openbooks.flows.report.format import csv_link, format_value, pct
from openbooks.flows.report.headline import headline_rows, strip_html, with_unit_cost
from openbooks.flows.report.named_pages import index_links, write_named_pages
from openbooks.flows.report.sections.customers import TOP
from openbooks.flows.report.page import end, head
from openbooks.flows.report.period import Period, month_period, period_statement
from openbooks.flows.report.period_charts import MARGIN_TREND, REVENUE_TREND, line_chart
from openbooks.flows.report.period_page import write_statement
from openbooks.flows.store import published
from openbooks.flows.store.warehouse import session
from openbooks.config import Config

TREND_DAYS = 90
DAYS_HEADER = ["day", "GPU cost", "theoretical revenue", "billed revenue", "gross margin", "gross margin, billed",
               "cache hit rate"]
DATA_DOCS_NOTE = ("GX Data Docs pages, linked from each day's page, load their styles from a CDN and are "
                  "not part of this offline site.")


def site_months(latest: date) -> list[Period]:
    """The latest published day's month and the month before it."""
    current = month_period(f"{latest:%Y-%m}")
    before = current.start - timedelta(days=1)
    return [current, month_period(f"{before:%Y-%m}")]


def day_rows(daily: pl.DataFrame, directory: Path) -> list[tuple[str, bool, list[str]]]:
    """(day, has a page, formatted figures) for each day, newest first."""
    usd = "${:,.0f}"
    rows = []
    for r in daily.sort("day", descending=True).iter_rows(named=True):
        day = r["day"].isoformat()
        figures = [format_value(r["gpu_cost_usd"], usd), format_value(r["theoretical_revenue_usd"], usd),
                   format_value(r["billed_revenue_usd"], usd), pct(r["gross_margin"]), pct(r["billed_gross_margin"]),
                   format_value(r["cache_hit_rate"], "{:.2%}")]
        rows.append((day, report_paths(directory, day)[1].exists(), figures))
    return rows


def days_table(rows: list[tuple[str, bool, list[str]]]) -> str:
    head = "".join(f"<th>{h}</th>" for h in DAYS_HEADER)
    body = "".join(
        "<tr><td>" + (f'<a href="{day}.html">{day}</a>' if linked else day) + "</td>"
        + "".join(f"<td>{html.escape(c)}</td>" for c in figures) + "</tr>"
        for day, linked, figures in rows
    )
    link = csv_link("Days", DAYS_HEADER, [[day, *figures] for day, _, figures in rows])
    return f"<h2>Days</h2>{link}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def index_page(daily: pl.DataFrame, directory: Path, statements: list[tuple[Period, str]], trends: list[str],
               named: str = "") -> str:
    links = "".join(f'<li><a href="{html.escape(path)}">{html.escape(p.label)}</a> ({p.start} to {p.end})</li>'
                    for p, path in statements)
    last = daily["day"].max()
    lines = [
        "<h1>openbooks</h1>",
        f'<h2>Last day: <a href="{last}.html">{last}</a></h2>',
        strip_html(headline_rows(with_unit_cost(daily), last)),
        f"<p>{daily.height} published day(s), {daily['day'].min()} to {last}.</p>",
        f"<h2>Month statements</h2><ul>{links}</ul>" if links else "",
        f"<h2>Last {TREND_DAYS} days</h2>" + "".join(trends),
        named,
        days_table(day_rows(daily, directory)),
        f'<p class="muted">{html.escape(DATA_DOCS_NOTE)}</p>',
    ]
    return head("reports") + "\n".join(line for line in lines if line) + "\n" + end()


def write_site(config: Config, *, read_only: bool = False) -> Path | None:
    """Rewrite ``index.html``, the two month statements it links and the
    pages of the models and customers (``named_pages``; None when nothing is
    published yet). Run after a publish, it reads in a writing session,
    which takes turns with a backfill's other days."""
    with session(config, read_only=read_only) as con:
        daily = published.all_daily(con)
        models, customers = published.named_rows(con, TOP)
    if not daily.height:
        return None
    directory = config.report_dir
    months = [month for month in site_months(daily["day"].max())
              if daily.filter(pl.col("day").is_between(month.start, month.end)).height]
    read = [period_statement(config, month, read_only=read_only) for month in months]
    recent = daily.filter(pl.col("day") > daily["day"].max() - timedelta(days=TREND_DAYS))
    *paths, trends = concurrently([
        *(partial(write_statement, directory / "periods", statement, "html") for statement in read),
        partial(figures, [(line_chart, (recent, *REVENUE_TREND)), (line_chart, (recent, *MARGIN_TREND))]),
    ])
    statements = [(month, path.relative_to(directory).as_posix()) for month, path in zip(months, paths, strict=True)]
    write_named_pages(directory, models, customers)
    index = directory / "index.html"
    write_bundle(directory)
    write_text_atomically(index, index_page(daily, directory, statements, trends, index_links(models, customers)))
    return index

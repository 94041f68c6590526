"""The UI's HTML: the page frame, the filter bar, the headline strip, tables with their CSV link, charts.

Every text from the data is escaped; a link keeps the page's filters.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from html import escape
from urllib.parse import quote

import polars as pl

from openbooks.flows.report.format import money, pct
from openbooks.flows.report.headline import strip_html
from openbooks.flows.ui.filters import ROLES, Filters

SHARES = ("margin", "rate", "share", "coverage")


def cell(name: str, value) -> str:
    """A value as shown: money with its sign before the dollar, shares as %, counts with separators."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, (int, float)) and (name == "usd" or name.endswith("_usd")):
        return money(value)
    if isinstance(value, float) and any(part in name for part in SHARES):
        return pct(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return escape(str(value))


def header(column: str) -> str:
    """A column's heading: its name in words, dollars marked ($); the CSV keeps the names."""
    words = column.removesuffix("_usd").replace("_", " ")
    return f"{words} ($)" if column.endswith("_usd") else words


def link_for(name: str, value, f: Filters, row: dict, index: int) -> str | None:
    """Where a cell leads: a day, a model, a customer, an hour."""
    q = f.query()
    if name == "day" and isinstance(value, date) and row.get("published", True):
        return f"/day/{value}{q}"
    if name == "model" and value and value != "unattributed":
        return f"/model/{quote(str(value), safe='')}{q}"
    if name == "customer_id" and value:
        return f"/customer/{quote(str(value), safe='')}{q}"
    if name == "hour_start" and row.get("_day") is not None:
        return f"/hour/{row['_day']}/{index}{q}"
    return None


def table(name: str, title: str, frame: pl.DataFrame, f: Filters, context: dict | None = None) -> str:
    """A titled, scrollable table with its CSV download beside the title."""
    csv = f"?{f.query()[1:]}&csv={name}" if f.query() else f"?csv={name}"
    head = "".join(f'<th scope="col">{escape(header(c))}</th>' for c in frame.columns)
    body = []
    for index, row in enumerate(frame.iter_rows(named=True)):
        row = {**(context or {}), **row}
        cells = []
        for column in frame.columns:
            shown, target = cell(column, row[column]), link_for(column, row[column], f, row, index)
            shown = f'<a href="{escape(target)}">{shown}</a>' if target else shown
            numeric = isinstance(row[column], (int, float)) and not isinstance(row[column], bool)
            cells.append(f'<td class="num">{shown}</td>' if numeric else f"<td>{shown}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    empty = '<p class="empty">No rows.</p>' if frame.is_empty() else ""
    return (f'<section id="{name}"><div class="table-head"><h2>{escape(title)}</h2>'
            f'<a class="csv" href="{escape(csv)}" download="{name}.csv">CSV</a></div>{empty}'
            f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            "</section>")


def chart(name: str, spec: dict) -> str:
    data = json.dumps(spec).replace("</", "<\\/")
    return (f'<figure class="chart"><div class="vega" data-spec="{name}"></div>'
            f'<script type="application/json" id="spec-{name}">{data}</script></figure>')


def headline_strip(frame: pl.DataFrame) -> str:
    return strip_html(frame)


def filter_bar(f: Filters, action: str, choices: dict[str, list[str]]) -> str:
    """A GET form: submitting it puts the filters in the URL."""
    def text(name: str, label: str) -> str:
        options = "".join(f'<option value="{escape(v)}">' for v in choices.get(name, []))
        return (f'<label>{label}<input name="{name}" list="list-{name}" value="{escape(getattr(f, name) or "")}">'
                f'<datalist id="list-{name}">{options}</datalist></label>')
    roles = "".join(f'<option value="{r}"{" selected" if f.role == r else ""}>{r}</option>' for r in ROLES)
    dates = "".join(f'<label>{n}<input type="date" name="{n}" value="{getattr(f, n) or ""}"></label>'
                    for n in ("start", "end"))
    return (f'<form class="filters" method="get" action="{escape(action)}">{dates}'
            f'{text("model", "model")}{text("channel", "channel")}{text("customer", "customer")}{text("gpu", "GPU type")}'
            f'<label>role<select name="role"><option value="">any</option>{roles}</select></label>'
            f'<button type="submit">Apply</button><a href="{escape(action)}">Clear</a></form>')


def page(title: str, body: str, crumbs: list[tuple[str, str]] = (), note: str = "") -> str:
    trail = " / ".join(f'<a href="{escape(href)}">{escape(text)}</a>' for text, href in crumbs)
    notice = f'<p class="note">{escape(note)}</p>' if note else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>{escape(title)} · openbooks</title>
<link rel="stylesheet" href="/assets/ui.css"><script src="/assets/vega.js" defer></script>
<script src="/assets/ui.js" defer></script></head>
<body><header><a class="home" href="/">openbooks</a><nav>{trail}</nav></header>
<main><h1>{escape(title)}</h1>{notice}{body}</main></body></html>"""

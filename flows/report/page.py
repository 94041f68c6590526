"""The day's page: its sections assembled as Markdown and as one
self-contained HTML file (styles inline, charts as inline SVG)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from openbooks.flows.report.day import Context, Day
from openbooks.flows.report.format import Part, markdown_code
from openbooks.flows.report.sections import SECTIONS


@dataclass(frozen=True)
class Report:
    day: str
    markdown: str
    html: str


def render_day(tables: Mapping[str, pl.DataFrame], context: Context) -> Report:
    """The report of one day from its tables (published table name -> frame)."""
    day = Day(tables, context)
    parts = [part for section in SECTIONS if (part := section.render(day)) is not None]
    return Report(day.date, markdown(day, parts), page(day, parts))


def window(day: Day) -> str:
    row, zone = day.daily, day.zone
    return (
        f"{row['day_start'].astimezone(zone):%Y-%m-%d %H:%M} to "
        f"{row['day_end'].astimezone(zone):%Y-%m-%d %H:%M} {day.context.timezone} ({row['hours']:g} h)"
    )


def provenance(context: Context) -> str:
    return (f"run {context.run_id}, config {context.config_hash}, "
            f"generated {context.generated_at:%Y-%m-%d %H:%M:%S} UTC")


def markdown(day: Day, parts: list[Part]) -> str:
    return "\n\n".join(
        [
            f"# openbooks: {day.date}",
            f"Business day {window(day)}. Theoretical revenue prices every token at the list price of "
            f"{markdown_code(day.daily['reference_model'])}.",
            *[part.markdown for part in parts if part.markdown],
            f"Charts: [{day.date}.html]({day.date}.html)\n\n_{provenance(day.context)}_\n",
        ]
    )


def page(day: Day, parts: list[Part]) -> str:
    lines = [
        f"<h1>openbooks: {day.date}</h1>",
        f"<p>Business day {html.escape(window(day))}. Theoretical revenue prices every token at the list price "
        f"of <code>{html.escape(day.daily['reference_model'])}</code>.</p>",
        *[part.html for part in parts if part.html],
        f'<p class="muted">{html.escape(provenance(day.context))}</p>',
    ]
    return HEAD.format(day=day.date) + "\n".join(lines) + "\n</body></html>\n"


HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>openbooks {day}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border-bottom: 1px solid #ddd; padding: .25rem .75rem; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; white-space: nowrap; }}
.muted {{ color: #777; font-size: .85rem; }}
svg {{ max-width: 100%; height: auto; }}
@media (max-width: 40rem) {{ body {{ margin: 1rem .5rem; }} td, th {{ padding: .2rem .4rem; }} }}
</style></head>
<body>
"""

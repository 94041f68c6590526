"""The day's page: its sections assembled as Markdown and as one HTML file
(styles inline; its charts drawn by the site's own Vega bundle, ``assets``)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date, timedelta
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


def site_links(day: str) -> str:
    """The day's way to the rest of the site: the index, the days either side (by date) and its month."""
    today = date.fromisoformat(day)
    before, after = today - timedelta(days=1), today + timedelta(days=1)
    return (f'<nav class="site"><a href="index.html">all days</a><a href="{before}.html" rel="prev">← {before}</a>'
            f'<a href="{after}.html" rel="next">{after} →</a>'
            f'<a href="periods/{today:%Y-%m}.html">{today:%B %Y}</a></nav>')


def page(day: Day, parts: list[Part]) -> str:
    lines = [
        site_links(day.date),
        f"<h1>openbooks: {day.date}</h1>",
        f"<p>Business day {html.escape(window(day))}. Theoretical revenue prices every token at the list price "
        f"of <code>{html.escape(day.daily['reference_model'])}</code>.</p>",
        *[part.html for part in parts if part.html],
        f'<p class="muted">{html.escape(provenance(day.context))}</p>',
    ]
    return head(day.date) + "\n".join(lines) + "\n" + end()


HEAD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>openbooks {day}</title>
<style>
{palette}
:root {{ color-scheme: light dark; --fg: #222; --bg: #fff; --line: #ddd; --muted: #6b6b6b; --card: #f7f7f5; }}
@media (prefers-color-scheme: dark) {{
  :root {{ --fg: #e6e6e6; --bg: #16181b; --line: #3a3d41; --muted: #a0a4a8; --card: #1f2226; }}
  a {{ color: #8ab4f8; }} .static svg {{ background: #fff; border-radius: 4px; }}
}}
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 .5rem;
  color: var(--fg); background: var(--bg); overflow-wrap: anywhere; }}
table {{ border-collapse: collapse; margin: 1rem 0; display: block; overflow-x: auto; max-width: 100%; }}
td, th {{ border-bottom: 1px solid var(--line); padding: .25rem .75rem; text-align: right; white-space: nowrap; }}
th {{ white-space: normal; vertical-align: bottom; }}
td:first-child, th:first-child {{ text-align: left; }}
.muted {{ color: var(--muted); font-size: .85rem; }}
p.csv {{ margin: -.4rem 0 0; font-size: .8rem; }}
svg {{ max-width: 100%; height: auto; }}
figure.chart {{ margin: 1rem 0; }} figure.chart .vega {{ width: 100%; }}
.static {{ overflow-x: auto; }} .static svg {{ max-width: none; }}
details.figures {{ font-size: .85rem; }}
nav.site {{ display: flex; flex-wrap: wrap; gap: .3rem 1rem; font-size: .9rem; }}
.headline {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(10rem, 1fr)); gap: .5rem; }}
.figure {{ background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .4rem .6rem; }}
.figure .label, .figure .change {{ font-size: .8rem; color: var(--muted); }}
.figure .value {{ font-size: 1.25rem; font-weight: 650; }}
.change.up {{ color: var(--c-up); }} .change.down {{ color: var(--c-down); }}
@media (max-width: 40rem) {{ body {{ margin: 1rem auto; }} td, th {{ padding: .2rem .4rem; }} }}
</style></head>
<body>
"""


def end(prefix: str = "") -> str:
    """The end of a page: the site's script that draws its charts (``prefix``: the way up to the site's folder)."""
    from openbooks.flows.report.assets import scripts

    return scripts(prefix) + "\n</body></html>\n"


def head(title: str) -> str:
    """The page's head: its title and the site's styles, the palette's colours as CSS properties."""
    from openbooks.flows.report.palette import DOWN, UP

    return HEAD.format(day=title, palette=f":root {{ --c-up: {UP}; --c-down: {DOWN}; }}")

"""The headline strip at the top of the day's page (when a ``headline``
table is given: ``headline.headline_rows``, each key figure against its
trailing median). In the HTML only: the Markdown has the figures."""

from __future__ import annotations

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Part

HEADLINE = "headline"
TABLES = (HEADLINE,)


def render(day: Day) -> Part | None:
    from openbooks.flows.report.headline import strip_html

    rows = day.table(HEADLINE)
    return Part(html=strip_html(rows)) if rows.height else None

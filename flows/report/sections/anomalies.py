"""The day's anomalies, at the top of its report (when an ``anomalies``
table is given: key figures that moved past their threshold against the
trailing median)."""

from __future__ import annotations

import html

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Part, markdown_text

ANOMALIES = "anomalies"
TABLES = (ANOMALIES,)


def render(day: Day) -> Part | None:
    from openbooks.flows.report.anomaly_lines import descriptions

    found = day.table(ANOMALIES)
    if not found.height:
        return None
    lines = descriptions(found)
    return Part("## Anomalies\n\n" + "\n".join(f"- {markdown_text(line)}" for line in lines),
                "<h2>Anomalies</h2><ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>")

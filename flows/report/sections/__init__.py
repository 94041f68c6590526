"""The sections of the day's report, in page order: the one place a section is listed.

A section is a module with ``TABLES`` (the published tables it reads) and
``render(day) -> Part | None`` (None: nothing to show that day). Adding a
section is one module and one entry here.
"""

from __future__ import annotations

from openbooks.flows.report.sections import (
    anomalies, charts, claims, cost, customers, figures, headline, hourly, in_depth, models, scenarios, skipped,
    validation, waterfall, whatif,
)

SECTIONS = (
    anomalies,  # at the top, when the day has any
    headline,  # the key figures against their trailing median, when given
    figures,
    charts,
    in_depth,  # the economics in depth: in_depth to claims
    waterfall,
    models,  # each linking to its page on the site
    cost,
    scenarios,
    whatif,  # the config's what-if scenarios, when it declares any
    claims,
    validation,
    skipped,  # rows the sources left out on purpose, when any
    hourly,
    customers,
)

TABLES = tuple(dict.fromkeys(table for section in SECTIONS for table in section.TABLES))

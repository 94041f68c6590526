"""The sections of the day's report, in page order: the one place a section is listed.

A section is a module with ``TABLES`` (the published tables it reads) and
``render(day) -> Part | None`` (None: nothing to show that day). Adding a
section is one module and one entry here. Each row below is one block of the
HTML page; the sections of a block follow one another on it.
"""

from __future__ import annotations

from flows.report.sections import (
    charts, claims, cost, customers, figures, hourly, in_depth, scenarios, validation, waterfall,
)

SECTIONS = (
    (figures,),
    (charts,),
    (in_depth, waterfall, cost, scenarios, claims),  # the economics in depth
    (validation,),
    (hourly,),
    (customers,),
)

TABLES = tuple(dict.fromkeys(table for block in SECTIONS for section in block for table in section.TABLES))

"""The rows sources left out on purpose (a step line, a pending job, a row
outside the day), per source and reason, as the run counted them in
``run_log.skipped_rows``; shown only when some rows were left out."""

from __future__ import annotations

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Part, table_part

TABLES = ()


def rows_left_out(skipped: dict[str, dict[str, int]]) -> list[list[str]]:
    """[source, reason, rows] for each count above zero, sorted by source then reason."""
    return [[source, reason, f"{count:,}"]
            for source in sorted(skipped) for reason, count in sorted(skipped[source].items()) if count]


def render(day: Day) -> Part | None:
    rows = rows_left_out(day.context.skipped)
    if not rows:
        return None
    return table_part("Inputs left out", ["source", "reason", "rows"], rows)

"""The node log must cover the whole business day: each stretch no row
covers is one line naming the node-log file(s) and the stretch, and one
``quarantine`` row (``line`` empty: a gap is a row that is missing)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import polars as pl

from openbooks.flows.sources.files import display_path
from openbooks.flows.store.warehouse import QuarantineRow, quarantine, session
from openbooks.config import Config
from openbooks.transforms import checks

EXPECTED = "expected the node log to cover the whole business day"


def gap_problems(config: Config, node_log: pl.DataFrame, steps: pl.DataFrame, *, day: date, day_start: datetime,
                 day_end: datetime, run_id: str) -> list[str]:
    """One message per gap in the node log's coverage of the day; each gap is also quarantined."""
    gaps = checks.coverage_gaps(steps, day_start, day_end)
    if gaps.is_empty():
        return []
    zone = ZoneInfo(config.business_day.timezone)
    files = sorted(set(node_log["source_file"].to_list())) if "source_file" in node_log.columns else []
    where = ", ".join(display_path(f) for f in files) or "node log"
    problems, rows = [], []
    for start, end in gaps.iter_rows():
        span = f"{start.astimezone(zone).isoformat()} to {end.astimezone(zone).isoformat()}"
        problems.append(f"{where}: no row covers {span} (column interval_start: {EXPECTED})")
        rows.append(QuarantineRow(run_id, day, "node_log", f"no row covers {span}: {EXPECTED}",
                                  files[0] if len(files) == 1 else where, column_name="interval_start", value=span))
    with session(config) as con:
        quarantine(con, rows)
    return problems

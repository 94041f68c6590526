"""A day's report rebuilt from its published tables, without recomputing."""

from __future__ import annotations

import glob
from datetime import UTC, date, datetime
from pathlib import Path

from flows import report
from flows.warehouse import frame, session
from openbooks.config import Config
from openbooks.errors import OpenbooksError

REPORT_TABLES = {  # report.render argument → published table
    "waterfall": "revenue_waterfall",
    "scenarios": "revenue_scenarios",
    "cost_breakdown": "cost_breakdown",
    "claims": "claims_audit",
}


def rebuild_report(config: Config, day: date) -> tuple[Path, Path]:
    """Render and write ``day``'s report from the published tables (no recomputing)."""
    with session(config, read_only=True) as con:
        daily = frame(con, "SELECT * FROM daily_economics WHERE day = ?", [day])
        if daily.is_empty():
            raise OpenbooksError(f"{day} is not published in {config.warehouse_path}: run it first (openbooks run --date {day})")
        hourly = frame(con, "SELECT * FROM hourly_economics WHERE day = ? ORDER BY hour_start", [day])
        steps = frame(con, "SELECT * FROM node_steps WHERE day = ? ORDER BY segment_start", [day])
        # The economics in depth, rows in the order the run published them.
        in_depth = {
            argument: frame(con, f"SELECT * FROM {table} WHERE day = ? ORDER BY rowid", [day])
            for argument, table in REPORT_TABLES.items()
        }
        run_id = daily["run_id"][0]
        summary = con.execute("SELECT validation_summary FROM run_log WHERE run_id = ?", [run_id]).fetchone()
    rendered = report.render(
        daily=daily, hourly=hourly, steps=steps, timezone=config.business_day.timezone,
        validation=(summary[0] or "").split("; ") if summary and summary[0] else [],
        run_id=run_id, config_hash=daily["config_hash"][0] or "", generated_at=datetime.now(UTC),
        data_docs=data_docs_pages(config, run_id), **in_depth,
    )
    return report.write_report(config.report_dir, rendered)


def data_docs_pages(config: Config, run_id: str) -> dict[str, str]:
    """The run's GX Data Docs pages (suite → path relative to the report directory)."""
    docs = config.report_dir / "data_docs" / "validations"
    pages = [Path(p) for p in glob.glob(str(docs / "*" / glob.escape(run_id) / "*" / "*.html"))]
    pages.sort(key=lambda p: p.parent.name)  # the validation time: in the order the run validated
    return {p.relative_to(docs).parts[0]: p.relative_to(config.report_dir).as_posix() for p in pages}

"""``run_log``: one row per run of a day, written at its start and its end."""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from datetime import UTC, date, datetime

import duckdb
import polars as pl

from openbooks.flows.store.warehouse import registered
from openbooks.config import Config
from openbooks.redact import redact, redact_data


@dataclass
class RunRecord:
    run_id: str
    day: date
    config_path: str
    config_hash: str
    node_rows: int | None = None
    token_rows: int | None = None
    quarantined_rows: int = 0
    validation_success: bool | None = None
    validation_summary: list[str] = field(default_factory=list)
    data_docs: dict[str, str] = field(default_factory=dict)  # suite → Data Docs page, relative to the reports
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)  # source → reason → rows left out on purpose
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    notes: list[str] = field(default_factory=list)  # said on the console after the figures (skipped rows, the gate)


def start_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    start_runs(con, [record])


def start_runs(con: duckdb.DuckDBPyConnection, records: list[RunRecord]) -> None:
    """A ``running`` row in ``run_log`` for each run, in one statement."""
    started = pl.DataFrame(
        {"run_id": [r.run_id for r in records], "day": [r.day for r in records],
         "config_path": [r.config_path for r in records], "config_hash": [r.config_hash for r in records]},
        schema={"run_id": pl.String, "day": pl.Date, "config_path": pl.String, "config_hash": pl.String},
    )
    with registered(con, "__started", started):
        con.execute("INSERT INTO run_log (run_id, day, started_at, status, config_path, config_hash) "
                    "SELECT run_id, day, now(), 'running', config_path, config_hash FROM __started")


def finish_run(con: duckdb.DuckDBPyConnection, record: RunRecord, status: str, error: str | None = None) -> None:
    finish_runs(con, [(record, status)], error)


def finish_runs(con: duckdb.DuckDBPyConnection, ended: list[tuple[RunRecord, str]], error: str | None = None) -> None:
    """Each run's ``run_log`` row closed with its status, counts, validation and skipped rows, in one statement."""
    ended_rows = pl.DataFrame(
        [(record.run_id, status, record.node_rows, record.token_rows, record.quarantined_rows,
          record.validation_success, "; ".join(record.validation_summary) or None, redact(error),
          json.dumps(record.skipped, sort_keys=True) if record.skipped else None)
         for record, status in ended],
        schema={"run_id": pl.String, "status": pl.String, "node_rows": pl.Int64, "token_rows": pl.Int64,
                "quarantined_rows": pl.Int64, "validation_success": pl.Boolean, "validation_summary": pl.String,
                "error": pl.String, "skipped_rows": pl.String},
        orient="row",
    )
    with registered(con, "__ended", ended_rows):
        con.execute(
            "UPDATE run_log SET finished_at = now(), status = e.status, node_rows = e.node_rows, "
            "token_rows = e.token_rows, quarantined_rows = e.quarantined_rows, "
            "validation_success = e.validation_success, validation_summary = e.validation_summary, "
            "error = e.error, skipped_rows = e.skipped_rows FROM __ended e WHERE run_log.run_id = e.run_id"
        )


def record_config(con: duckdb.DuckDBPyConnection, config: Config) -> None:
    """Keep the effective config of ``config.hash`` in ``configs`` (once per
    hash), so the config any run or published day was computed with can be
    read back; its credentials (URL user-info, tokens, passwords) as ``***``."""
    con.execute(
        "INSERT INTO configs (config_hash, config_json, first_path, first_seen_at) "
        "SELECT $hash, $json, $path, now() WHERE NOT EXISTS (SELECT 1 FROM configs WHERE config_hash = $hash)",
        {"hash": config.hash, "json": json.dumps(redact_data(json.loads(config.canonical_json())), sort_keys=True),
         "path": str(config.file)},
    )

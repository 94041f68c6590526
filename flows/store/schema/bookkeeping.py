"""What the pipeline keeps about itself: runs, quarantined rows, ingested files and configs."""

from __future__ import annotations

from openbooks.flows.store.schema.table import Table, column

RUN_LOG = Table(
    "run_log",
    "One row per run of a day: when, outcome, config, row counts, validation.",
    (
        column("run_id", "VARCHAR", "run id (also Prefect's flow run id when run in a flow)", True),
        column("day", "DATE", "business day", True),
        column("started_at", "TIMESTAMPTZ", "when the run started", True),
        column("finished_at", "TIMESTAMPTZ", "when it ended"),
        column("status", "VARCHAR", "running, published, unchanged (same figures as published: rows kept) or failed", True),
        column("config_path", "VARCHAR", "config file"),
        column("config_hash", "VARCHAR", "hash of the effective config"),
        column("node_rows", "BIGINT", "node-log rows staged for the day"),
        column("token_rows", "BIGINT", "token-count rows staged for the day"),
        column("quarantined_rows", "BIGINT", "rows set aside in quarantine"),
        column("validation_success", "BOOLEAN", "did every expectation hold"),
        column("validation_summary", "VARCHAR", "expectations evaluated / failed, per suite"),
        column("error", "VARCHAR", "why the run failed"),
        column("skipped_rows", "VARCHAR", "rows sources left out on purpose, JSON {source: {reason: count}}"),
    ),
    partition=None,
)

QUARANTINE = Table(
    "quarantine",
    "Input rows set aside, with the reason; raw files are never changed.",
    (
        column("run_id", "VARCHAR", "run that found the problem", True),
        column("day", "DATE", "business day being run (null when found at ingest)"),
        column("source", "VARCHAR", "node_log, token_counts or requests", True),
        column("source_file", "VARCHAR", "file the row came from", True),
        column("content_hash", "VARCHAR", "XXH3-128 of that file's content"),
        column("line", "BIGINT", "line in a CSV file (header = 1) or row in a Parquet file"),
        column("column_name", "VARCHAR", "column at fault"),
        column("value", "VARCHAR", "the offending value, as text"),
        column("reason", "VARCHAR", "what was expected", True),
        column("record", "VARCHAR", "the whole row as read"),
        column("quarantined_at", "TIMESTAMPTZ", "when", True),
    ),
    partition=None,
)

RAW_FILES = Table(
    "files",
    "Every source file ingested, by content hash.",
    (
        column("source", "VARCHAR", "node_log, token_counts or requests", True),
        column("path", "VARCHAR", "absolute path of the file", True),
        column("content_hash", "VARCHAR", "XXH3-128 of the content", True),
        column("size_bytes", "BIGINT", "file size"),
        column("rows", "BIGINT", "rows loaded into raw"),
        column("rejected_rows", "BIGINT", "rows the reader could not parse (see quarantine)"),
        column("error", "VARCHAR", "why the file as a whole could not be read"),
        column("ingested_at", "TIMESTAMPTZ", "when", True),
    ),
    partition=None,
    schema="raw",
)

CONFIGS = Table(
    "configs",
    "Every effective config a run used, by hash (run_log.config_hash, daily_economics.config_hash).",
    (
        column("config_hash", "VARCHAR", "short sha256 of config_json", True),
        column("config_json", "VARCHAR", "the effective config (file plus environment overrides), canonical JSON", True),
        column("first_path", "VARCHAR", "config file of the first run that used it"),
        column("first_seen_at", "TIMESTAMPTZ", "when a run first used it", True),
    ),
    partition=None,
)

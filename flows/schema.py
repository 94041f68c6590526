"""The warehouse tables: names, grain, columns, types and what each column means.

This is the interface users query, and the one place a table is defined: the
DDL, the staging copies and ``openbooks tables`` all come from here. New
columns are added to existing warehouses with ``ADD COLUMN IF NOT EXISTS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from transforms.capacity import ROLES


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    partition: str | None = "day"  # published per day: a run replaces its day's rows
    schema: str = "main"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def ddl(self, schema: str | None = None) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.type}{' NOT NULL' if c.not_null else ''}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {schema or self.schema}.{self.name} (\n  {cols}\n)"


def _c(name: str, type_: str, description: str, not_null: bool = False) -> Column:
    return Column(name, type_, description, not_null)


_DAY = _c("day", "DATE", "business day, named by the date it starts on", True)
_RUN = _c("run_id", "VARCHAR", "the run that published this row (see run_log)", True)
_TOKENS = (
    _c("input_tokens", "BIGINT", "input tokens (cache hits + misses)"),
    _c("cache_hit_tokens", "BIGINT", "input tokens served from the KV cache"),
    _c("cache_miss_tokens", "BIGINT", "input tokens computed afresh"),
    _c("output_tokens", "BIGINT", "output tokens"),
    _c("requests", "BIGINT", "requests"),
    _c("cache_hit_rate", "DOUBLE", "cache_hit_tokens / input_tokens"),
)
_ROLE_HOURS = tuple(_c(f"{role}_node_hours", "DOUBLE", f"node-hours in role {role}") for role in ROLES)
_MARGINS = (
    _c("theoretical_revenue_usd", "DOUBLE", "every token at the reference model's list price"),
    _c("cost_profit_margin", "DOUBLE", "theoretical revenue / GPU cost - 1 (5.45 = 545%)"),
    _c("gross_margin", "DOUBLE", "(theoretical revenue - GPU cost) / theoretical revenue"),
)

_IN_DEPTH = (
    _c("billed_revenue_usd", "DOUBLE", "billable channels, each model at its own price, time-of-day rules applied"),
    _c("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue"),
    _c("loaded_cost_usd", "DOUBLE", "fully loaded cost: the sum of cost_breakdown's lines"),
    _c("loaded_cost_profit_margin", "DOUBLE", "theoretical revenue / fully loaded cost - 1"),
    _c("loaded_gross_margin", "DOUBLE", "(theoretical revenue - fully loaded cost) / theoretical revenue"),
    _c("billed_loaded_gross_margin", "DOUBLE", "(billed revenue - fully loaded cost) / billed revenue"),
    _c("idle_capacity_node_hours", "DOUBLE", "peak nodes x hours - serving node-hours"),
    _c("idle_capacity_share", "DOUBLE", "idle capacity / (peak nodes x hours)"),
    _c("idle_capacity_usd", "DOUBLE", "idle capacity at rental (GPU cost per serving node-hour)"),
    _c("training_node_hours_credit_usd", "DOUBLE", "node-hours lent to training, at rental (internal transfer)"),
    _c("prefill_input_tokens_per_node_second", "DOUBLE", "input tokens / (prefill node-hours x 3,600)"),
    _c("decode_output_tokens_per_node_second", "DOUBLE", "output tokens / (decode node-hours x 3,600)"),
    _c("cost_per_million_input_usd", "DOUBLE", "GPU cost x prefill share of node-hours / input tokens x 10^6"),
    _c("cost_per_million_output_usd", "DOUBLE", "GPU cost x decode share of node-hours / output tokens x 10^6"),
    _c("break_even_output_price_usd", "DOUBLE", "output price per million that alone covers GPU cost"),
    _c("loaded_break_even_output_price_usd", "DOUBLE", "output price per million that alone covers loaded cost"),
    _c("cache_discount_usd", "DOUBLE", "revenue given up by the cache discount: hits x (miss - hit price), reference price"),
    _c("cache_saved_node_hours", "DOUBLE", "prefill node-hours cache hits saved (hits / declared prefill throughput)"),
    _c("cache_saved_gpu_hours", "DOUBLE", "cache_saved_node_hours x GPUs per node"),
    _c("cache_saved_usd", "DOUBLE", "cache_saved_gpu_hours at rental"),
)

DAILY_ECONOMICS = Table(
    "daily_economics",
    "One row per business day: GPU cost, tokens, theoretical revenue and margins.",
    (
        _DAY,
        _c("day_start", "TIMESTAMPTZ", "start of the business day", True),
        _c("day_end", "TIMESTAMPTZ", "end of the business day (exclusive)", True),
        _c("hours", "DOUBLE", "length of the day in hours (23 or 25 across DST)", True),
        _c("node_hours", "DOUBLE", "serving node-hours (prefill, decode, idle)", True),
        _c("gpu_hours", "DOUBLE", "serving GPU-hours", True),
        _c("peak_nodes", "DOUBLE", "most serving nodes at any moment", True),
        _c("avg_nodes", "DOUBLE", "node_hours / hours", True),
        _c("gpu_cost_usd", "DOUBLE", "serving GPU-hours at the rental price", True),
        *_TOKENS,
        _c("reference_model", "VARCHAR", "model whose list price prices theoretical revenue"),
        *_MARGINS,
        *_ROLE_HOURS,
        *_IN_DEPTH,
        _RUN,
        _c("config_hash", "VARCHAR", "hash of the config the day was computed with"),
    ),
)

HOURLY_ECONOMICS = Table(
    "hourly_economics",
    "One row per hour of each business day.",
    (
        _DAY,
        _c("hour_start", "TIMESTAMPTZ", "start of the hour", True),
        _c("hour_end", "TIMESTAMPTZ", "end of the hour (exclusive)", True),
        _c("hours", "DOUBLE", "length of the hour (1, or less at a partial end)", True),
        _c("avg_nodes", "DOUBLE", "average serving nodes over the hour", True),
        _c("node_hours", "DOUBLE", "serving node-hours", True),
        _c("gpu_hours", "DOUBLE", "serving GPU-hours", True),
        _c("gpu_cost_usd", "DOUBLE", "serving GPU-hours at the rental price", True),
        *_TOKENS,
        *_MARGINS,
        *_ROLE_HOURS,
        _c("node_log_coverage", "DOUBLE", "share of the hour the node log covers (1 = complete)"),
        _c("unpriced_token_rows", "BIGINT", "token rows with no reference price in force"),
        _c("billed_revenue_usd", "DOUBLE", "billable channels, own prices, time-of-day rules applied"),
        _RUN,
    ),
)

NODE_STEPS = Table(
    "node_steps",
    "The serving node-count step function of each day (the published node chart).",
    (
        _DAY,
        _c("segment_start", "TIMESTAMPTZ", "from", True),
        _c("segment_end", "TIMESTAMPTZ", "until (exclusive)", True),
        _c("nodes", "DOUBLE", "serving nodes over the segment", True),
        _c("rows", "BIGINT", "node-log rows covering the segment (0 = a gap)"),
        _RUN,
    ),
)

REVENUE_WATERFALL = Table(
    "revenue_waterfall",
    "Theoretical revenue to billed revenue, step by step, per day and model ('all' = every model). "
    "Levels are rounded to the cent, so the steps sum exactly to billed revenue.",
    (
        _DAY,
        _c("model", "VARCHAR", "a model, or 'all'", True),
        _c("step_order", "BIGINT", "1 to 5", True),
        _c("step", "VARCHAR", "theoretical revenue, model mix, free channels, time-of-day pricing, billed revenue",
           True),
        _c("kind", "VARCHAR", "total (a level) or change (a step between levels)", True),
        _c("amount_usd", "DOUBLE", "the level, or the change", True),
        _c("start_usd", "DOUBLE", "where the bar starts", True),
        _c("end_usd", "DOUBLE", "where the bar ends", True),
        _RUN,
    ),
)

REVENUE_SCENARIOS = Table(
    "revenue_scenarios",
    "The day's tokens at each price card, against GPU cost and fully loaded cost.",
    (
        _DAY,
        _c("card", "VARCHAR", "price card", True),
        _c("revenue_usd", "DOUBLE", "every token at the card's list price for its model"),
        _c("billed_revenue_usd", "DOUBLE", "billable channels only, the card's time-of-day rules applied"),
        _c("gpu_cost_usd", "DOUBLE", "the day's GPU cost"),
        _c("loaded_cost_usd", "DOUBLE", "the day's fully loaded cost"),
        _c("cost_profit_margin", "DOUBLE", "revenue / GPU cost - 1"),
        _c("gross_margin", "DOUBLE", "(revenue - GPU cost) / revenue"),
        _c("loaded_gross_margin", "DOUBLE", "(revenue - fully loaded cost) / revenue"),
        _c("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue"),
        _RUN,
    ),
)

COST_BREAKDOWN = Table(
    "cost_breakdown",
    "The fully loaded cost of each day, line by line (GPU rental or hardware amortization, power, declared lines).",
    (
        _DAY,
        _c("line_order", "BIGINT", "order of the line", True),
        _c("line", "VARCHAR", "cost line", True),
        _c("usd", "DOUBLE", "cost in USD (a training transfer is negative)", True),
        _c("share", "DOUBLE", "usd / fully loaded cost"),
        _RUN,
    ),
)

CLAIMS_AUDIT = Table(
    "claims_audit",
    "Each published claim (configs/claims.yaml) against the computed day.",
    (
        _DAY,
        _c("claim_order", "BIGINT", "order in the claims file", True),
        _c("claim", "VARCHAR", "the claim, in words", True),
        _c("figure", "VARCHAR", "the figure checked (a daily_economics column or scenario.<card>.<column>)", True),
        _c("stated", "DOUBLE", "the value claimed", True),
        _c("tolerance", "DOUBLE", "how far computed may be from stated and still confirm", True),
        _c("computed", "DOUBLE", "the value computed from the day's logs"),
        _c("difference", "DOUBLE", "computed - stated"),
        _c("verdict", "VARCHAR", "confirmed, rejected, no such figure, or not applicable (a claim about other days)", True),
        _c("source", "VARCHAR", "where the claim was made"),
        _c("first_day", "DATE", "the day the claim is about, or the first of its range (none: every day)"),
        _c("last_day", "DATE", "the last day of the claim's range"),
        _c("unit", "VARCHAR", "usd, percent (a fraction shown as %), gpu_hours or number"),
        _RUN,
    ),
)

RUN_LOG = Table(
    "run_log",
    "One row per run of a day: when, outcome, config, row counts, validation.",
    (
        _c("run_id", "VARCHAR", "run id (also Prefect's flow run id when run in a flow)", True),
        _c("day", "DATE", "business day", True),
        _c("started_at", "TIMESTAMPTZ", "when the run started", True),
        _c("finished_at", "TIMESTAMPTZ", "when it ended"),
        _c("status", "VARCHAR", "running, published, unchanged (same figures as published: rows kept) or failed", True),
        _c("config_path", "VARCHAR", "config file"),
        _c("config_hash", "VARCHAR", "hash of the effective config"),
        _c("node_rows", "BIGINT", "node-log rows staged for the day"),
        _c("token_rows", "BIGINT", "token-count rows staged for the day"),
        _c("quarantined_rows", "BIGINT", "rows set aside in quarantine"),
        _c("validation_success", "BOOLEAN", "did every expectation hold"),
        _c("validation_summary", "VARCHAR", "expectations evaluated / failed, per suite"),
        _c("error", "VARCHAR", "why the run failed"),
        _c("skipped_rows", "VARCHAR", "rows sources left out on purpose, JSON {source: {reason: count}}"),
    ),
    partition=None,
)

QUARANTINE = Table(
    "quarantine",
    "Input rows set aside, with the reason; raw files are never changed.",
    (
        _c("run_id", "VARCHAR", "run that found the problem", True),
        _c("day", "DATE", "business day being run (null when found at ingest)"),
        _c("source", "VARCHAR", "node_log, token_counts or requests", True),
        _c("source_file", "VARCHAR", "file the row came from", True),
        _c("content_hash", "VARCHAR", "XXH3-128 of that file's content"),
        _c("line", "BIGINT", "line in a CSV file (header = 1) or row in a Parquet file"),
        _c("column_name", "VARCHAR", "column at fault"),
        _c("value", "VARCHAR", "the offending value, as text"),
        _c("reason", "VARCHAR", "what was expected", True),
        _c("record", "VARCHAR", "the whole row as read"),
        _c("quarantined_at", "TIMESTAMPTZ", "when", True),
    ),
    partition=None,
)

RAW_FILES = Table(
    "files",
    "Every source file ingested, by content hash.",
    (
        _c("source", "VARCHAR", "node_log, token_counts or requests", True),
        _c("path", "VARCHAR", "absolute path of the file", True),
        _c("content_hash", "VARCHAR", "XXH3-128 of the content", True),
        _c("size_bytes", "BIGINT", "file size"),
        _c("rows", "BIGINT", "rows loaded into raw"),
        _c("rejected_rows", "BIGINT", "rows the reader could not parse (see quarantine)"),
        _c("error", "VARCHAR", "why the file as a whole could not be read"),
        _c("ingested_at", "TIMESTAMPTZ", "when", True),
    ),
    partition=None,
    schema="raw",
)

CONFIGS = Table(
    "configs",
    "Every effective config a run used, by hash (run_log.config_hash, daily_economics.config_hash).",
    (
        _c("config_hash", "VARCHAR", "short sha256 of config_json", True),
        _c("config_json", "VARCHAR", "the effective config (file plus environment overrides), canonical JSON", True),
        _c("first_path", "VARCHAR", "config file of the first run that used it"),
        _c("first_seen_at", "TIMESTAMPTZ", "when a run first used it", True),
    ),
    partition=None,
)

CUSTOMER_ECONOMICS = Table(
    "customer_economics",
    "One row per customer and business day, from request-level logs: tokens, billed revenue, allocated GPU cost.",
    (
        _DAY,
        _c("customer_id", "VARCHAR", "customer, as in the request log", True),
        *_TOKENS[:5],  # input, cache hit, cache miss, output tokens; requests
        _c("billed_revenue_usd", "DOUBLE", "tokens of billable channels at their model's billed price (time-of-day rules applied)"),
        _c("prefill_cost_usd", "DOUBLE", "prefill share of GPU cost (by node-hours) × the customer's share of input tokens"),
        _c("decode_cost_usd", "DOUBLE", "decode share of GPU cost (by node-hours) × the customer's share of output tokens"),
        _c("allocated_cost_usd", "DOUBLE", "prefill + decode cost; the day's customers add up to its GPU cost"),
        _c("margin_usd", "DOUBLE", "billed revenue - allocated cost"),
        _c("gross_margin", "DOUBLE", "margin / billed revenue"),
        _RUN,
    ),
)

MODEL_ECONOMICS = Table(
    "model_economics",
    "One row per model and business day: the GPU cost of its prefill and decode node-hours, its revenue, "
    "margins and cost per million tokens. Idle and training node-hours are on the 'unattributed' row; "
    "the rows' GPU cost adds up to the day's.",
    (
        _DAY,
        _c("model", "VARCHAR", "a model, or 'unattributed' (idle and training node-hours)", True),
        *_ROLE_HOURS,
        _c("gpu_hours", "DOUBLE", "serving GPU-hours of the row (prefill + decode; idle on 'unattributed')"),
        _c("prefill_cost_usd", "DOUBLE", "prefill node-hours at rental"),
        _c("decode_cost_usd", "DOUBLE", "decode node-hours at rental"),
        _c("gpu_cost_usd", "DOUBLE", "the row's serving GPU cost; the day's rows add up to its GPU cost"),
        *_TOKENS[:5],  # input, cache hit, cache miss, output tokens; requests
        _c("theoretical_revenue_usd", "DOUBLE", "the model's tokens at the reference model's list price"),
        _c("billed_revenue_usd", "DOUBLE", "billable channels, the model's own price, time-of-day rules applied"),
        _c("margin_usd", "DOUBLE", "billed revenue - GPU cost"),
        _c("cost_profit_margin", "DOUBLE", "theoretical revenue / GPU cost - 1 (null on 'unattributed')"),
        _c("gross_margin", "DOUBLE", "(theoretical revenue - GPU cost) / theoretical revenue"),
        _c("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue"),
        _c("cost_per_million_tokens_usd", "DOUBLE", "GPU cost / (input + output tokens) x 10^6"),
        _c("cost_per_million_input_usd", "DOUBLE", "prefill cost / input tokens x 10^6"),
        _c("cost_per_million_output_usd", "DOUBLE", "decode cost / output tokens x 10^6"),
        _RUN,
    ),
)

PUBLISHED = (DAILY_ECONOMICS, HOURLY_ECONOMICS, NODE_STEPS,
             REVENUE_WATERFALL, REVENUE_SCENARIOS, COST_BREAKDOWN, CLAIMS_AUDIT,
             CUSTOMER_ECONOMICS, MODEL_ECONOMICS)
ALL_TABLES = (*PUBLISHED, RUN_LOG, QUARANTINE, RAW_FILES, CONFIGS)

"""The statements: the day, its hours and node steps, and the day by model and by customer."""

from __future__ import annotations

from openbooks.flows.store.schema.table import DAY, MARGINS, ROLE_HOURS, RUN_ID, TOKENS, Table, column, figure_column
from openbooks.transforms.figures import NOT_SPLIT

IN_DEPTH = (
    column("billed_revenue_usd", "DOUBLE", "billable channels, each model at its own price, time-of-day rules applied"),
    figure_column("billed_gross_margin"),
    column("loaded_cost_usd", "DOUBLE", "fully loaded cost: the sum of cost_breakdown's lines"),
    figure_column("loaded_cost_profit_margin"),
    figure_column("loaded_gross_margin"),
    figure_column("billed_loaded_gross_margin"),
    column("idle_capacity_node_hours", "DOUBLE", "peak nodes x hours - serving node-hours"),
    figure_column("idle_capacity_share"),
    column("idle_capacity_usd", "DOUBLE", "idle capacity at rental (GPU cost per serving node-hour)"),
    column("training_node_hours_credit_usd", "DOUBLE", "node-hours lent to training, at rental (internal transfer)"),
    figure_column("prefill_input_tokens_per_node_second"),
    figure_column("decode_output_tokens_per_node_second"),
    figure_column("cost_per_million_input_usd"),
    figure_column("cost_per_million_output_usd"),
    figure_column("break_even_output_price_usd"),
    figure_column("loaded_break_even_output_price_usd"),
    column("cache_discount_usd", "DOUBLE", "revenue given up by the cache discount: hits x (miss - hit price), reference price"),
    column("cache_saved_node_hours", "DOUBLE", "prefill node-hours cache hits saved (hits / declared prefill throughput)" + NOT_SPLIT),
    column("cache_saved_gpu_hours", "DOUBLE", "cache_saved_node_hours x GPUs per node"),
    column("cache_saved_usd", "DOUBLE", "cache_saved_gpu_hours at rental"),
    column("invoiced_gpu_cost_usd", "DOUBLE", "GPU instance charges billed for the day (a FOCUS invoice's BilledCost, "
       "every role); null without an invoice (see gpu_cost_check)"),
    figure_column("invoiced_cost_profit_margin"),
    figure_column("invoiced_gross_margin"),
    figure_column("billed_invoiced_gross_margin"),
)

DAILY_ECONOMICS = Table(
    "daily_economics",
    "One row per business day: GPU cost, tokens, theoretical revenue and margins.",
    (
        DAY,
        column("day_start", "TIMESTAMPTZ", "start of the business day", True),
        column("day_end", "TIMESTAMPTZ", "end of the business day (exclusive)", True),
        column("hours", "DOUBLE", "length of the day in hours (23 or 25 across DST)", True),
        column("node_hours", "DOUBLE", "serving node-hours (prefill, decode, idle, serving)", True),
        column("gpu_hours", "DOUBLE", "serving GPU-hours", True),
        column("peak_nodes", "DOUBLE", "most serving nodes at any moment", True),
        figure_column("avg_nodes", True),
        column("gpu_cost_usd", "DOUBLE", "serving GPU-hours at the rental price", True),
        *TOKENS,
        column("reference_model", "VARCHAR", "model whose list price prices theoretical revenue"),
        *MARGINS,
        *ROLE_HOURS,
        *IN_DEPTH,
        RUN_ID,
        column("config_hash", "VARCHAR", "hash of the config the day was computed with"),
    ),
)

HOURLY_ECONOMICS = Table(
    "hourly_economics",
    "One row per hour of each business day.",
    (
        DAY,
        column("hour_start", "TIMESTAMPTZ", "start of the hour", True),
        column("hour_end", "TIMESTAMPTZ", "end of the hour (exclusive)", True),
        column("hours", "DOUBLE", "length of the hour (1, or less at a partial end)", True),
        column("avg_nodes", "DOUBLE", "average serving nodes over the hour", True),
        column("node_hours", "DOUBLE", "serving node-hours", True),
        column("gpu_hours", "DOUBLE", "serving GPU-hours", True),
        column("gpu_cost_usd", "DOUBLE", "serving GPU-hours at the rental price", True),
        *TOKENS,
        *MARGINS,
        *ROLE_HOURS,
        column("node_log_coverage", "DOUBLE", "share of the hour the node log covers (1 = complete)"),
        column("unpriced_token_rows", "BIGINT", "token rows with no reference price in force"),
        column("billed_revenue_usd", "DOUBLE", "billable channels, own prices, time-of-day rules applied"),
        RUN_ID,
    ),
)

NODE_STEPS = Table(
    "node_steps",
    "The serving node-count step function of each day (the published node chart).",
    (
        DAY,
        column("segment_start", "TIMESTAMPTZ", "from", True),
        column("segment_end", "TIMESTAMPTZ", "until (exclusive)", True),
        column("nodes", "DOUBLE", "serving nodes over the segment", True),
        column("rows", "BIGINT", "node-log rows covering the segment (0 = a gap)"),
        RUN_ID,
    ),
)

MODEL_ECONOMICS = Table(
    "model_economics",
    "One row per model and business day: the GPU cost of its prefill and decode node-hours, its revenue, "
    "margins and cost per million tokens. Idle and training node-hours are on the 'unattributed' row; "
    "the rows' GPU cost adds up to the day's.",
    (
        DAY,
        column("model", "VARCHAR", "a model, or 'unattributed' (idle and training node-hours)", True),
        *ROLE_HOURS,
        column("gpu_hours", "DOUBLE", "serving GPU-hours of the row (prefill + decode + serving; idle on 'unattributed')"),
        column("prefill_cost_usd", "DOUBLE", "prefill node-hours at rental"),
        column("decode_cost_usd", "DOUBLE", "decode node-hours at rental"),
        column("gpu_cost_usd", "DOUBLE", "the row's serving GPU cost; the day's rows add up to its GPU cost"),
        *TOKENS[:5],  # input, cache hit, cache miss, output tokens; requests
        column("theoretical_revenue_usd", "DOUBLE", "the model's tokens at the reference model's list price"),
        column("billed_revenue_usd", "DOUBLE", "billable channels, the model's own price, time-of-day rules applied"),
        column("margin_usd", "DOUBLE", "billed revenue - GPU cost"),
        column("cost_profit_margin", "DOUBLE", "theoretical revenue / GPU cost - 1 (null on 'unattributed')"),
        column("gross_margin", "DOUBLE", "(theoretical revenue - GPU cost) / theoretical revenue"),
        column("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue"),
        column("cost_per_million_tokens_usd", "DOUBLE", "GPU cost / (input + output tokens) x 10^6"),
        column("cost_per_million_input_usd", "DOUBLE", "prefill cost / input tokens x 10^6" + NOT_SPLIT),
        column("cost_per_million_output_usd", "DOUBLE", "decode cost / output tokens x 10^6" + NOT_SPLIT),
        RUN_ID,
    ),
)

CUSTOMER_ECONOMICS = Table(
    "customer_economics",
    "One row per customer and business day, from request-level logs: tokens, billed revenue, allocated GPU cost.",
    (
        DAY,
        column("customer_id", "VARCHAR", "customer, as in the request log", True),
        *TOKENS[:5],  # input, cache hit, cache miss, output tokens; requests
        column("billed_revenue_usd", "DOUBLE", "tokens of billable channels at their model's billed price (time-of-day rules applied)"),
        column("prefill_cost_usd", "DOUBLE", "prefill share of GPU cost (by node-hours) × the customer's share of input tokens"
           + NOT_SPLIT),
        column("decode_cost_usd", "DOUBLE", "decode share of GPU cost (by node-hours) × the customer's share of output tokens"
           + NOT_SPLIT),
        column("allocated_cost_usd", "DOUBLE", "prefill + decode cost (not split: GPU cost × the customer's "
           "share of input + output tokens); the day's customers add up to its GPU cost"),
        column("margin_usd", "DOUBLE", "billed revenue - allocated cost"),
        column("gross_margin", "DOUBLE", "margin / billed revenue"),
        RUN_ID,
    ),
)

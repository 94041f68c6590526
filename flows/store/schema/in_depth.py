"""The economics in depth: the revenue waterfall, price scenarios, the cost breakdown, the
invoice check, the claims audit and the anomalies."""

from __future__ import annotations

from openbooks.flows.store.schema.table import DAY, RUN_ID, Table, column

REVENUE_WATERFALL = Table(
    "revenue_waterfall",
    "Theoretical revenue to billed revenue, step by step, per day and model ('all' = every model). "
    "Levels are rounded to the cent, so the steps sum exactly to billed revenue.",
    (
        DAY,
        column("model", "VARCHAR", "a model, or 'all'", True),
        column("step_order", "BIGINT", "1 to 5", True),
        column("step", "VARCHAR", "theoretical revenue, model mix, free channels, time-of-day pricing, billed revenue",
           True),
        column("kind", "VARCHAR", "total (a level) or change (a step between levels)", True),
        column("amount_usd", "DOUBLE", "the level, or the change", True),
        column("start_usd", "DOUBLE", "where the bar starts", True),
        column("end_usd", "DOUBLE", "where the bar ends", True),
        RUN_ID,
    ),
)

REVENUE_SCENARIOS = Table(
    "revenue_scenarios",
    "The day's tokens at each price card, against GPU cost and fully loaded cost.",
    (
        DAY,
        column("card", "VARCHAR", "price card", True),
        column("revenue_usd", "DOUBLE", "every token at the card's list price for its model"),
        column("billed_revenue_usd", "DOUBLE", "billable channels only, the card's time-of-day rules applied"),
        column("gpu_cost_usd", "DOUBLE", "the day's GPU cost"),
        column("loaded_cost_usd", "DOUBLE", "the day's fully loaded cost"),
        column("cost_profit_margin", "DOUBLE", "revenue / GPU cost - 1"),
        column("gross_margin", "DOUBLE", "(revenue - GPU cost) / revenue"),
        column("loaded_gross_margin", "DOUBLE", "(revenue - fully loaded cost) / revenue"),
        column("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue"),
        RUN_ID,
    ),
)

COST_BREAKDOWN = Table(
    "cost_breakdown",
    "The fully loaded cost of each day, line by line (GPU rental or hardware amortization, power, declared lines).",
    (
        DAY,
        column("line_order", "BIGINT", "order of the line", True),
        column("line", "VARCHAR", "cost line", True),
        column("usd", "DOUBLE", "cost in USD (a training transfer is negative)", True),
        column("share", "DOUBLE", "usd / fully loaded cost"),
        RUN_ID,
    ),
)

GPU_COST_CHECK = Table(
    "gpu_cost_check",
    "One row per GPU type and business day with an invoice: the node log's hours at the declared rental rate "
    "against the invoiced cost, so a discount or savings plan shows by how much.",
    (
        DAY,
        column("gpu_type", "VARCHAR", "GPU type (hardware.<gpu_type>)", True),
        column("node_hours", "DOUBLE", "node-hours in the node log, every role"),
        column("gpu_hours", "DOUBLE", "GPU-hours in the node log, every role"),
        column("node_log_cost_usd", "DOUBLE", "gpu_hours at the declared rental_usd_per_gpu_hour"),
        column("invoiced_node_hours", "DOUBLE", "instance-hours the invoice charges for the day"),
        column("invoiced_gpu_hours", "DOUBLE", "invoiced instance-hours x GPUs per node"),
        column("declared_cost_usd", "DOUBLE", "invoiced_gpu_hours at the declared rental_usd_per_gpu_hour"),
        column("invoiced_cost_usd", "DOUBLE", "billed cost (FOCUS BilledCost) for the day"),
        column("effective_cost_usd", "DOUBLE", "amortized cost after commitment discounts (FOCUS EffectiveCost)"),
        column("list_cost_usd", "DOUBLE", "cost at list price (FOCUS ListCost)"),
        column("difference_usd", "DOUBLE", "invoiced - declared cost (negative: the invoice is below the declared rate)"),
        column("ratio", "DOUBLE", "invoiced / declared cost (0.7 = 30% below the declared rate)"),
        RUN_ID,
    ),
)

API_SPEND = Table(
    "api_spend",
    "One row per cost bucket, project and line item of hosted-API spend booked to the business day (OpenAI's "
    "Costs API: a UTC day's bucket is booked whole to the business day holding its middle), beside the day's GPU "
    "cost. Tokens the API served are not served by the fleet; the spend is not part of the GPU cost.",
    (
        DAY,
        column("bucket_start", "TIMESTAMPTZ", "the cost bucket's start (UTC)", True),
        column("bucket_end", "TIMESTAMPTZ", "the cost bucket's end (UTC)", True),
        column("project_id", "VARCHAR", "the provider's project (null when not grouped by project)"),
        column("line_item", "VARCHAR", "the provider's line item, e.g. 'gpt-4o-2024-08-06, input' (null when not "
               "grouped by line item)"),
        column("amount_usd", "DOUBLE", "what the bucket's line cost, in USD", True),
        column("day_api_spend_usd", "DOUBLE", "the business day's API spend: every row of the day"),
        column("gpu_cost_usd", "DOUBLE", "the day's GPU cost (daily_economics.gpu_cost_usd), beside it"),
        column("api_spend_to_gpu_cost", "DOUBLE", "day_api_spend_usd / gpu_cost_usd"),
        column("source_file", "VARCHAR", "the saved page or export the row came from"),
        RUN_ID,
    ),
)

CAPACITY_BY_ROLE = Table(
    "capacity_by_role",
    "One row per GPU type and role every business day: the node-hours and GPU-hours the node log holds "
    "(a declared fleet's unallocated nodes as idle), at the declared rental rate; invoice or not.",
    (
        DAY,
        column("gpu_type", "VARCHAR", "GPU type (hardware.<gpu_type>)", True),
        column("role", "VARCHAR", "prefill, decode, serving, idle or training", True),
        column("node_hours", "DOUBLE", "node-hours of the role on the GPU type", True),
        column("gpu_hours", "DOUBLE", "node_hours x GPUs per node", True),
        column("gpu_cost_usd", "DOUBLE", "gpu_hours at the declared rental_usd_per_gpu_hour (training: lent out, "
               "not in the day's GPU cost)", True),
        RUN_ID,
    ),
)

CLAIMS_AUDIT = Table(
    "claims_audit",
    "Each published claim (configs/claims.yaml) against the computed day.",
    (
        DAY,
        column("claim_order", "BIGINT", "order in the claims file", True),
        column("claim", "VARCHAR", "the claim, in words", True),
        column("figure", "VARCHAR", "the figure checked (a daily_economics column or scenario.<card>.<column>)", True),
        column("stated", "DOUBLE", "the value claimed", True),
        column("tolerance", "DOUBLE", "how far computed may be from stated and still confirm", True),
        column("computed", "DOUBLE", "the value computed from the day's logs"),
        column("difference", "DOUBLE", "computed - stated"),
        column("verdict", "VARCHAR", "confirmed, rejected, no such figure, or not applicable (a claim about other days)",
               True),
        column("source", "VARCHAR", "where the claim was made"),
        column("first_day", "DATE", "the day the claim is about, or the first of its range (none: every day)"),
        column("last_day", "DATE", "the last day of the claim's range"),
        column("unit", "VARCHAR", "usd, percent (a fraction shown as %), gpu_hours or number"),
        RUN_ID,
    ),
)


ANOMALIES = Table(
    "anomalies",
    "One row per key figure of a business day that moved past its threshold against the figure's trailing "
    "median (anomalies: window_days, threshold_points, threshold_relative in the config), and per budget the "
    "day's month breaks so far or by its forecast (budgets:). A finding, never a failure: the day is published "
    "with it.",
    (
        DAY,
        column("figure", "VARCHAR", "the daily_economics column that moved", True),
        column("value", "DOUBLE", "the figure on this day"),
        column("median", "DOUBLE", "the figure's median over the published days of the trailing window"),
        column("window_days", "BIGINT", "published days in the trailing window the median is taken over"),
        column("move", "DOUBLE", "value - median (kind points) or (value - median) / |median| (kind relative)"),
        column("kind", "VARCHAR", "points (shares: 0.05 = 5 points) or relative (0.25 = 25% of the median)"),
        column("threshold", "DOUBLE", "the declared threshold the move passed (a budget's limit)"),
        column("budget", "VARCHAR", "the budget broken (budgets: in the config; kind 'budget, month so far' or "
               "'budget, forecast'); null for a figure's move"),
        RUN_ID,
    ),
)

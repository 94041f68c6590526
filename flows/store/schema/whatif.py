"""What if: the config's scenarios on each published day."""

from __future__ import annotations

from openbooks.flows.store.schema.table import DAY, RUN_ID, Table, column

NOT_FOR_IDLE = " (null on 'unattributed')"

SCENARIO_ECONOMICS = Table(
    "scenario_economics",
    "One row per business day, scenario (whatif.scenarios in the config) and model, and the scenario's 'all' row: "
    "the day's measured tokens served on the scenario's hardware and priced at its prices. The models' rows and "
    "the 'unattributed' row add up to 'all'; margins are those of each row's sums.",
    (
        DAY,
        column("scenario", "VARCHAR", "scenario name", True),
        column("model", "VARCHAR", "a model, 'unattributed' (idle GPU time) or 'all' (the scenario's totals)", True),
        column("gpu_type", "VARCHAR", "GPU type served on"),
        column("gpus_per_node", "DOUBLE", "GPUs per node"),
        column("rental_usd_per_gpu_hour", "DOUBLE", "rental per GPU-hour"),
        column("prefill_node_hours", "DOUBLE", "node-hours prefilling the input tokens"),
        column("decode_node_hours", "DOUBLE", "node-hours decoding the output tokens"),
        column("serving_node_hours", "DOUBLE", "node-hours doing both (measured as serving, throughput relative)"),
        column("idle_node_hours", "DOUBLE", "idle node-hours, and training's when lending to training is off"),
        column("node_hours", "DOUBLE", "every node-hour paid for"),
        column("gpu_hours", "DOUBLE", "node_hours x GPUs per node"),
        column("avg_nodes", "DOUBLE", "node_hours / hours of the day"),
        column("peak_nodes", "DOUBLE", "most nodes in any hour of the scenario's node curve (on 'all')"),
        column("prefill_cost_usd", "DOUBLE", "prefill GPU-hours at the rental"),
        column("decode_cost_usd", "DOUBLE", "decode GPU-hours at the rental"),
        column("gpu_cost_usd", "DOUBLE", "every GPU-hour at the rental", True),
        column("input_tokens", "BIGINT", "input tokens (as measured)"),
        column("cache_hit_tokens", "BIGINT", "input tokens from the KV cache, at the scenario's hit rate"),
        column("cache_miss_tokens", "BIGINT", "input tokens computed"),
        column("output_tokens", "BIGINT", "output tokens (as measured)"),
        column("revenue_usd", "DOUBLE", "theoretical revenue on the own card; on another card every token at its list "
               "price for the model; x the price factor"),
        column("billed_revenue_usd", "DOUBLE", "billable channels, time-of-day rules kept, x the price factor"),
        column("cost_profit_margin", "DOUBLE", "revenue / GPU cost - 1" + NOT_FOR_IDLE),
        column("gross_margin", "DOUBLE", "(revenue - GPU cost) / revenue" + NOT_FOR_IDLE),
        column("billed_gross_margin", "DOUBLE", "(billed revenue - GPU cost) / billed revenue" + NOT_FOR_IDLE),
        column("cost_per_million_input_usd", "DOUBLE", "prefill cost / input tokens x 10^6"),
        column("cost_per_million_output_usd", "DOUBLE", "decode cost / output tokens x 10^6"),
        column("cost_per_million_tokens_usd", "DOUBLE", "GPU cost / (input + output tokens) x 10^6"),
        RUN_ID,
    ),
)

"""Starter configs for ``openbooks init --kind K``: one source of kind ``K``,
explained line by line, and what else a config needs to pass ``openbooks
check`` once the lines marked ``FILL IN`` name the team's files. Text only:
the command writes it, ``openbooks check`` judges it."""

from __future__ import annotations

HEAD = """\
# openbooks config, started by `openbooks init --kind {kind}`.
# Fill in the lines marked FILL IN, then: openbooks check
# Relative paths are relative to this file's directory; `{{date}}` in a path
# stands for the business day (YYYY-MM-DD). See docs/configuration.md and
# docs/sources/{doc}.md.

# The business day: a run of --date D covers D at `start` to D + 1 at `start`.
business_day:
  timezone: UTC
  start: "00:00"

sources:
"""

OWN_NODE_LOG = """\
  # GPU nodes per interval, openbooks' own CSV (docs/sources/node_log.md):
  # interval_start, interval_end, gpu_type, nodes[, model, role]
  node_log:
    path: logs/nodes/{date}.csv             # FILL IN
    format: csv
    extra_columns: fail        # or: ignore
"""

OWN_TOKEN_COUNTS = """\
  # Tokens per hour, openbooks' own CSV (docs/sources/token_counts.md)
  token_counts:
    path: logs/tokens/{date}.csv            # FILL IN
    format: csv
    extra_columns: fail
"""

SOURCES = {
    "node_log": OWN_NODE_LOG + OWN_TOKEN_COUNTS,
    "requests": OWN_NODE_LOG + """\
  # One row per request (docs/sources/requests.md): tokens, channel, model,
  # customer; aggregated to hourly token counts. Map your column names with
  # columns: {openbooks name: your column}.
  requests:
    path: logs/requests/{date}/*.csv        # FILL IN (csv or parquet)
    extra_columns: ignore
    # columns: {ts: served_at, customer_id: account}
""",
    "slurm_sacct": """\
  # GPU jobs from Slurm's accounting (docs/sources/slurm_sacct.md), as saved by
  # sacct --parsable2 --allocations --format=JobID,JobName,Account,Partition,AllocTRES,NodeList,Start,End,State
  node_log:
    kind: slurm_sacct
    path: /data/slurm/sacct_{date}*.txt     # FILL IN
    options:
      timezone: UTC                    # the timezone sacct printed its times in
      partitions: {gpu: H800}          # partition -> GPU type under hardware
      rules:                           # the first rule whose fields all match (full regex) wins
        - match: {JobName: "vllm-(?P<model>.+)-serve"}
          model: "{model}"             # named groups fill {...}
          role: serving
      unmatched: skip                  # or fail: a GPU job no rule matches is an error
""" + OWN_TOKEN_COUNTS,
    "opencost": """\
  # Allocations saved from OpenCost's /allocation API (docs/sources/opencost.md)
  node_log:
    kind: opencost
    path: /data/opencost/allocation_{date}.json   # FILL IN
    options:
      instance_types: {gpu-8x-h800: H800}  # node instance type -> GPU type under hardware
      rules:                           # flattened fields; full regex match; the first rule matching wins
        - match:
            properties.labels.app_kubernetes_io_name: "(?P<model>.+)"
          model: "{model}"
          role: serving
""" + OWN_TOKEN_COUNTS,
    "focus": """\
  # A FOCUS cost and usage export (AWS, Azure, GCP, OCI; docs/sources/focus.md)
  node_log:
    kind: focus
    path: /data/focus/focus_{date}.csv      # FILL IN
    options:
      instance_type_field: SkuPriceDetails.InstanceType   # a column, or <JSON column>.<key>
      instance_types: {gpu-h800-8x: H800}  # instance type -> GPU type under hardware
      rules:
        - match: {Tags.model: "(?P<model>.+)"}
          model: "{model}"
          role: serving
      currency: USD
""" + OWN_TOKEN_COUNTS,
    "prometheus": OWN_NODE_LOG + """\
  # Token counters of vLLM or SGLang from Prometheus (docs/sources/prometheus.md):
  # saved query answers or scrapes under `path`, or a live server with
  # options.url (then leave `path` out).
  token_counts:
    kind: prometheus
    path: /data/prometheus/{date}/*.json    # FILL IN (or options.url)
    options:
      engine: vllm                     # or: sglang
      # url: http://prometheus.monitoring:9090
      # token_env: PROMETHEUS_TOKEN    # a bearer token, read from the environment
""",
    "litellm": OWN_NODE_LOG + """\
  # LiteLLM's spend logs (docs/sources/litellm.md): a CSV export of
  # LiteLLM_SpendLogs under `path`, or its Postgres database with options.dsn
  # (then leave `path` out; the password from options.password_env).
  requests:
    kind: litellm
    path: /data/litellm/spend_logs_{date}.csv   # FILL IN (or options.dsn)
    options:
      timezone: UTC                    # startTime has no offset; LiteLLM writes UTC
      channel: {tag_prefix: "channel:", default: api}
      # dsn: "host=litellm-db port=5432 dbname=litellm user=openbooks_reader"
      # password_env: LITELLM_DB_PASSWORD
""",
    "openai_usage": OWN_NODE_LOG + """\
  # OpenAI's organization Usage API answers, saved one page per file, or the
  # dashboard's CSV export (docs/sources/openai_usage.md)
  token_counts:
    kind: openai_usage
    path: /data/openai/{date}/page*.json    # FILL IN
    options:
      channel: api                     # projects not listed under channels
      # channels: {proj_abc: api, proj_def: web}   # project_id -> channel
      # models: {gpt-4o-2024-08-06: my-model}      # API model -> price-book model
""",
}

TAIL = """
# GPU types: node-hours priced at rental per GPU-hour.
hardware:
  H800:                                # FILL IN: your GPU types and prices
    gpus_per_node: 8
    rental_usd_per_gpu_hour: 2.00

# List prices, USD per million tokens (docs/economics.md).
price_book:
  timezone: UTC
  card: list
  reference_model: my-model            # theoretical revenue: every token at this model's price
  billable_channels: [api]
  cards:
    list:
      models:
        "*": {input_cache_hit: 0.14, input_cache_miss: 0.55, output: 2.19}   # FILL IN

warehouse:
  path: ../data/warehouse.duckdb

reports:
  dir: ../reports

# When `openbooks serve` runs the day that just ended.
schedule:
  cron: "30 0 * * *"
  timezone: UTC
"""

KINDS = tuple(SOURCES)


def starter(kind: str) -> str:
    """The starter config for a source of ``kind`` (one of ``KINDS``)."""
    doc = "node_log" if kind == "node_log" else kind
    return HEAD.format(kind=kind, doc=doc) + SOURCES[kind] + TAIL

"""Capacity and efficiency figures of a day, as expressions over its
``daily_economics`` row (and the idle-capacity basis it names)."""

from __future__ import annotations

import polars as pl

from openbooks.transforms.ratios import ratio as _ratio

SECONDS_PER_HOUR = 3600


def idle_capacity_node_hours() -> pl.Expr:
    """Node-hours a fleet held at the day's peak would have had spare: peak nodes × hours − serving node-hours."""
    return pl.col("peak_nodes") * pl.col("hours") - pl.col("node_hours")


def idle_capacity_share() -> pl.Expr:
    """Idle node-hours / (peak nodes × hours)."""
    return _ratio(idle_capacity_node_hours(), pl.col("peak_nodes") * pl.col("hours"))


def idle_capacity_usd() -> pl.Expr:
    """Idle node-hours at the day's rental per serving node-hour (GPU cost / serving node-hours)."""
    return idle_capacity_node_hours() * _ratio(pl.col("gpu_cost_usd"), pl.col("node_hours"))


def split(figure: pl.Expr) -> pl.Expr:
    """A figure that needs the prefill/decode split: null ("not split") when
    the frame has ``serving`` node-hours (prefill and decode on the same GPUs,
    so no split is known), else the figure. A frame without the column is split."""
    serving = pl.sum_horizontal(pl.lit(0.0), pl.col("^serving_node_hours$"))  # 0 when the column is absent
    return pl.when(serving > 0).then(None).otherwise(figure)


def tokens_per_node_second(tokens: str, node_hours: str) -> pl.Expr:
    """Throughput per node: tokens / (node-hours × 3,600)."""
    return _ratio(pl.col(tokens), pl.col(node_hours) * SECONDS_PER_HOUR)


def prefill_share() -> pl.Expr:
    """Prefill's share of cost: prefill node-hours / (prefill + decode node-hours);
    null when serving node-hours exist (``split``)."""
    return split(_ratio(pl.col("prefill_node_hours"), pl.col("prefill_node_hours") + pl.col("decode_node_hours")))


def prefill_cost_usd(cost: str = "gpu_cost_usd") -> pl.Expr:
    """Prefill's part of a cost: cost × prefill share."""
    return pl.col(cost) * prefill_share()


def decode_cost_usd(cost: str = "gpu_cost_usd") -> pl.Expr:
    """Decode's part of a cost: cost × (1 − prefill share)."""
    return pl.col(cost) * (1 - prefill_share())


def usd_per_million(usd: pl.Expr, tokens: str) -> pl.Expr:
    """USD per million tokens."""
    return _ratio(usd * 1_000_000, pl.col(tokens))

"""GPU-hours and GPU rental cost."""

from __future__ import annotations

import polars as pl


def gpu_cost(node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Add ``gpu_hours`` (node-hours × GPUs per node) and ``gpu_cost_usd``
    (GPU-hours × rental per GPU-hour) by joining ``hardware`` on ``gpu_type``
    (columns ``gpus_per_node``, ``rental_usd_per_gpu_hour``)."""
    return (
        node_hours.join(hardware, on="gpu_type", how="left")
        .with_columns(gpu_hours=pl.col("node_hours") * pl.col("gpus_per_node"))
        .with_columns(gpu_cost_usd=pl.col("gpu_hours") * pl.col("rental_usd_per_gpu_hour"))
        .drop("gpus_per_node", "rental_usd_per_gpu_hour")
    )

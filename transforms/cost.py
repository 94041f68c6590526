"""GPU-hours and GPU rental cost: the one rental formula every cost figure uses."""

from __future__ import annotations

import polars as pl

NODE_HOURS = pl.col("node_hours")
GPUS_PER_NODE = pl.col("gpus_per_node")
RENTAL = pl.col("rental_usd_per_gpu_hour")


def gpu_hours(node_hours: pl.Expr = NODE_HOURS, gpus_per_node: pl.Expr | float = GPUS_PER_NODE) -> pl.Expr:
    """GPU-hours: node-hours × GPUs per node."""
    return node_hours * gpus_per_node


def rental_usd(
    node_hours: pl.Expr = NODE_HOURS, gpus_per_node: pl.Expr | float = GPUS_PER_NODE, rental: pl.Expr | float = RENTAL
) -> pl.Expr:
    """Rental cost: GPU-hours × rental per GPU-hour."""
    return gpu_hours(node_hours, gpus_per_node) * rental


def gpu_cost(node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Add ``gpu_hours`` and ``gpu_cost_usd`` (``rental_usd``) by joining
    ``hardware`` on ``gpu_type`` (columns ``gpus_per_node``,
    ``rental_usd_per_gpu_hour``)."""
    return (
        node_hours.join(hardware, on="gpu_type", how="left")
        .with_columns(gpu_hours=gpu_hours(), gpu_cost_usd=rental_usd())
        .drop("gpus_per_node", "rental_usd_per_gpu_hour")
    )


def role_rental_usd(node_hours: pl.DataFrame, hardware: pl.DataFrame, roles: tuple[str, ...]) -> float:
    """Σ ``rental_usd`` over the node-hour rows (any grain) of ``roles``:
    serving roles for the ``GPU rental`` cost line, ``training`` for the
    training credit (and, with owned hardware, the negative ``training
    transfer`` line)."""
    rows = node_hours.filter(pl.col("role").is_in(roles)).join(hardware, on="gpu_type", how="left")
    return float(rows.select(rental_usd().sum()).item())

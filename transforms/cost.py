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


def by_gpu_type_and_role(costed: pl.DataFrame) -> pl.DataFrame:
    """Node-hours, GPU-hours and their cost at the declared rate per GPU type
    and role (``costed``: ``cost.gpu_cost`` by hour, model, role and GPU type)."""
    return (
        costed.group_by("gpu_type", "role")
        .agg(pl.col("node_hours").sum(), pl.col("gpu_hours").sum(), pl.col("gpu_cost_usd").sum())
        .sort("gpu_type", "role")
    )


def reconcile_roles(rows: pl.DataFrame, daily: pl.DataFrame, serving_roles: tuple[str, ...]) -> pl.DataFrame:
    """``by_gpu_type_and_role`` with the gaps to the day's figures on every
    row (0 when they add up): its role's node-hours over every GPU type
    against ``<role>_node_hours`` (``role_node_hours_gap``), and the serving
    roles' node-hours, GPU-hours and cost against the day's (``node_hours_gap``,
    ``gpu_hours_gap``, ``gpu_cost_gap_usd``)."""
    day = daily.row(0, named=True)
    serving = pl.col("role").is_in(serving_roles)
    per_role = pl.col("role").replace_strict({r: float(day.get(f"{r}_node_hours") or 0.0)
                                              for r in rows["role"].unique().to_list()}, return_dtype=pl.Float64)
    return rows.with_columns(
        role_node_hours_gap=pl.col("node_hours").sum().over("role") - per_role,
        node_hours_gap=pl.col("node_hours").filter(serving).sum() - day["node_hours"],
        gpu_hours_gap=pl.col("gpu_hours").filter(serving).sum() - day["gpu_hours"],
        gpu_cost_gap_usd=pl.col("gpu_cost_usd").filter(serving).sum() - day["gpu_cost_usd"],
    )

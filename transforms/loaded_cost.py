"""Fully loaded cost: GPU rental (or owned hardware amortized), power and the
declared cost lines, one row per line.

Frames:
- role_node_hours: ``gpu_type``, ``role``, ``node_hours`` (the day's totals, every role)
- hardware: ``gpu_type``, ``gpus_per_node``, ``rental_usd_per_gpu_hour``
- owned: ``gpu_type``, ``capex_usd_per_node``, ``amortization_years``, ``nodes`` (nodes owned)
- kw_per_node: ``role``, ``kw_per_node``
- lines: ``line``, ``usd_per_day``, ``usd_per_node_hour``
"""

from __future__ import annotations

import polars as pl

from transforms.capacity import SERVING_ROLES

HOURS_PER_YEAR = 365 * 24
LINE_SCHEMA = {"line": pl.String, "usd": pl.Float64}


def _line(name: str, usd: pl.Expr) -> list[pl.Expr]:
    return [pl.lit(name).alias("line"), usd.cast(pl.Float64).alias("usd")]


def _serving(role_node_hours: pl.DataFrame) -> pl.DataFrame:
    return role_node_hours.filter(pl.col("role").is_in(SERVING_ROLES))


def rental(role_node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """GPU rental: serving node-hours × GPUs per node × rental per GPU-hour."""
    priced = _serving(role_node_hours).join(hardware, on="gpu_type", how="left")
    usd = (pl.col("node_hours") * pl.col("gpus_per_node") * pl.col("rental_usd_per_gpu_hour")).sum()
    return priced.select(_line("GPU rental", usd))


def amortization(owned: pl.DataFrame, hours: float) -> pl.DataFrame:
    """Owned hardware, straight-line: nodes × capex per node / (years × 8,760 h) × hours in the day."""
    usd = (pl.col("nodes") * pl.col("capex_usd_per_node") / (pl.col("amortization_years") * HOURS_PER_YEAR)).sum()
    return owned.select(_line("hardware amortization", usd * hours))


def training_transfer(role_node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Owned nodes lent to training, credited at rental as an internal
    transfer: −(training node-hours × GPUs per node × rental per GPU-hour)."""
    priced = role_node_hours.filter(pl.col("role") == "training").join(hardware, on="gpu_type", how="left")
    usd = -(pl.col("node_hours") * pl.col("gpus_per_node") * pl.col("rental_usd_per_gpu_hour")).sum()
    return priced.select(_line("training transfer", usd))


def power(role_node_hours: pl.DataFrame, kw_per_node: pl.DataFrame, *, pue: float, usd_per_kwh: float) -> pl.DataFrame:
    """Electricity: Σ serving node-hours by role × kW per node × PUE × USD per kWh."""
    usd = (pl.col("node_hours") * pl.col("kw_per_node").fill_null(0.0)).sum() * pue * usd_per_kwh
    return _serving(role_node_hours).join(kw_per_node, on="role", how="left").select(_line("power", usd))


def declared_lines(lines: pl.DataFrame, *, serving_node_hours: float, hours: float) -> pl.DataFrame:
    """Each declared line: USD per day × hours / 24 + USD per serving node-hour × serving node-hours."""
    return lines.select(
        "line",
        usd=pl.col("usd_per_day") * hours / 24 + pl.col("usd_per_node_hour") * serving_node_hours,
    ).cast(LINE_SCHEMA)


def cost_breakdown(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The lines together, with ``share`` of the fully loaded total."""
    lines = pl.concat([p.cast(LINE_SCHEMA) for p in parts]) if parts else pl.DataFrame(schema=LINE_SCHEMA)
    return lines.with_columns(share=pl.col("usd") / pl.col("usd").sum()).with_row_index("line_order", offset=1)


def loaded_cost_usd(breakdown: pl.DataFrame) -> float:
    """The fully loaded cost: the sum of the lines."""
    return float(breakdown["usd"].sum())

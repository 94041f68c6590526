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

from openbooks.transforms.capacity import SERVING_ROLES, node_count_steps
from openbooks.transforms.cost import role_rental_usd
from openbooks.transforms.inputs import DayInputs

HOURS_PER_YEAR = 365 * 24
LINE_SCHEMA = {"line": pl.String, "usd": pl.Float64}


def _line(name: str, usd: float) -> pl.DataFrame:
    return pl.DataFrame({"line": [name], "usd": [usd]}, schema=LINE_SCHEMA)


def rental(role_node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """GPU rental: the rental of the serving node-hours."""
    return _line("GPU rental", role_rental_usd(role_node_hours, hardware, SERVING_ROLES))


def amortization(owned: pl.DataFrame, hours: float) -> pl.DataFrame:
    """Owned hardware, straight-line: nodes × capex per node / (years × 8,760 h) × hours in the day."""
    usd = (pl.col("nodes") * pl.col("capex_usd_per_node") / (pl.col("amortization_years") * HOURS_PER_YEAR)).sum()
    return owned.select(line=pl.lit("hardware amortization"), usd=(usd * hours).cast(pl.Float64))


def training_transfer(role_node_hours: pl.DataFrame, hardware: pl.DataFrame) -> pl.DataFrame:
    """Owned nodes lent to training, credited at rental as an internal
    transfer: minus the rental of the training node-hours."""
    return _line("training transfer", -role_rental_usd(role_node_hours, hardware, ("training",)))


def power(role_node_hours: pl.DataFrame, kw_per_node: pl.DataFrame, *, pue: float, usd_per_kwh: float) -> pl.DataFrame:
    """Electricity: Σ serving node-hours by role × kW per node × PUE × USD per kWh."""
    usd = (pl.col("node_hours") * pl.col("kw_per_node").fill_null(0.0)).sum() * pue * usd_per_kwh
    serving = role_node_hours.filter(pl.col("role").is_in(SERVING_ROLES))
    return serving.join(kw_per_node, on="role", how="left").select(line=pl.lit("power"), usd=usd.cast(pl.Float64))


def declared_lines(lines: pl.DataFrame, *, serving_node_hours: float, hours: float) -> pl.DataFrame:
    """Each declared line: USD per day × hours / 24 + USD per serving node-hour × serving node-hours."""
    return lines.select(
        "line",
        usd=pl.col("usd_per_day") * hours / 24 + pl.col("usd_per_node_hour") * serving_node_hours,
    ).cast(LINE_SCHEMA)


def owned_nodes(owned: pl.DataFrame, serving_node_log: pl.DataFrame) -> pl.DataFrame:
    """``owned`` with undeclared ``nodes`` taken as the day's peak serving
    nodes of that GPU type."""
    peaks = []
    for gpu_type in owned["gpu_type"]:
        steps = node_count_steps(serving_node_log.filter(pl.col("gpu_type") == gpu_type))
        peaks.append(float(steps["nodes"].max()) if steps.height else 0.0)
    return owned.with_columns(nodes=pl.col("nodes").fill_null(pl.Series(peaks, dtype=pl.Float64)))


def cost_lines(inputs: DayInputs, costed: pl.DataFrame, serving_node_log: pl.DataFrame, hours: float) -> pl.DataFrame:
    """The day's cost breakdown under the declared compute basis and cost lines."""
    role_hours = costed.group_by("gpu_type", "role").agg(pl.col("node_hours").sum())
    if inputs.compute == "owned":
        parts = [amortization(owned_nodes(inputs.owned, serving_node_log), hours),
                 training_transfer(role_hours, inputs.hardware)]
    else:
        parts = [rental(role_hours, inputs.hardware)]
    if inputs.power is not None:
        parts.append(power(role_hours, inputs.power.kw_per_node, pue=inputs.power.pue,
                           usd_per_kwh=inputs.power.usd_per_kwh))
    serving_hours = float(role_hours.filter(pl.col("role").is_in(SERVING_ROLES))["node_hours"].sum())
    parts.append(declared_lines(inputs.lines, serving_node_hours=serving_hours, hours=hours))
    return cost_breakdown(parts)


def cost_breakdown(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The lines together, with ``share`` of the fully loaded total."""
    lines = pl.concat([p.cast(LINE_SCHEMA) for p in parts]) if parts else pl.DataFrame(schema=LINE_SCHEMA)
    return lines.with_columns(share=pl.col("usd") / pl.col("usd").sum()).with_row_index("line_order", offset=1)


def loaded_cost_usd(breakdown: pl.DataFrame) -> float:
    """The fully loaded cost: the sum of the lines."""
    return float(breakdown["usd"].sum())

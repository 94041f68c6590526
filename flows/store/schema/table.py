"""A warehouse table's declaration (``Table``, ``Column``) and the column groups
several tables share."""

from __future__ import annotations

from dataclasses import dataclass

from openbooks.transforms.capacity import ROLES


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    partition: str | None = "day"  # published per day: a run replaces its day's rows
    schema: str = "main"

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def ddl(self, schema: str | None = None) -> str:
        cols = ",\n  ".join(
            f"{c.name} {c.type}{' NOT NULL' if c.not_null else ''}" for c in self.columns
        )
        return f"CREATE TABLE IF NOT EXISTS {schema or self.schema}.{self.name} (\n  {cols}\n)"


def column(name: str, type_: str, description: str, not_null: bool = False) -> Column:
    return Column(name, type_, description, not_null)


DAY = column("day", "DATE", "business day, named by the date it starts on", True)
RUN_ID = column("run_id", "VARCHAR", "the run that published this row (see run_log)", True)
TOKENS = (
    column("input_tokens", "BIGINT", "input tokens (cache hits + misses)"),
    column("cache_hit_tokens", "BIGINT", "input tokens served from the KV cache"),
    column("cache_miss_tokens", "BIGINT", "input tokens computed afresh"),
    column("output_tokens", "BIGINT", "output tokens"),
    column("requests", "BIGINT", "requests"),
    column("cache_hit_rate", "DOUBLE", "cache_hit_tokens / input_tokens"),
)
# Figures that need the prefill/decode split are null on a day (or model) with
# serving node-hours: prefill and decode share those GPUs, so no split is known.
NOT_SPLIT = "; null (not split) with serving node-hours (prefill and decode on the same GPUs)"
ROLE_HOURS = tuple(column(f"{role}_node_hours", "DOUBLE", f"node-hours in role {role}") for role in ROLES)
MARGINS = (
    column("theoretical_revenue_usd", "DOUBLE", "every token at the reference model's list price"),
    column("cost_profit_margin", "DOUBLE", "theoretical revenue / GPU cost - 1 (5.45 = 545%)"),
    column("gross_margin", "DOUBLE", "(theoretical revenue - GPU cost) / theoretical revenue"),
)

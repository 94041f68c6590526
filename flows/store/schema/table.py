"""A warehouse table's declaration (``Table``, ``Column``) and the column groups
several tables share."""

from __future__ import annotations

from dataclasses import dataclass

from openbooks.transforms.capacity import ROLES
from openbooks.transforms.figures import FIGURE


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


def figure_column(name: str, not_null: bool = False) -> Column:
    """A rate or margin of the books, described by its entry in the figure catalogue (``transforms/figures.py``)."""
    return Column(name, "DOUBLE", FIGURE[name].description, not_null)


DAY = column("day", "DATE", "business day, named by the date it starts on", True)
RUN_ID = column("run_id", "VARCHAR", "the run that published this row (see run_log)", True)
TOKENS = (
    column("input_tokens", "BIGINT", "input tokens (cache hits + misses)"),
    column("cache_hit_tokens", "BIGINT", "input tokens served from the KV cache"),
    column("cache_miss_tokens", "BIGINT", "input tokens computed afresh"),
    column("output_tokens", "BIGINT", "output tokens"),
    column("requests", "BIGINT", "requests"),
    figure_column("cache_hit_rate"),
)
ROLE_HOURS = tuple(column(f"{role}_node_hours", "DOUBLE", f"node-hours in role {role}") for role in ROLES)
MARGINS = (
    column("theoretical_revenue_usd", "DOUBLE", "every token at the reference model's list price"),
    figure_column("cost_profit_margin"),
    figure_column("gross_margin"),
)

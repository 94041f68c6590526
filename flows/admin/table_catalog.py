"""The warehouse's tables as ``openbooks tables`` lists them: columns, types
and what each holds."""

from __future__ import annotations

from openbooks.flows.store.schema import ALL_TABLES, Table
from openbooks.flows.store.warehouse import RAW_FEEDS, raw_table
from openbooks.errors import OpenbooksError


def all_tables() -> list[Table]:
    return [*ALL_TABLES, *(raw_table(source) for source in RAW_FEEDS)]


def display_name(table: Table) -> str:
    return table.name if table.schema == "main" else table.qualified


def table_rows(name: str | None = None) -> list[tuple[str, str, str, str]]:
    """(table, column, type, description) for every warehouse table, or only
    the one called ``name`` (``raw.node_log`` or, when unambiguous, ``node_log``)."""
    rows = []
    for table in tables_named(name) if name else all_tables():
        rows.append((display_name(table), "", "", table.description))
        rows += [("", c.name, c.type + (" NOT NULL" if c.not_null else ""), c.description) for c in table.columns]
    return rows


def tables_named(name: str) -> list[Table]:
    """The table ``name`` names: its displayed name first, else its bare name."""
    tables = all_tables()
    exact = [t for t in tables if display_name(t) == name]
    if exact:
        return exact
    bare = [t for t in tables if t.name == name]
    if len(bare) == 1:
        return bare
    raise OpenbooksError(f"no table {name!r}; tables: {', '.join(display_name(t) for t in tables)}")

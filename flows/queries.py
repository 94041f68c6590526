"""Read-only SQL against the warehouse, for ``openbooks query``."""

from __future__ import annotations

import duckdb

from flows.warehouse import session
from openbooks.config import Config
from openbooks.errors import OpenbooksError


def run_query(config: Config, sql: str) -> tuple[list[str], list[tuple]]:
    """Column names and rows of ``sql``; a bad query is one clear line."""
    with session(config, read_only=True) as con:
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise OpenbooksError(f"query failed: {str(exc).splitlines()[0]}")
        if cursor.description is None:
            return [], []
        return [d[0] for d in cursor.description], cursor.fetchall()

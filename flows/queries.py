"""Read-only SQL against the warehouse, for ``openbooks query``.

Saved queries are ``queries/<name>.sql`` next to the config file
(``configs/queries/`` for the shipped config).
"""

from __future__ import annotations

from pathlib import Path

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


def saved_queries(config: Config) -> dict[str, Path]:
    directory = config.file.parent / "queries"
    return {p.stem: p for p in sorted(directory.glob("*.sql"))}


def saved_query(config: Config, name: str) -> str:
    """The SQL of saved query ``name``; an unknown name lists the known ones."""
    known = saved_queries(config)
    if name not in known:
        where = config.file.parent / "queries"
        raise OpenbooksError(
            f"--saved {name!r}: no {where / (name + '.sql')}; saved queries: {', '.join(known) or 'none'}"
        )
    return known[name].read_text(encoding="utf-8")


def write_parquet(config: Config, sql: str, path: Path) -> int:
    """Write the result of ``sql`` to a Parquet file; returns the row count."""
    with session(config, read_only=True) as con:
        try:
            relation = con.sql(sql)
            if relation is None:
                raise OpenbooksError("query failed: it returns no rows to write (expected a SELECT)")
            path.parent.mkdir(parents=True, exist_ok=True)
            relation.write_parquet(str(path))
            return con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
        except duckdb.Error as exc:
            raise OpenbooksError(f"query failed: {str(exc).splitlines()[0]}")

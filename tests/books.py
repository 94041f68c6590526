"""Helpers for tests that read a warehouse and compare what a run left behind."""

from __future__ import annotations

from pathlib import Path

import duckdb

PUBLISHED_TABLES = ("daily_economics", "hourly_economics", "node_steps")


def published(config, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` over a read-only connection to the project's warehouse."""
    con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def tables(config, *, exclude: str = "") -> dict[str, list[tuple]]:
    """Every published table, all columns (less ``exclude``), in a stable order."""
    columns = f"* EXCLUDE ({exclude})" if exclude else "*"
    return {t: published(config, f"SELECT {columns} FROM {t} ORDER BY ALL") for t in PUBLISHED_TABLES}


def files_bytes(directory: Path) -> dict[str, bytes]:
    """Every report file under ``directory`` (name → content), for byte-identity
    checks. GX Data Docs pages (``data_docs/``) are left out: each run, failed
    or not, adds its own validation pages there, as it adds its run_log row."""
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.relative_to(directory).parts[0] != "data_docs"
    }


def edit_line(path: Path, line: int, edit) -> None:
    """Replace line ``line`` (1 = header) of a CSV file with ``edit(fields) -> fields``."""
    lines = path.read_text().splitlines()
    lines[line - 1] = ",".join(edit(lines[line - 1].split(",")))
    path.write_text("\n".join(lines) + "\n")

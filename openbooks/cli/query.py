"""``openbooks query``: read-only SQL against the warehouse.

The query cannot write files, read files or change DuckDB's settings (see
``flows.admin.query_guard``); ``--allow-file-reads DIR`` lets it read the
files under DIR. ``--output`` never overwrites the project's own files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, app
from openbooks.cli.query_display import csv_text, json_text, result_table, rows_line, table_text
from openbooks.config import DEFAULT_CONFIG, Config, load_config
from openbooks.errors import OpenbooksError

FORMATS = ("table", "csv", "json", "parquet")


@app.command()
def query(
    sql: Annotated[str | None, typer.Argument(help="SQL to run (read-only); '-' or none reads stdin.")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read the SQL from this file.")] = None,
    saved: Annotated[str | None, typer.Option("--saved", "-s", help="Run configs/queries/NAME.sql.")] = None,
    format: Annotated[str, typer.Option("--format", "-F", help="table, csv, json or parquet.")] = "table",
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file (never the warehouse, config, reports or inputs).")] = None,
    allow_file_reads: Annotated[list[Path] | None, typer.Option(
        "--allow-file-reads", metavar="DIR", help="Let the query read files under DIR (repeatable); "
        "otherwise it reads only the warehouse.")] = None,
) -> None:
    """Answer a SQL query from the warehouse through a read-only connection
    that reads no file but the warehouse and writes none.

    The SQL comes from the argument, --file, --saved NAME or stdin."""
    if format not in FORMATS:
        raise OpenbooksError(f"--format {format!r}: expected table, csv, json or parquet")
    if format == "parquet" and output is None:
        raise OpenbooksError("--format parquet needs --output PATH")
    cfg = load_config(config)
    text = query_text(cfg, sql, file, saved)
    readable = list(allow_file_reads or [])
    if output is not None:
        from openbooks.flows.admin.query_guard import refuse_protected_output

        refuse_protected_output(cfg, output)  # before running anything
    if format == "parquet":
        write_parquet_result(cfg, text, output, readable)
    else:
        show_result(cfg, text, format, output, readable)


def query_text(config: Config, sql: str | None, file: Path | None, saved: str | None) -> str:
    """The SQL, from exactly one of the argument, --file, --saved or stdin."""
    from openbooks.flows.admin.queries import saved_query

    given = [name for name, value in (("SQL", sql not in (None, "-")), ("--file", file), ("--saved", saved)) if value]
    if len(given) > 1:
        raise OpenbooksError(f"give the SQL one way, not {' and '.join(given)}")
    if saved:
        text = saved_query(config, saved)
    elif file:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise OpenbooksError(f"--file {file}: cannot read ({exc.strerror})")
    elif sql not in (None, "-"):
        text = sql
    elif not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        raise OpenbooksError("no SQL: give it as an argument, with --file, --saved NAME or on stdin")
    if not text.strip():
        raise OpenbooksError("no SQL: the query is empty")
    return text


def write_parquet_result(config: Config, sql: str, output: Path, readable: list[Path]) -> None:
    from openbooks.flows.admin.queries import query_frame, write_output

    frame = query_frame(config, sql, readable)
    write_output(config, output, lambda path: frame.write_parquet(path))
    terminal.say(f"wrote {frame.height} row(s) to {output}")


def show_result(config: Config, sql: str, format: str, output: Path | None, readable: list[Path]) -> None:
    """The result as a table on the terminal, or as text in ``format`` to stdout or ``output``."""
    from openbooks.flows.admin.queries import run_query, write_output

    result = run_query(config, sql, readable)
    zone = ZoneInfo(config.business_day.timezone)
    if format == "table" and output is None:
        terminal.console.print(result_table(result.columns, result.rows, zone, terminal.console.width))
        terminal.say(rows_line(len(result.rows)))
        return
    rendered = {
        "table": lambda: table_text(result.columns, result.rows, zone),
        "csv": lambda: csv_text(result.columns, result.rows),
        "json": lambda: json_text(result.columns, result.rows),
    }[format]()
    if output is None:
        sys.stdout.write(rendered)
        return
    write_output(config, output, lambda path: path.write_text(rendered, encoding="utf-8"))
    terminal.say(f"wrote {len(result.rows)} row(s) to {output}")

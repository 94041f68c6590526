"""The operator's commands: ``status``, ``report``, ``check`` and ``tables``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, app, parse_day
from openbooks.config import DEFAULT_CONFIG, load_config
from openbooks.errors import OpenbooksError


@app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs.")] = 20,
) -> None:
    """The latest runs from run_log: day, status, when, duration, config hash and reason."""
    cfg = load_config(config)
    from openbooks.flows.admin.run_history import SET_MARK, SET_NOTE, STATUS_COLUMNS, recent_runs, zone_note

    rows = recent_runs(cfg, limit)
    if not rows:
        terminal.say("no runs yet: openbooks run --date YYYY-MM-DD")
        return
    # The reason (free text) is a line under the table: the rest fits 80 columns, each cell whole.
    table = terminal.text_table(STATUS_COLUMNS[:-1], [row[:-1] for row in rows],
                                f"last {len(rows)} run(s), newest first; {zone_note(cfg)}")
    fit_80_columns(table)
    terminal.console.print(table)
    if any(row[3].endswith(SET_MARK) for row in rows):
        terminal.say(SET_NOTE)
    for row in rows:
        if row[-1]:
            terminal.say(f"{row[0]} {row[1]} (started {row[2]}): {row[-1]}")


def fit_80_columns(table: Table) -> None:
    """No vertical rules, one space and a rule's gap between columns, no cell wrapped."""
    from rich import box

    table.box, table.show_edge, table.padding = box.SIMPLE_HEAD, False, (0, 1, 0, 0)
    for column in table.columns:
        column.no_wrap = True


@app.command()
def report(
    day: Annotated[str | None, typer.Option(
        "--date", "-d", help="Business day, YYYY-MM-DD; without it, the last published day.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="A period statement from this day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="... to this day (included), YYYY-MM-DD.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="A month's statement, YYYY-MM.")] = None,
    week: Annotated[str | None, typer.Option("--week", help="An ISO week's statement, YYYY-Www.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-F", help="Period statement: md, html, csv, json or focus.")] = "md",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Rebuild a day's report from the published tables, without recomputing it;
    with --start/--end, --month or --week, write that period's statement."""
    if any(v is not None for v in (start, end, month, week)):
        from openbooks.flows.report.period_cli import report_period

        path, note = report_period(config, start=start, end=end, month=month, week=week, fmt=fmt)
        if note:
            terminal.say(note)
        terminal.say(f"statement: {path}")
        return
    cfg = load_config(config)
    from openbooks.flows.admin.report_rebuild import rebuild_report
    from openbooks.flows.admin.run_history import last_published_day

    the_day = parse_day(day) if day is not None else last_published_day(cfg)
    md, html = rebuild_report(cfg, the_day)
    terminal.say(f"report: {md}  {html}")


@app.command()
def check(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Check the config, the sources it points at and the expectation suites; runs nothing."""
    from openbooks.flows.admin.project_check import check_project

    result = check_project(config)
    for line in result.checked:
        terminal.ok_line(line)
    if result.problems:
        raise OpenbooksError("\n".join([f"{len(result.problems)} problem(s):", *result.problems]))
    terminal.say("no problems found")


@app.command()
def tables(
    name: Annotated[str | None, typer.Argument(help="Only this table, e.g. daily_economics or raw.node_log.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-F", help="table, md (Markdown) or compact (one line a column).")] = (
        "table"),
) -> None:
    """The warehouse tables (or one of them): columns, types and what each one holds."""
    from openbooks.flows.admin.table_catalog import table_rows

    if fmt not in ("table", "md", "compact"):
        raise OpenbooksError(f"--format {fmt!r}: expected table, md or compact")
    if fmt != "table":
        for line in catalog_lines(table_rows(name), fmt):
            terminal.say(line)
        return
    table = None
    for table_name, column, type_, description in table_rows(name):
        if table_name:  # a new table: its own grid, titled with its name and what it holds
            if table is not None:
                terminal.console.print(table)
            table = table_grid(table_name, description)
        else:
            table.add_row(Text(column), Text(type_), Text(description))
    terminal.console.print(table)


def catalog_lines(rows, fmt: str) -> list[str]:
    """The catalogue as Markdown tables, or compact: a table's name and what it
    holds, then ``  column TYPE  description`` a line each."""
    lines: list[str] = []
    for table_name, column, type_, description in rows:
        if table_name:
            if fmt == "md":
                lines += [*([""] if lines else []), f"## {table_name}", "", description, "",
                          "| column | type | description |", "| --- | --- | --- |"]
            else:
                lines.append(f"{table_name}: {description}")
        elif fmt == "md":
            escaped = description.replace("|", "\\|")
            lines.append(f"| `{column}` | {type_} | {escaped} |")
        else:
            lines.append(f"  {column} {type_}  {description}")
    return lines


def table_grid(name: str, description: str) -> Table:
    title = Text.assemble((name, "bold"), f": {description}")
    table = Table("column", "type", "description", title=title, title_justify="left")
    table.columns[0].no_wrap = table.columns[1].no_wrap = True
    return table

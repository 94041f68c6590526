"""How ``openbooks query`` shows a result: a table for people, csv or json for programs.

In the table, money is rounded to cents and ratios to four places, by the
column's name (``*_usd``, ``cost``, ``revenue``, ``price``; ``margin``,
``ratio``, ``share``, ``rate``); timestamps are shown in the business
timezone with their offset; every column wraps rather than cutting, and key
columns (days, times, names) keep their whole values. A result too wide for
the terminal shows each row as a block of column/value lines instead. csv, json and Parquet
keep the raw values.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from openbooks.cli.terminal import plain, text_console

MONEY = re.compile(r"usd|cost|revenue|price|dollar")
PERCENT = re.compile(r"pct|percent")
KEY_COLUMNS = frozenset({"day", "model", "role", "channel", "customer_id", "gpu_type", "status", "run_id", "scenario",
                         "figure"})
KEY_WIDTH_CAP = 26  # a key column never squeezed below this (or its longest value)


def rounding(column: str) -> str:
    """The format of a fractional number in ``column``."""
    name = column.lower()
    if PERCENT.search(name):
        return "{:,.1f}"
    if MONEY.search(name):
        return "{:,.2f}"
    return "{:,.4f}"  # ratios (margin, share, rate) and any other fraction


def shown(column: str, value: object, zone: ZoneInfo) -> str:
    """One cell as the table shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (float, Decimal)):
        text = rounding(column).format(value)
        return text.rstrip("0").rstrip(".") if not MONEY.search(column.lower()) and "." in text else text
    if isinstance(value, datetime):
        moment = value.astimezone(zone) if value.tzinfo is not None else value
        return moment.isoformat(sep=" ", timespec="seconds")
    return plain(value, cell=True)  # escape codes in data print as \x1b, never reach the terminal


def is_key(column: str, values: list[object]) -> bool:
    return column.lower() in KEY_COLUMNS or any(isinstance(v, (date, datetime)) for v in values[:1])


def result_table(columns: list[str], rows: list[tuple], zone: ZoneInfo, width: int) -> RenderableType:
    """The rows as a table of text cells that fits ``width`` characters: one
    row per line when the columns fit, else one block of column/value lines
    per row (as ``psql``'s expanded display)."""
    cells = [[shown(c, v, zone) for c, v in zip(columns, row)] for row in rows]
    numeric = [any(isinstance(row[i], (int, float, Decimal)) and not isinstance(row[i], bool) for row in rows)
               for i in range(len(columns))]
    if needed_width(columns, cells) <= width:
        return rows_table(columns, cells, numeric, [is_key(c, [r[i] for r in rows]) for i, c in enumerate(columns)])
    return Group(*(record_table(columns, row, numeric, index) for index, row in enumerate(cells, 1)))


def needed_width(columns: list[str], cells: list[list[str]]) -> int:
    """The narrowest the table reads well: each column as wide as its values
    (at least a short word, at most ``KEY_WIDTH_CAP``), plus the borders."""
    widths = [max([len(row[i]) for row in cells] + [6]) for i in range(len(columns))]
    return sum(min(w, KEY_WIDTH_CAP) + 3 for w in widths) + 1


def rows_table(columns: list[str], cells: list[list[str]], numeric: list[bool], keys: list[bool]) -> Table:
    table = Table()
    for index, column in enumerate(columns):
        widest = max((len(row[index]) for row in cells), default=0)
        table.add_column(Text(plain(column, cell=True)), justify="right" if numeric[index] else "left", overflow="fold",
                         min_width=min(widest, KEY_WIDTH_CAP) if keys[index] else None)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    return table


def record_table(columns: list[str], row: list[str], numeric: list[bool], index: int) -> Table:
    """One row as column/value lines."""
    table = Table(title=Text(f"row {index}"), title_justify="left", show_header=False)
    table.add_column("column", no_wrap=True)
    table.add_column("value", overflow="fold")
    for column, cell in zip(columns, row):
        table.add_row(Text(plain(column, cell=True)), Text(cell))
    return table


def rows_line(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def table_text(columns: list[str], rows: list[tuple], zone: ZoneInfo) -> str:
    """The table as plain text (for ``--format table --output FILE``)."""
    buffer = io.StringIO()
    text_console(file=buffer, width=200, color_system=None).print(result_table(columns, rows, zone, 200))
    return buffer.getvalue() + rows_line(len(rows)) + "\n"


def csv_text(columns: list[str], rows: list[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def json_value(value: object) -> object:
    """A value JSON has no type for: a DECIMAL as a number, anything else as text."""
    return float(value) if isinstance(value, Decimal) else str(value)


def json_text(columns: list[str], rows: list[tuple]) -> str:
    return json.dumps([dict(zip(columns, row)) for row in rows], default=json_value, indent=2) + "\n"

"""Where the command line prints: standard output and standard error, as text.

Both consoles print strings literally: no Rich markup, no ``:emoji:`` codes,
no highlighting. Model names, paths, SQL results and error messages come
from the user's data, and ``[/x] [bold]:x:`` must print as those characters.
Styles are given explicitly with ``rich.text.Text``.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from openbooks.redact import redact

# Control characters (ESC, BEL, CR, ...) print as escapes, so data cannot move the cursor or retitle the terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), *range(0x7f, 0xa0)) if c != 0x0a}
_CONTROL_CELL = {**_CONTROL, 0x0a: "\\n"}


def plain(text: object, *, cell: bool = False) -> str:
    """``text`` as printable plain text: control characters escaped; a
    message's credentials redacted (a table cell is data: shown as it is,
    its newlines escaped too)."""
    return str(text).translate(_CONTROL_CELL) if cell else redact(str(text)).translate(_CONTROL)


def text_console(**options) -> Console:
    """A console that prints text, never markup or emoji codes."""
    return Console(markup=False, emoji=False, highlight=False, **options)


console = text_console()
err = text_console(stderr=True)


def say(message: str) -> None:
    """One line of text on standard output, never wrapped."""
    console.print(plain(message), soft_wrap=True)


def error_lines(message: str) -> None:
    """Each line of ``message`` on standard error after a red ``error:``."""
    for line in message.splitlines() or [""]:
        err.print(Text.assemble(("error:", "red"), " ", plain(line)), soft_wrap=True)


def ok_line(message: str) -> None:
    console.print(Text.assemble(("ok", "green"), " ", plain(message)), soft_wrap=True)


def text_table(columns: Iterable[str], rows: Iterable[Iterable[object]], title: str | None = None) -> Table:
    """A table of plain-text cells (``None`` prints empty)."""
    table = Table(title=None if title is None else Text(title), title_justify="left")
    for column in columns:
        table.add_column(Text(column))
    for row in rows:
        table.add_row(*(Text("" if v is None else plain(v, cell=True)) for v in row))
    return table

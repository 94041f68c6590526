"""How figures and tables are written in reports, in Markdown and in HTML."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class Part:
    """One section of the page: its Markdown, its HTML and its charts (figures, ``charts.figure_html``)."""

    markdown: str = ""
    html: str = ""
    charts: tuple[str, ...] = ()


def format_value(value, fmt: str) -> str:
    """A figure as shown in reports: ``fmt`` applied, ``n/a`` when missing; a
    negative amount in dollars with its sign before the dollar sign (-$361.67)."""
    if value is None:
        return "n/a"
    if fmt.startswith("$") and value < 0:
        return "-" + fmt.format(-value)
    return fmt.format(value)


def figure_rows(daily: dict, figures: tuple[tuple[str, str, str], ...]) -> list[tuple[str, str]]:
    """(label, formatted value) for each (key, label, format) of ``figures``."""
    return [(label, format_value(daily.get(key), fmt)) for key, label, fmt in figures]


def money(value) -> str:
    """Dollars and cents, the sign before the dollar sign."""
    return "n/a" if value is None else f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def number(value) -> str:
    """Ratios with four significant digits, larger figures in whole units."""
    if value is None:
        return "n/a"
    return f"{value:,.4g}" if abs(value) < 100 else f"{value:,.0f}"


def pct(value) -> str:
    return format_value(value, "{:.1%}")


def usd(value) -> str:
    """Whole dollars, the sign before the dollar sign."""
    return format_value(value, "${:,.0f}")


def markdown_text(text: str) -> str:
    """Text from the data as Markdown shows it: HTML characters as entities
    (a model named ``<script>`` stays text), a table's ``|`` escaped."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def markdown_code(text: str) -> str:
    """A name in code style, or as escaped text when backticks would not keep it literal."""
    text = str(text)
    return f"`{text}`" if re.fullmatch(r"[\w .:/@+-]*", text) else markdown_text(text)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(markdown_text(c) for c in cells) + " |"

    lines = [line(header), "|" + "|".join("---" for _ in header) + "|", *(line(row) for row in rows)]
    return "\n".join(lines)


class Link(str):
    """A table cell that links to ``href`` in HTML (in Markdown, its text)."""

    href: str

    def __new__(cls, text: str, href: str):
        cell = str.__new__(cls, text)
        cell.href = href
        return cell


def html_cell(value: str) -> str:
    if isinstance(value, Link):
        return f'<a href="{html.escape(value.href)}">{html.escape(value)}</a>'
    return html.escape(value)


def html_rows(rows: list[list[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{html_cell(c)}</td>" for c in r) + "</tr>" for r in rows)


def csv_link(title: str, header: list[str], rows: list[list[str]]) -> str:
    """The table as shown, as a CSV download inside the page (a data: link: no
    file beside the page, nothing fetched, works offline and without script)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([str(cell) for cell in row] for row in rows)
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "table"
    href = "data:text/csv;charset=utf-8," + quote(buffer.getvalue())
    return f'<p class="csv"><a download="{name}.csv" href="{html.escape(href)}">CSV</a></p>'


def html_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    return (f"<h2>{html.escape(title)}</h2>{csv_link(title, header, rows)}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{html_rows(rows)}</tbody></table>")


def table_part(title: str, header: list[str], rows: list[list[str]]) -> Part:
    """A titled table in both formats."""
    return Part(f"## {title}\n\n" + markdown_table(header, rows), html_table(title, header, rows))

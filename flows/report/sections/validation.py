"""What the run validated, with links to its GX Data Docs pages."""

from __future__ import annotations

import html

from openbooks.flows.report.day import Day
from openbooks.flows.report.format import Part, markdown_text

TABLES = ()


def render(day: Day) -> Part:
    lines, docs = day.context.validation, day.context.data_docs
    markdown = "## Validation\n\n" + "\n".join(f"- {markdown_text(line)}" for line in lines)
    items = "".join(f"<li>{html.escape(v)}</li>" for v in lines)
    if docs:
        markdown += "\n\nGX Data Docs: " + ", ".join(f"[{suite}]({path})" for suite, path in docs.items())
        links = ", ".join(f'<a href="{html.escape(p)}">{html.escape(s)}</a>' for s, p in docs.items())
        items += f"<li>GX Data Docs: {links}</li>"
    return Part(markdown, f"<h2>Validation</h2><ul>{items}</ul>")

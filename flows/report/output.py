"""A day's report written: its Markdown and HTML, and the Vega bundle its charts load."""

from __future__ import annotations

from pathlib import Path

from openbooks.errors import cannot_write
from openbooks.flows.report.assets import write_bundle
from openbooks.flows.report.files import report_paths, write_text_atomically


def write_report(directory: Path, report) -> tuple[Path, Path]:
    """Write a ``Report``'s Markdown and HTML, each atomically, and the site's
    Vega bundle its charts load (``assets``) where it is missing; a directory
    that cannot take them (full, read-only) is an error naming it."""
    paths = report_paths(directory, report.day)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in zip(paths, (report.markdown, report.html)):
            write_text_atomically(path, text)
        write_bundle(directory)
    except OSError as exc:
        raise cannot_write(directory, exc.errno, "reports.dir", exc.strerror or "") from exc
    return paths

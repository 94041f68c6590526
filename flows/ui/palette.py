"""The report's palette (``flows/report/palette.py``) as the stylesheet's custom properties."""

from __future__ import annotations

from openbooks.flows.report.palette import DOWN, SERIES, UP


def css_variables() -> str:
    """The palette as CSS custom properties, ``--c-<quantity>``."""
    lines = [f"  --c-{key.replace('_', '-')}: {colour};" for key, (_, colour) in SERIES.items()]
    lines += [f"  --c-up: {UP};", f"  --c-down: {DOWN};"]
    return ":root {\n" + "\n".join(lines) + "\n}\n"

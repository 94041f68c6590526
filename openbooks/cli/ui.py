"""``openbooks ui``: the read-only web dashboard over the warehouse (see ``flows.ui``)."""

from __future__ import annotations

from typing import Annotated

import typer

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, app
from openbooks.config import DEFAULT_CONFIG, load_config


@app.command()
def ui(
    config: ConfigOption = DEFAULT_CONFIG,
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback needs OPENBOOKS_UI_TOKEN.")] = (
        "127.0.0.1"),
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8765,
) -> None:
    """Serve the dashboard: the books read-only, with filters, drill-downs, charts and CSV, until Ctrl-C.

    Binds 127.0.0.1 unless --host says otherwise; with OPENBOOKS_UI_TOKEN set in
    the environment every request must carry it (Authorization: Bearer, or a
    link opened once with ?token=)."""
    cfg = load_config(config)
    from openbooks.flows.ui.serve import serve_ui

    serve_ui(cfg, host, port, terminal.say)

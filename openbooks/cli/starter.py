"""``openbooks init --kind K``: write a starter config for a source of kind K."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from openbooks.cli import terminal
from openbooks.cli.program import app
from openbooks.config import DEFAULT_CONFIG
from openbooks.errors import OpenbooksError
from openbooks.starters import KINDS, starter


@app.command()
def init(
    kind: Annotated[str, typer.Option("--kind", help=f"The source's kind: {', '.join(KINDS)}.")],
    config: Annotated[Path, typer.Option("--config", "-c", help="Config file to write.")] = DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing config file.")] = False,
) -> None:
    """Write a starter config for a source of KIND, with comments; fill in the
    lines marked FILL IN, then run openbooks check."""
    if kind not in KINDS:
        raise OpenbooksError(f"--kind {kind!r}: expected one of {', '.join(KINDS)}")
    if config.exists() and not force:
        raise OpenbooksError(f"{config}: exists already; --force overwrites it, or -c names another file")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(starter(kind), encoding="utf-8")
    terminal.say(f"wrote {config} (a {kind} source); fill in the lines marked FILL IN, then: "
                 f"openbooks check -c {config}")

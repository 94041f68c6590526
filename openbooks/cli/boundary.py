"""The command line's one error boundary.

An ``OpenbooksError`` prints its message (one ``error:`` line per line) and
exits 1; any other exception prints one line naming its type, and exits 1;
a traceback only with ``--debug``. A usage error prints its own message and
exits 2.
"""

from __future__ import annotations

import sys
import traceback

import typer
from typer.exceptions import TyperException

from openbooks.cli import terminal
from openbooks.cli.program import app
from openbooks.errors import OpenbooksError


def main() -> None:
    sys.exit(run_program(sys.argv[1:]))


def run_program(args: list[str]) -> int:
    """Run the program on ``args``; the exit code."""
    debug = "--debug" in args
    try:
        code = app(args=args, standalone_mode=False)
    except TyperException as exc:  # a usage error: the command line's own message
        if hasattr(exc, "show"):
            exc.show()
        else:
            terminal.error_lines(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        terminal.error_lines("aborted")
        return 130
    except OpenbooksError as exc:
        if debug:
            traceback.print_exc()
        terminal.error_lines(str(exc) or type(exc).__name__)
        return 1
    except Exception as exc:  # noqa: BLE001 - the one error boundary
        if debug:
            traceback.print_exc()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        terminal.error_lines(f"{type(exc).__name__}: {first} (run with --debug for the traceback)")
        return 1
    return code if isinstance(code, int) else 0

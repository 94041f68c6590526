"""The command line's one error boundary.

An ``OpenbooksError`` prints its message (one ``error:`` line per line) and
exits 1; any other exception prints one line naming its type, and exits 1;
a traceback only with ``--debug``. A usage error prints its own message and
exits 2.

The process then ends without the interpreter's teardown of every loaded
module (about a second once GX, pandas and scipy are loaded): ``main``
exits the usual way, so other threads finish and every exit handler runs
(Prefect's, sending its last logs and events, among them), and the last
handler, registered first, flushes the logs and the output and ends the
process there. Nothing is left to write by then: the warehouse is closed
after each statement.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import traceback

import typer
from typer.exceptions import TyperException

from openbooks.cli import terminal
from openbooks.cli.program import app
from openbooks.errors import OpenbooksError


def main(*, end_process: bool = True) -> None:
    """The console entry point: run ``sys.argv`` and exit with its code.

    ``end_process=False`` leaves the interpreter's own ending alone, for a
    caller that goes on after the command (a test session, say): the fast
    ending would otherwise end that caller's process with this command's code.
    """
    ending: list[int] = []
    if end_process:
        atexit.register(_end_process, ending)  # registered first, so it runs last
    code = run_program(sys.argv[1:])
    ending.append(code)
    sys.exit(code)


def _end_process(ending: list[int]) -> None:
    """The last exit handler: logs and output flushed, then the process ends with its code."""
    if not ending:
        return  # main did not return (a signal, an interpreter error): the usual teardown
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(ending[0])


INTERRUPTED = 130  # the shell's code for a command ended by SIGINT


def stop_on_terminate() -> None:
    """SIGTERM ends a command as Ctrl-C does (``KeyboardInterrupt``): the
    run is recorded as interrupted, a query interrupted, and one line said.
    SIGINT does so too even when the command was started in the background by
    a script (``openbooks serve &``): a non-interactive shell starts such a
    job with SIGINT ignored, which Python keeps, so ``kill -INT`` did nothing."""
    import signal
    import threading

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def run_program(args: list[str]) -> int:
    """Run the program on ``args``; the exit code."""
    debug = "--debug" in args
    stop_on_terminate()
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
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, see ``stop_on_terminate``): one line, no traceback
        if debug:
            traceback.print_exc()
        terminal.error_lines("interrupted (Ctrl-C or SIGTERM)")
        return INTERRUPTED
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
    except BaseException as exc:
        if type(exc).__name__ != "TerminationSignal":  # SIGTERM inside a flow run (Prefect's own handler)
            raise
        if debug:
            traceback.print_exc()
        terminal.error_lines("interrupted (Ctrl-C or SIGTERM)")
        return INTERRUPTED
    if code == INTERRUPTED:  # Typer turns Ctrl-C (and SIGTERM, see ``stop_on_terminate``) into a silent 130
        terminal.error_lines("interrupted (Ctrl-C or SIGTERM)")
    return code if isinstance(code, int) else 0

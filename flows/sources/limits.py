"""What a reader's failure says: one line naming the source, its file(s)
and what was expected, whatever the reader raised.

A kind says what is wrong with its input as an ``InputError`` (or a
``Problem``); anything else a reader raises (JSON nested deeper than the
parser goes, a count past what a column holds, a timestamp before year 1
or after 9999, text that is not the JSON or number it should be) is turned
here into ``InputError`` lines of the form
``sources.<name> (<file>): expected <what>, got <what was found>``, so no
raw exception (``RecursionError``, ``OverflowError``, Polars' ``ComputeError``)
reaches the user. The source kind modules raise; this module words it.
"""

from __future__ import annotations

import contextvars
import json
import sys
import threading
import time
from collections.abc import Callable
from datetime import date

from openbooks.errors import InputError, OpenbooksError, SourceUnavailable

DEFAULT_TIMEOUT_SECONDS = 1800.0  # a day's read of one source: past it the run stops with one line
WAITING_EVERY_SECONDS = 30.0  # how often a read still going is reported

def timeout_seconds(source) -> float:
    """``sources.<name>.timeout_seconds``, else ``DEFAULT_TIMEOUT_SECONDS``."""
    return getattr(source, "timeout_seconds", None) or DEFAULT_TIMEOUT_SECONDS


def with_deadline(name: str, seconds: float, read: Callable[[], object],
                  every: float = WAITING_EVERY_SECONDS) -> object:
    """``read()`` on a thread of its own while this one waits: a line every
    ``every`` seconds while it goes on (``waiting for sources.<name> …``),
    ``SourceUnavailable`` once ``seconds`` have passed, and Ctrl-C or
    SIGTERM (``KeyboardInterrupt``) taken at once, however the read is
    stuck (a server sending a byte every few seconds, a locked table). A
    read given up on is left to end with the process; it never publishes."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = read()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome["error"] = exc

    context = contextvars.copy_context()  # the Prefect task's run context, for the kind's logging
    worker = threading.Thread(target=context.run, args=(run,), name=f"openbooks-read-{name}", daemon=True)
    started = time.monotonic()
    worker.start()
    said = started
    while worker.is_alive():
        worker.join(0.1)
        now = time.monotonic()
        if worker.is_alive() and now - started >= seconds:
            raise SourceUnavailable(f"sources.{name}: no answer within sources.{name}.timeout_seconds = {seconds:g} "
                                    "(expected the read to finish; check the server, or raise the deadline)")
        if worker.is_alive() and now - said >= every:
            said = now
            print(f"waiting for sources.{name}: {now - started:.0f} s of {seconds:g} s", file=sys.stderr, flush=True)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


# More GPUs in one job or allocation than any cluster holds: a count past it is a problem of its row.
MAX_GPUS_PER_ROW = 1_000_000

# A count the warehouse's BIGINT (and Polars' Int64) holds: past it a count is a problem of its row.
MAX_COUNT = (1 << 63) - 1

# Python's own parsers stop at about 1,000 levels (RecursionError); a reader refuses more.
MAX_JSON_DEPTH = 512


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _files(config, name: str, day: date) -> str:
    """The day's files of the source (for naming them), or its server."""
    from openbooks.flows.sources.files import display_path, matching_paths
    from openbooks.redact import redact

    source = config.sources.get(name)
    url = getattr(getattr(source, "validated_options", None), "url", None)
    if url:
        return redact(url)
    if not getattr(source, "path", None):
        return ""
    try:
        paths = matching_paths(config, name, day)
    except (OpenbooksError, OSError):
        return ""
    return ", ".join(display_path(p) for p in paths[:3]) + (" …" if len(paths) > 3 else "")


def expected_and_got(exc: BaseException) -> str:
    """What a reader's exception means: ``expected …, got …``."""
    import polars.exceptions as pe

    if isinstance(exc, RecursionError):
        return f"expected JSON nested at most {MAX_JSON_DEPTH} levels deep, got deeper nesting"
    if isinstance(exc, json.JSONDecodeError):
        return f"expected JSON, got {exc.msg.lower()} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, OverflowError):
        return f"expected values within range (counts below 2^63, timestamps between years 1 and 9999), " \
               f"got one out of range ({_first_line(exc)})"
    if isinstance(exc, (pe.ComputeError, pe.InvalidOperationError, pe.SchemaError)):
        return f"expected values of the column types (counts below 2^63, finite numbers), got {_first_line(exc)}"
    if isinstance(exc, UnicodeDecodeError):
        return f"expected UTF-8 text, got byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}"
    if isinstance(exc, MemoryError):
        return "expected a file that fits in memory (lower it under sources.<name>.max_file_bytes), got more"
    return f"expected input its kind can read, got {type(exc).__name__}: {_first_line(exc)}"


def reader_failure(config, name: str, day: date, exc: Exception) -> Exception:
    """``exc`` itself when it already speaks to the user, else one ``InputError`` line naming the source."""
    from openbooks.redact import redact

    if isinstance(exc, OpenbooksError):
        if isinstance(exc, InputError):
            exc.args = tuple(redact(a) if isinstance(a, str) else a for a in exc.args)
        return exc
    files = _files(config, name, day)
    where = f"sources.{name}" + (f" ({files})" if files else "")
    error = InputError(redact(f"{where}: {expected_and_got(exc)}"))
    error.__cause__ = exc
    return error

"""The Prefect API going away while a day runs (its local server killed).

The books never depend on Prefect's API: the day is published, or not, in
the warehouse alone. When the API goes away mid-run, Prefect's client raises
(``httpx.ConnectError`` and the like) although the day may be published.
``api_loss_outcome`` says so in one line, from ``run_log``: the day's state,
and whether the command failed.
"""

from __future__ import annotations

from datetime import date

from openbooks.config import Config

# Prefect's client talks HTTP through httpx: these mean the API is not there any more.
_LOST = ("ConnectError", "ConnectTimeout", "ReadError", "ReadTimeout", "RemoteProtocolError", "PoolTimeout",
         "WriteError", "CloseError")


def is_api_loss(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the Prefect API's connection going away."""
    seen = 0
    while exc is not None and seen < 10:
        if type(exc).__name__ in _LOST and type(exc).__module__.startswith(("httpx", "httpcore")):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def api_loss_outcome(config: Config, day: date, exc: BaseException) -> tuple[bool, str]:
    """(published, one line) for a run of ``day`` whose Prefect API went away:
    the day's last ``run_log`` status says whether its books were published."""
    from openbooks.flows.store.warehouse import session
    from openbooks.redact import redact

    reason = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    try:
        with session(config, read_only=True) as con:
            last = con.execute("SELECT status, run_id FROM run_log WHERE day = ? ORDER BY started_at DESC LIMIT 1",
                               [day]).fetchone()
    except Exception:  # noqa: BLE001 - the warehouse's own error is not this line's
        last = None
    status, run_id = last if last else ("not started", None)
    head = f"the Prefect API went away during the run ({type(exc).__name__}: {reason})"
    if status in ("published", "unchanged"):
        return True, f"{head}; {day} was {status} (run {run_id}): its books are in the warehouse"
    return False, f"{head}; {day} is {status} in run_log: nothing of this run was published"

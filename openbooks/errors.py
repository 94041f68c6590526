"""The errors openbooks raises on purpose.

Every error a user can cause (bad config, bad input, busy warehouse) is an
``OpenbooksError``: the CLI prints its message as one red line and exits 1,
showing a traceback only with ``--debug``. ``transient`` tells the scheduler
whether a retry could help (a file not yet arrived, a locked warehouse) or not
(bad data, a failed expectation).
"""

from __future__ import annotations


class OpenbooksError(Exception):
    """An error whose message is meant for the user, not a traceback."""

    transient: bool = False


class ConfigError(OpenbooksError):
    """A config file that cannot be loaded: names the file and the key."""


class InputError(OpenbooksError):
    """Source data that cannot be used: names the file, row and column."""


class SourceNotFound(InputError):
    """A source matched no file. Retrying helps when files arrive late."""

    transient = True


class ValidationFailed(OpenbooksError):
    """An expectation suite failed; the day was not published."""


class WarehouseBusy(OpenbooksError):
    """Another process holds the warehouse lock."""

    transient = True


class WarehouseError(OpenbooksError):
    """The warehouse file cannot be opened or is not a DuckDB database."""


class DayLocked(OpenbooksError):
    """Another run of the same day holds its lock."""

    transient = True


class SourceUnavailable(InputError):
    """A source server (Prometheus, a database) cannot be reached or read:
    down, refused the credentials, or lacks the metric or table. A retry
    can help once it is back or fixed."""

    transient = True


class OutputError(OpenbooksError):
    """A file openbooks writes (warehouse, report, Data Docs) cannot be
    written: the disk is full or the directory read-only. Names the path."""


_WRITE_HINTS = {
    28: "the disk is full: free space there or point {setting} at another disk",  # ENOSPC
    30: "the file system is read-only: make it writable or point {setting} elsewhere",  # EROFS
    13: "permission denied: make it writable or point {setting} elsewhere",  # EACCES
}


def cannot_write(path, errno: int | None, setting: str, detail: str = "") -> OutputError:
    """``<path>: cannot write (<hint>)`` for an OS error number; ``setting``
    is the config key that chooses the path (``reports.dir``, ``warehouse.path``)."""
    hint = _WRITE_HINTS.get(errno or 0, detail or "check that it is writable, or point {setting} elsewhere")
    return OutputError(f"{path}: cannot write ({hint.format(setting=setting)})")

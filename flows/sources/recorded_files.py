"""Files a kind read itself (saved API answers, scrapes, exports), listed and
recorded the common way: ``sources.<name>.path`` with ``{date}`` filled in,
refused when a match leads outside the declared directory, and one
``raw.files`` row each (path, content hash, size, rows)."""

from __future__ import annotations

import glob
from pathlib import Path

from openbooks.flows.sources.base import DayRequest
from openbooks.flows.sources.files import SourceFile, absolute_pattern, admitted, content_hash, display_path
from openbooks.flows.sources.raw_tables import record_file
from openbooks.flows.store.warehouse import session
from openbooks.errors import SourceNotFound


def listed_files(request: DayRequest) -> list[Path]:
    """The day's files of the source; none is ``SourceNotFound`` (retried while files arrive)."""
    pattern = absolute_pattern(request.config, request.source.path.replace("{date}", request.day.isoformat()))
    paths = sorted(Path(p) for p in glob.glob(str(pattern)) if Path(p).is_file())
    if not paths:
        raise SourceNotFound(f"no {request.name} file for {request.day}: nothing matches "
                             f"sources.{request.name}.path = {display_path(pattern)}")
    return [admitted(p, pattern, request.name, request.source) for p in paths]


def record_files(request: DayRequest, paths: list[Path], rows: dict[Path, int] | None = None,
                 rejected: dict[Path, int] | None = None) -> None:
    """One ``raw.files`` row per file read, in one transaction."""
    if not paths:
        return
    files = [SourceFile(request.name, path, content_hash(path)) for path in paths]
    with session(request.config) as con:
        con.execute("BEGIN")
        try:
            for file in files:
                record_file(con, file, rows=(rows or {}).get(file.path), rejected_rows=(rejected or {}).get(file.path, 0),
                            error=None)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

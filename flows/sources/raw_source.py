"""Reading a source kept in raw tables (openbooks' own node log and token
counts, or any kind whose files map onto a canonical feed column by column):
the day's files listed and hashed, new content loaded into ``raw.<feed>``,
then the day's rows typed. Problems of either step are returned, the rows
they concern already in quarantine."""

from __future__ import annotations

from flows.sources.base import DayRequest, SourceResult
from flows.sources.files import day_files, is_scoped_to_day
from flows.sources.raw_tables import ingest_file
from flows.sources.staging import stage_feed
from flows.warehouse import session


def read_raw_source(request: DayRequest, feed: str) -> SourceResult:
    """The day's canonical ``feed`` frame of source ``request.name``, through ``raw.<feed>``."""
    config, name = request.config, request.name
    files = day_files(config, name, request.day)
    problems, read = [], 0
    with session(config) as con:
        for file in files:
            was_read, file_problems = ingest_file(con, request.source, feed, file, request.run_id)
            read += was_read
            problems += file_problems
        result = SourceResult(None, [f.path for f in files], problems=problems, extra={"files_read": read})
        if problems:
            return result
        result.frame, result.problems = stage_feed(
            con, name, feed, files, day=request.day, day_start=request.start, day_end=request.end,
            run_id=request.run_id, scoped_to_day=is_scoped_to_day(config, name),
        )
    return result

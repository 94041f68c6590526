"""Reading a source kept in raw tables (openbooks' own node log and token
counts, or any kind whose files map onto a canonical feed column by column):
the day's files listed and hashed, new content loaded into ``raw.<feed>``,
then the day's rows typed. Problems of either step are returned, the rows
they concern already in quarantine.

``read_raw_days`` reads many days of one source together (a backfill's
range): every day's files listed, the new ones loaded in as few scans as
their formats allow, every day typed in one pass; each day gets the result a
read of that day alone gives."""

from __future__ import annotations

from datetime import date

from openbooks.flows.sources.base import DayRequest, SourceResult
from openbooks.flows.sources.files import SourceFile, day_files, is_scoped_to_day
from openbooks.flows.sources.raw_tables import ingest_files
from openbooks.flows.sources.staging import StagedDay, stage_feed_days
from openbooks.flows.store.warehouse import session


def read_raw_source(request: DayRequest, feed: str) -> SourceResult:
    """The day's canonical ``feed`` frame of source ``request.name``, through ``raw.<feed>``."""
    found = read_raw_days([request], feed)[request.day]
    if isinstance(found, Exception):
        raise found
    return found


def read_raw_days(requests: list[DayRequest], feed: str) -> dict[date, SourceResult | Exception]:
    """``read_raw_source`` for each of ``requests`` (days of one source, in
    day order): day → its result, or the error that day's read raises."""
    if not requests:
        return {}
    config, name = requests[0].config, requests[0].name
    outcome: dict[date, SourceResult | Exception] = {}
    listed = {}
    for request in requests:
        try:
            listed[request.day] = day_files(config, name, request.day)
        except Exception as exc:  # noqa: BLE001 - that day's own error (no file, a file outside its directory)
            outcome[request.day] = exc
    going = [r for r in requests if r.day in listed]
    with session(config) as con:
        reader: dict[SourceFile, str] = {}  # each file, read for the first day that lists it
        for request in going:
            for file in listed[request.day]:
                reader.setdefault(file, request.run_id)
        answers = dict(zip(reader, ingest_files(con, requests[0].source, feed, list(reader), list(reader.values()))))
        clean = []
        for request in going:
            files = listed[request.day]
            read = sum(answers[f][0] for f in files if reader[f] == request.run_id)
            problems = [p for f in files for p in answers[f][1]]
            result = SourceResult(None, [f.path for f in files], problems=problems,
                                  extra={"files_read": read})
            outcome[request.day] = result
            if not problems:
                clean.append(request)
        staged = stage_feed_days(
            con, name, feed, [StagedDay(r.day, listed[r.day], r.start, r.end, r.run_id) for r in clean],
            scoped_to_day=is_scoped_to_day(config, name),
        ) if clean else {}
    for day, (frame, problems) in staged.items():
        outcome[day].frame, outcome[day].problems = frame, problems
    return {r.day: outcome[r.day] for r in requests}

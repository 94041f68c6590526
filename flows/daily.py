"""The daily flow: one business day's books, as a range of one of the engine
(``flows.range_books.run_days``) inside the flow's own run.

What the flow adds to the engine: its run's name (``books-<day>``, a
scheduled run named after the day it books), a scheduled day when none is
given, a deployment run's wait for its inputs, the failure webhook (its
``on_failure`` hook), the day's run id (the flow run's), and the day's own
error raised, so that the run fails with it. A failed run is recorded in
``run_log`` with its reason and leaves the published tables and the report
as they were.
"""

from __future__ import annotations

import uuid
from datetime import date

from prefect import flow

from openbooks.flows.runtime import schedule
from openbooks.flows.range_books import figures, run_days
from openbooks.config import DEFAULT_CONFIG, Config, load_config
from openbooks.errors import OpenbooksError


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


def run_day(config: Config, day: date, run_id: str | None = None) -> dict:
    """Run one business day end to end (a range of one); returns its
    ``daily_economics`` row with its run id and status, or raises its error."""
    (run,) = run_days(config, [day], run_ids=[run_id or _run_id()])
    if run.error is not None:
        raise run.error
    return figures(run)


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    parameters = flow_run.parameters
    if parameters.get("day"):
        return f"books-{parameters['day']}"
    try:  # a scheduled run: named after the day it books
        config = load_config(parameters.get("config_path", DEFAULT_CONFIG))
        return f"books-{schedule.scheduled_day(config, offset_days=parameters.get('day_offset') or 0)}"
    except OpenbooksError:
        return f"books-scheduled-{schedule.scheduled_time():%Y%m%dT%H%M}"


@flow(name="daily-books", flow_run_name=_flow_run_name, log_prints=True, on_failure=[schedule.report_failure])
def daily_books(day: date | None = None, config_path: str = str(DEFAULT_CONFIG), day_offset: int = 0) -> dict:
    """Compute, validate and publish the books of one business day; without
    a day, the one that ended most recently before the run's scheduled time
    (or ``day_offset`` days before that one). A deployment run first waits
    for its inputs (retrying transient errors)."""
    config = load_config(config_path)
    day = day or schedule.scheduled_day(config, offset_days=day_offset)
    if schedule.is_deployment_run():
        try:
            schedule.wait_for_sources(config, day)
        except OpenbooksError as exc:
            schedule.record_not_started(config, day, _run_id(), f"not started: {exc}")
            raise
    return run_day(config, day)

"""Scheduled runs: which day a run books, waiting for late inputs, and what a
failed run tells the operator.

A scheduled run is given no day: it books the business day that ended most
recently before its *scheduled* time (never the wall clock, so a run that
starts late or is retried books the same day). Before touching the warehouse
it waits for its inputs: ``sources_ready`` is retried with a delay while the
error is transient (a file not yet arrived, a busy warehouse, the day being
run elsewhere) and never otherwise. Runs started at the terminal
(``openbooks run``) are not deployment runs and fail at once instead.
"""

from __future__ import annotations

import sys
import urllib.error
from datetime import UTC, date, datetime

from prefect import task
from prefect.cache_policies import NONE
from prefect.logging import get_logger

from openbooks.flows.runtime.notify import post_webhook, webhook_host
from openbooks.flows.store import failed_runs
from openbooks.flows.stages.compute import day_window
from openbooks.flows.stages.inputs import day_request
from openbooks.flows.sources.files import day_paths
from openbooks.flows.sources.registry import kind_for
from openbooks.flows.store.runlog import RunRecord, finish_run, start_run
from openbooks.flows.store.warehouse import day_lock, ensure_schema, session
from openbooks.config import Config, load_config
from openbooks.errors import OpenbooksError, OutputError
from openbooks.transforms.calendar import booked_day

DAILY_DEPLOYMENT = "daily"  # the deployment `serve` and `deploy` register for the daily flow


def scheduled_time() -> datetime:
    """When the current flow run was scheduled to start (now outside a run)."""
    from prefect.runtime import flow_run

    moment = flow_run.scheduled_start_time
    return datetime.fromtimestamp(moment.timestamp(), UTC)


def scheduled_day(config: Config, moment: datetime | None = None, offset_days: int = 0) -> date:
    """The business day a run scheduled at ``moment`` books (``offset_days``
    before the one that ended most recently)."""
    if offset_days < 0:
        raise OpenbooksError(f"day offset {offset_days}: expected a number of days >= 0")
    moment = moment or scheduled_time()
    return booked_day(moment, config.business_day.timezone, config.business_day.start, offset_days)


def is_deployment_run() -> bool:
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return bool(context and context.flow_run and context.flow_run.deployment_id)


def retry_transient(task, task_run, state, day: date | None = None) -> bool:
    """``retry_condition_fn``: retry only errors marked transient; each retry
    is reported at once (an operator sees a day still waiting for its files):
    logged and, for a ``day``, one line on the run's output, which
    ``openbooks serve`` shows as its own."""
    try:
        state.result()
    except OpenbooksError as exc:
        if exc.transient:  # asked only while retries are left
            delay = _seconds(getattr(task, "retry_delay_seconds", None))
            get_logger("openbooks.schedule").warning("waiting (retrying in %s s): %s", delay, exc)
            if day is not None:
                say(f"{day} waiting (retrying in {delay} s): {exc}")
        return exc.transient
    except Exception:  # noqa: BLE001 - anything else is not ours to retry
        return False
    return False


def _seconds(delay) -> str:
    """A retry delay as Prefect keeps it (a number, or a list of them), as text: ``600``, ``2.5``."""
    if isinstance(delay, (list, tuple)):
        delay = delay[0] if delay else None
    return "?" if delay is None else f"{delay:g}"


def say(line: str) -> None:
    """One line on the run's standard output, past Prefect's print capture
    (a served run's output is serve's)."""
    sys.stdout.write(line.replace("\n", " ") + "\n")
    sys.stdout.flush()


@task(cache_policy=NONE)
def sources_ready(config: Config, day: date) -> dict[str, int]:
    """Every source that reads files has a file for the day, the day is not
    being run elsewhere and the warehouse opens. Returns the files found per
    source (sources read from a server or an API are not counted)."""
    found = {name: len(day_paths(config, name, day)) for name, source in config.sources.named().items()
             if kind_for(source).files}
    window = day_window(config, day)
    for name, source in config.sources.named().items():
        if kind_for(source).ready is not None:  # a server kind: does it answer?
            kind_for(source).ready(day_request(config, name, window, "ready-check"))
    with day_lock(config, day):
        with session(config):
            pass
    return found


def wait_for_sources(config: Config, day: date) -> dict[str, int]:
    """``sources_ready`` with the schedule's retries on transient errors."""
    policy = config.schedule

    def retry(task, task_run, state) -> bool:
        return retry_transient(task, task_run, state, day)

    return sources_ready.with_options(
        retries=policy.retries,
        retry_delay_seconds=policy.retry_delay_seconds,
        retry_condition_fn=retry,
    )(config, day)


def record_not_started(config: Config, day: date, run_id: str, reason: str) -> None:
    """A run that never got going (a scheduled run that gave up waiting, a
    backfill day whose worker process died) still shows in ``run_log`` (and
    ``openbooks status``, and to ``backfill --only-failed``), failed, with the reason."""
    record = RunRecord(run_id, day, str(config.file), config.hash)
    try:
        with session(config) as con:
            ensure_schema(con)
            failed_runs.reserve(config)
            start_run(con, record)
            finish_run(con, record, "failed", reason)
    except OutputError:
        failed_runs.keep(config, record, reason)  # the disk is full: kept beside it, folded in by the next writer
    except OpenbooksError:
        pass  # the warehouse itself is the problem; the run's own error says more


def failure_reason(state) -> str:
    """The one-paragraph reason a run failed, as the CLI would print it."""
    try:
        state.result()
    except OpenbooksError as exc:
        return str(exc)
    except BaseException as exc:  # noqa: BLE001 - describing, not handling
        return f"{type(exc).__name__}: {exc}"
    return state.message or "failed"


def report_failure(flow, flow_run, state) -> None:
    """``on_failure`` hook: log why the run failed and, when
    ``notifications.webhook_url`` is set, post it there."""
    logger = get_logger("openbooks.schedule")
    reason = failure_reason(state)
    parameters = dict(flow_run.parameters or {})
    logger.error("%s failed: %s", flow_run.name, reason)
    try:
        config = load_config(parameters.get("config_path") or "configs/openbooks.yaml")
    except OpenbooksError as exc:
        logger.error("no notification sent: %s", exc)
        return
    url = config.notifications.webhook_url
    if not url:
        return
    payload = {
        "text": f"openbooks: {flow_run.name} failed: {reason}",
        "flow": flow.name,
        "flow_run": flow_run.name,
        "flow_run_id": str(flow_run.id),
        "parameters": parameters,
        "reason": reason,
        "config_hash": config.hash,
    }
    try:
        post_webhook(url, payload, config.notifications.timeout_seconds)
    except (urllib.error.URLError, OSError) as exc:
        from openbooks.redact import redact

        logger.error("notification to %s failed: %s", webhook_host(url), redact(str(exc)))

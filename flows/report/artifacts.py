"""Prefect artifacts: the day's books where the operator already looks.

Each published day leaves two artifacts on its flow run, keyed by day so the
UI keeps a history per key: ``books-<day>`` (the report as Markdown) and
``hourly-<day>`` (the hourly statement as a table).
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import task
from prefect.cache_policies import NONE

from openbooks.flows.report.page import Report
from openbooks.flows.report.sections import hourly as hourly_section


def artifact_keys(day: date | str) -> tuple[str, str]:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    stamp = str(day).replace("_", "-").lower()
    return f"books-{stamp}", f"hourly-{stamp}"


@task(cache_policy=NONE)
def publish_artifacts(rendered: Report, hourly: pl.DataFrame, timezone: str) -> tuple[str, str]:
    """The day's report as a markdown artifact and its hourly table as a table artifact; their keys."""
    post_days_artifacts([(rendered, hourly)], timezone)
    return artifact_keys(rendered.day)


def post_days_artifacts(days: list[tuple[Report, pl.DataFrame]], timezone: str, at_once: int = 4) -> None:
    """The two artifacts of each day of a range, through one API client,
    ``at_once`` at a time, on the calling run (not a task run a day: the
    API's round trips are all the work there is)."""
    from concurrent.futures import ThreadPoolExecutor

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate
    from prefect.utilities.context import get_task_and_flow_run_ids

    task_run_id, flow_run_id = get_task_and_flow_run_ids()
    requests = [
        ArtifactCreate(type=kind, key=key, description=description, data=data, task_run_id=task_run_id,
                       flow_run_id=flow_run_id)
        for rendered, hourly in days
        for kind, key, description, data in artifact_contents(rendered, hourly, timezone)
    ]
    with get_client(sync_client=True) as client, ThreadPoolExecutor(
            max_workers=at_once, thread_name_prefix="openbooks-artifacts") as pool:
        for done in [pool.submit(client.create_artifact, request) for request in requests]:
            done.result()


def artifact_contents(rendered: Report, hourly: pl.DataFrame, timezone: str) -> list[tuple[str, str, str, str]]:
    """(type, key, description, data) of the day's two artifacts, as Prefect's
    ``create_markdown_artifact`` and ``create_table_artifact`` send them."""
    from prefect.artifacts import TableArtifact

    books_key, hourly_key = artifact_keys(rendered.day)
    table = [dict(zip(hourly_section.HEADER, row)) for row in hourly_section.rows(hourly, timezone)]
    return [
        ("markdown", books_key, f"openbooks: the books of {rendered.day}", rendered.markdown),
        ("table", hourly_key, f"openbooks: hourly statement of {rendered.day} ({timezone})",
         TableArtifact(table=table).format(_sync=True)),
    ]

"""Prefect artifacts: the day's books where the operator already looks.

Each published day leaves two artifacts on its flow run, keyed by day so the
UI keeps a history per key: ``books-<day>`` (the report as Markdown) and
``hourly-<day>`` (the hourly statement as a table).
"""

from __future__ import annotations

from datetime import date

import polars as pl
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NONE

from flows.report.page import Report
from flows.report.sections import hourly as hourly_section


def artifact_keys(day: date | str) -> tuple[str, str]:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    stamp = str(day).replace("_", "-").lower()
    return f"books-{stamp}", f"hourly-{stamp}"


@task(cache_policy=NONE)
def publish_artifacts(rendered: Report, hourly: pl.DataFrame, timezone: str) -> tuple[str, str]:
    """The day's report as a markdown artifact and its hourly table as a table artifact."""
    return post_artifacts(rendered, hourly, timezone)


def post_days_artifacts(days: list[tuple[Report, pl.DataFrame]], timezone: str, at_once: int = 8) -> None:
    """``post_artifacts`` for each day of a range, ``at_once`` at a time, on
    the calling flow run (not a task run a day: the API's round trips are all
    the work there is)."""
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="openbooks-artifacts") as pool:
        posted = [pool.submit(copy_context().run, post_artifacts, rendered, hourly, timezone)
                  for rendered, hourly in days]
        for done in posted:
            done.result()


def post_artifacts(rendered: Report, hourly: pl.DataFrame, timezone: str) -> tuple[str, str]:
    """The day's two artifacts (see the module's docstring), on the current run."""
    books_key, hourly_key = artifact_keys(rendered.day)
    create_markdown_artifact(
        markdown=rendered.markdown, key=books_key, description=f"openbooks: the books of {rendered.day}"
    )
    create_table_artifact(
        table=[dict(zip(hourly_section.HEADER, row)) for row in hourly_section.rows(hourly, timezone)],
        key=hourly_key,
        description=f"openbooks: hourly statement of {rendered.day} ({timezone})",
    )
    return books_key, hourly_key

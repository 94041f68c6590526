"""Posting a published day's anomalies to ``notifications.webhook_url``."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import polars as pl

from openbooks.flows.report.anomaly_lines import descriptions


def post_webhook(url: str, payload: dict[str, Any], timeout: float) -> int:
    """POST ``payload`` as JSON; returns the HTTP status."""
    request = urllib.request.Request(
        url, data=json.dumps(payload, default=str).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "openbooks"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the operator's URL
        return response.status


def webhook_host(url: str) -> str:
    """The webhook as it may be printed: its host only (its path often holds the token)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}" + (f":{parts.port}" if parts.port else "")


def notify(config, anomalies: pl.DataFrame) -> str | None:
    """Post a published day's anomalies to ``notifications.webhook_url`` when
    one is set; returns why it could not be posted (never raises)."""
    url = config.notifications.webhook_url
    if anomalies.is_empty() or not url:
        return None
    lines = descriptions(anomalies)
    payload = {"text": "openbooks anomalies:\n" + "\n".join(lines), "day": str(anomalies["day"][0]),
               "anomalies": anomalies.to_dicts(), "config_hash": config.hash}
    try:
        post_webhook(url, payload, config.notifications.timeout_seconds)
    except (OSError, ValueError) as exc:  # URLError is an OSError; an anomaly never fails a run
        from openbooks.redact import redact

        return redact(f"anomalies not posted to the webhook at {webhook_host(url)}: {exc}")
    return None

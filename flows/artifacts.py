"""Moved to ``flows.report.artifacts``; kept so existing imports keep working."""

from flows.report.artifacts import artifact_keys, publish_artifacts  # noqa: F401

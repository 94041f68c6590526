"""The OpenAI usage dashboard's CSV export, read as Usage API results.

The dashboard's Export (platform.openai.com/usage, "Activity") writes the
``usage/completions`` results as CSV: ``start_time``, ``end_time`` (Unix
seconds), ``start_time_iso``, ``end_time_iso``, ``project_id``,
``num_model_requests``, ``user_id``, ``api_key_id``, ``model``, ``batch``,
``service_tier``, ``input_tokens``, ``output_tokens``,
``input_cached_tokens``, ``input_uncached_tokens`` and per-modality counts;
one row per bucket and group (e.g. per project), every count written as a
decimal (``19.0``), and a bucket without usage as a row whose fields after
the times are empty. Each row becomes a (bucket, result) pair as the JSON
pages give them, numbered by its line (the header is line 1).
"""

from __future__ import annotations

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from openbooks.flows.sources.files import display_path
from openbooks.errors import InputError

EMPTY = "bucket without usage (an empty row of the export)"
TIMES = ("start_time", "end_time")
COUNTS = ("input_tokens", "input_cached_tokens", "output_tokens", "num_model_requests")
REQUIRED = (*TIMES, "model", *COUNTS)
GROUPS = ("project_id", "user_id", "api_key_id", "batch", "service_tier")


def number(text: str | None):
    """``19.0`` as 19; empty as None; anything else (not whole, not a number) as written, to be refused."""
    if text is None or text.strip() == "":
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return text
    return int(value) if value.is_finite() and value == value.to_integral_value() else text


def bucket_and_result(row: dict) -> tuple[dict, dict]:
    bucket = {"object": "bucket", **{t: number(row.get(t)) for t in TIMES}}
    result = {"object": "organization.usage.completions.result", "model": (row.get("model") or "").strip() or None,
              **{c: number(row.get(c)) for c in COUNTS},
              **{g: (row.get(g) or "").strip() or None for g in GROUPS}}
    return bucket, result


def is_empty(row: dict) -> bool:
    return all((row.get(c) or "").strip() == "" for c in ("model", *COUNTS))


def results(path: Path, delimiter: str = ",") -> tuple[list[tuple[int, tuple[dict, dict]]], int]:
    """The export's (line, (bucket, result)) pairs and how many empty rows were left out."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle, delimiter=delimiter)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{display_path(path)}: not a readable usage export ({exc})") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError(f"{display_path(path)} line 1 column {missing[0]}: missing column(s) "
                         f"{', '.join(missing)}; expected the usage dashboard's export of completions "
                         f"(columns {', '.join(REQUIRED)}, ...)")
    paired = [(line, bucket_and_result(row)) for line, row in enumerate(rows, 2) if not is_empty(row)]
    return paired, len(rows) - len(paired)

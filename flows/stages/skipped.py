"""Rows the sources left out on purpose, said on the console and weighed.

Each source's skipped rows are one line per reason, with the GPU-hours and
node-hours they held when they held any (a GPU job matching no rule). Rows
that only repeat others (Slurm job steps, a job or allocation seen in two
exports) and rows outside the day are not dropped data: they hold none.
A source whose left-out GPU-hours pass ``sources.<name>.max_skipped_share``
(default 5%) of its GPU-hours of the day fails the day, naming the source."""

from __future__ import annotations

from openbooks.flows.sources.base import SourceResult


def skipped_lines(results: dict[str, SourceResult]) -> list[str]:
    """One line per source and reason: rows left out, and the hours they held."""
    lines = []
    for name, result in results.items():
        held = result.extra.get("skipped_hours", {})
        for reason, count in sorted(result.skipped.items()):
            if not count:
                continue
            gpu_hours, node_hours = held.get(reason, (0.0, 0.0))
            hours = (f" ({node_hours:,.2f} node-hours, {gpu_hours:,.2f} GPU-hours)" if node_hours is not None
                     else f" ({gpu_hours:,.2f} GPU-hours)") if gpu_hours else ""
            lines.append(f"sources.{name}: {count} row(s) skipped: {reason}{hours}")
    return lines


def skipped_share(result: SourceResult) -> tuple[float, float] | None:
    """(GPU-hours left out, their share of the source's GPU-hours with them), or None when none held any."""
    left_out = sum(gpu for gpu, _ in result.extra.get("skipped_hours", {}).values())
    if not left_out:
        return None
    return left_out, left_out / (left_out + float(result.extra.get("gpu_hours", 0.0)))


def share_problems(config, results: dict[str, SourceResult]) -> list[str]:
    """A line per source whose left-out GPU-hours pass its ``max_skipped_share``."""
    problems = []
    for name, result in results.items():
        found = skipped_share(result)
        limit = config.sources.get(name).skipped_share_limit
        if found is not None and found[1] > limit:
            problems.append(
                f"sources.{name}: {found[0]:,.2f} GPU-hours left out on purpose ({found[1]:.1%} of the source's "
                f"GPU-hours of the day; expected at most {limit:.1%}, sources.{name}.max_skipped_share): "
                f"map them with options.rules, or raise the share if leaving them out is meant")
    return problems

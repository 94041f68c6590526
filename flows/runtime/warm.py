"""Start-up work taken off a run's critical path.

Two first uses are slow in a fresh process: importing Great Expectations
(with pandas and scipy, ~3 s of one core), which the first validation needs,
and the chart renderer's first drawing (vl-convert starting its JavaScript
engine, ~0.5 s, outside Python's lock). ``warm_up`` begins both in
background threads when a run starts, so they proceed while the run reads
its inputs: the reading is DuckDB and Prefect API calls, which leave Python
free. Whoever needs either later simply waits for it (Python's import lock;
vl-convert's own). Nothing drawn or validated depends on it.
"""

from __future__ import annotations

import threading

_started = threading.Event()

# The smallest chart vl-convert draws: its first drawing starts the engine.
_TINY_CHART = '{"mark": "point", "data": {"values": [{}]}}'


def warm_up(*, charts: bool = True) -> None:
    """Begin importing GX and starting the chart renderer (unless this
    process draws no ``charts``), once per process."""
    if _started.is_set():
        return
    _started.set()
    from openbooks.flows.checks import validate

    targets = [(_start_chart_renderer, "charts")] if charts else []
    if not validate.runs_elsewhere():  # else the worker process suites run in imports GX, not this one
        targets.append((_import_validation, "gx"))
    for target, name in targets:
        threading.Thread(target=target, name=f"openbooks-warm-{name}", daemon=True).start()


def _import_validation() -> None:
    try:
        import great_expectations  # noqa: F401
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration  # noqa: F401
    except BaseException:  # noqa: BLE001 - a warm-up never fails a run: the real import will say what is wrong
        pass


def _start_chart_renderer() -> None:
    try:
        import vl_convert

        vl_convert.vegalite_to_svg(_TINY_CHART)
    except BaseException:  # noqa: BLE001 - as above
        pass

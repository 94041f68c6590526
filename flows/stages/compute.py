"""Compute: the day's books from its staged inputs.

The data walks one way: the config is compiled into frames once
(``openbooks/config/frames.py``), the transforms run over them and the day's logs in one
pass (``transforms/books.py``), and the frames that come out are validated
and published (``flows/daily.py``, ``flows/store/publish.py``).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from openbooks.config import Config
from openbooks.config.frames import compile_frames, hardware_frame, plausibility_bounds
from openbooks.flows.stages.scenarios import books_scenarios
from openbooks.flows.store.books import Books, DayWindow
from openbooks.transforms import books as day_books
from openbooks.transforms import calendar, capacity, checks, customers, models, plausibility, waterfall
from openbooks.transforms.inputs import DayInputs


def day_window(config: Config, day: date) -> DayWindow:
    start, end = calendar.day_window(day, config.business_day.timezone, config.business_day.start)
    return DayWindow(day, start, end)


def day_inputs(config: Config, window: DayWindow) -> DayInputs:
    return compile_frames(config, window.day, window.start, window.end)


def flag_node_log(window: DayWindow, node_log: pl.DataFrame, *, replicas_summed: bool = False,
                  config: Config | None = None) -> pl.DataFrame:
    """The node log flagged for its suite; with ``config``, rows giving
    ``gpus`` instead of ``nodes`` get their nodes (``capacity.nodes_from_gpus``)
    before the suite checks them; with ``replicas_summed`` overlapping rows
    of one model, role and GPU type are replicas (summed, not rejected)."""
    if config is not None:
        node_log = capacity.nodes_from_gpus(node_log, hardware_frame(config))
    return checks.flag_node_rows(node_log, window.start, window.end, replicas_summed=replicas_summed)


def token_counts(window: DayWindow, staged: pl.DataFrame | None, from_requests: pl.DataFrame | None) -> pl.DataFrame:
    """The day's token counts, flagged: the staged ``token_counts`` rows and
    the request logs' hourly totals (either may be absent, not both)."""
    frames = [f for f in (staged, from_requests) if f is not None]
    if len(frames) > 1:
        frames[1] = frames[1].select(frames[0].columns)
    return checks.flag_token_rows(pl.concat(frames, how="vertical_relaxed"), window.start, window.end)


def books_of_day(config: Config, window: DayWindow, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                 invoices: pl.DataFrame | None = None) -> Books:
    """The day's statements, node-count step function and economics in depth;
    with ``invoices`` (the day's invoiced GPU charges, ``invoices_of``) the
    invoiced GPU cost and its check against the declared rates too."""
    inputs = day_inputs(config, window)
    result = day_books.compute_day(inputs, node_log, token_counts, invoices)
    return Books(window, node_log, token_counts, result.hourly, result.daily, result.steps, result.waterfall,
                 result.scenarios, result.cost_breakdown, result.claims_audit, models=result.models, inputs=inputs,
                 billed_prices=result.prices.billed, gpu_cost_check=result.gpu_cost_check,
                 plausibility=plausibility_of(config, inputs, node_log, token_counts, result.prices.hours),
                 scenario_economics=books_scenarios(config, result.daily, result.hourly, result.models,
                                                    result.scenarios),
                 capacity=result.capacity)


def plausibility_of(config: Config, inputs, node_log: pl.DataFrame, token_counts: pl.DataFrame,
                    hours: pl.DataFrame) -> pl.DataFrame | None:
    """The plausibility gate's frame of the day (None when ``plausibility.enabled`` is off)."""
    if not config.plausibility.enabled:
        return None
    nodes = capacity.clip_to_day(capacity.nodes_from_gpus(node_log, inputs.hardware), inputs.day_start, inputs.day_end)
    tokens = token_counts.filter(pl.col("within_day")) if "within_day" in token_counts.columns else token_counts
    outside = sorted({*config.plausibility.outside_fleet, *hosted_models(config, inputs.day, tokens)})
    return plausibility.hourly_throughput(nodes, tokens, hours, inputs.hardware, plausibility_bounds(config), outside)


HOSTED_KINDS = ("openai_usage",)  # token sources of usage served outside the fleet (a hosted API)


def hosted_models(config: Config, day: date, tokens: pl.DataFrame) -> list[str]:
    """Models whose tokens all come from hosted-API sources (``HOSTED_KINDS``): outside the gate."""
    import fnmatch

    from openbooks.flows.sources.files import day_pattern

    patterns = [str(day_pattern(config, name, day)) for name, source in config.sources.named().items()
                if source.kind in HOSTED_KINDS and source.path]
    if not patterns or "source_file" not in tokens.columns:
        return []
    files = tokens["source_file"].unique().drop_nulls().to_list()
    hosted_files = [f for f in files if any(fnmatch.fnmatch(f, p) for p in patterns)]
    by_model = tokens.group_by("model").agg(hosted=pl.col("source_file").is_in(hosted_files).all())
    return sorted(by_model.filter(pl.col("hosted"))["model"].to_list())


def invoices_of(results: dict) -> pl.DataFrame | None:
    """The day's invoiced GPU charges of every source that has them
    (``SourceResult.extra["invoiced_cost"]``, the FOCUS kind); None without any."""
    frames = [r.extra["invoiced_cost"] for r in results.values() if "invoiced_cost" in getattr(r, "extra", {})]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


def api_spend_of(results: dict) -> pl.DataFrame | None:
    """The day's hosted-API spend of every source that has it
    (``SourceResult.extra["api_spend"]``, OpenAI's Costs API); None without any."""
    frames = [r.extra["api_spend"] for r in results.values() if "api_spend" in getattr(r, "extra", {})]
    return pl.concat(frames, how="vertical_relaxed") if frames else None


compute_books = books_of_day  # the name flows/daily.py calls




def customer_books(config: Config, books: Books, usage: pl.DataFrame) -> pl.DataFrame:
    """``customer_economics`` of the day: request-level usage priced at the
    billed price of each price period, and costed by role."""
    inputs = books.inputs or day_inputs(config, books.window)
    billed = books.billed_prices if books.billed_prices is not None else day_books.day_prices(inputs).billed
    priced = customers.billed_revenue(usage, billed, card=inputs.card, billable_channels=list(inputs.billable_channels))
    prefill, decode = customers.role_costs(books.daily)
    return customers.customer_economics(priced, prefill_cost_usd=prefill, decode_cost_usd=decode,
                                        unsplit_cost_usd=customers.unsplit_cost_usd(books.daily)).with_columns(
        day=pl.lit(books.window.day)
    )


def checked_frames(waterfall_table: pl.DataFrame, breakdown: pl.DataFrame, model_rows: pl.DataFrame | None = None,
                   daily: pl.DataFrame | None = None) -> tuple[tuple[str, pl.DataFrame], ...]:
    """Result frames the GX suites of the same name check: the waterfall
    reconciled per model (steps against billed revenue), the cost lines and,
    given the day, the models reconciled with it (their costs and revenues
    against the day's)."""
    checked = (("revenue_waterfall", waterfall.reconcile(waterfall_table)), ("cost_breakdown", breakdown))
    if model_rows is not None and daily is not None:
        checked += (("model_economics", models.reconcile(model_rows, daily)),)
    return checked

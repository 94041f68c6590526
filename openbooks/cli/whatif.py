"""What if and what next: ``openbooks whatif`` (scenarios on published days,
the long view by quarter) and ``openbooks forecast`` (the month ahead)."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import polars as pl
import typer

from openbooks.cli import terminal
from openbooks.cli.program import ConfigOption, app, parse_day
from openbooks.config import DEFAULT_CONFIG, Config, ScenarioSpec, load_config
from openbooks.errors import OpenbooksError

FORMATS = ("table", "json", "csv")
SHOWN = {  # the table's columns, named short enough to fit a terminal (json and csv keep every column)
    "scenario": "scenario", "model": "model", "gpu_type": "gpu", "avg_nodes": "nodes", "peak_nodes": "peak",
    "gpu_cost_usd": "cost_usd", "revenue_usd": "revenue_usd", "billed_revenue_usd": "billed_usd",
    "gross_margin": "margin", "billed_gross_margin": "billed_margin", "cost_per_million_input_usd": "usd_per_m_in",
    "cost_per_million_output_usd": "usd_per_m_out",
}
MEASURED = "measured"


def parse_month(value: str) -> tuple[date, date]:
    """``YYYY-MM`` as its first and last day."""
    if not re.fullmatch(r"\d{4}-\d{2}", value):
        raise OpenbooksError(f"--month {value!r}: expected a month as YYYY-MM")
    first = date.fromisoformat(f"{value}-01")
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def period(day: str | None, month: str | None, start: str | None, end: str | None) -> tuple[date, date]:
    """The days asked for: one of --date, --month, or --start with --end."""
    given = [day is not None, month is not None, start is not None or end is not None]
    if sum(given) != 1 or (given[2] and (start is None or end is None)):
        raise OpenbooksError("give one of --date D, --month YYYY-MM, or --start D with --end D")
    if day is not None:
        return parse_day(day), parse_day(day)
    if month is not None:
        return parse_month(month)
    first, last = parse_day(start, "--start"), parse_day(end, "--end")
    if last < first:
        raise OpenbooksError(f"--end {end} is before --start {start}")
    return first, last


def parse_quarters(value: str) -> int:
    match = re.fullmatch(r"(\d+)q", value.strip().lower())
    if not match or not 1 <= int(match.group(1)) <= 40:
        raise OpenbooksError(f"--horizon {value!r}: expected quarters ahead as Nq, e.g. 4q")
    return int(match.group(1))


def show(frame: pl.DataFrame, format: str, config: Config, title: str) -> None:
    """A result as a table (money to the cent, ratios to four places), json or csv."""
    from openbooks.cli.query_display import csv_text, json_text, result_table

    columns, rows = frame.columns, frame.rows()
    if format == "json":
        terminal.console.out(json_text(columns, rows), end="", highlight=False)
    elif format == "csv":
        terminal.console.out(csv_text(columns, rows), end="", highlight=False)
    else:
        terminal.say(title)
        zone = ZoneInfo(config.business_day.timezone)
        terminal.console.print(result_table(columns, rows, zone, terminal.console.width))


def chosen(config: Config, name: str | None, overrides: dict) -> list:
    """The scenarios asked for, after the day as measured: --scenario NAME
    (flags override its keys), the flags alone, or every declared one."""
    from openbooks.catalogue import declared_scenarios, scenario
    from openbooks.transforms.whatif import Scenario

    overrides = {k: v for k, v in overrides.items() if v is not None}
    if name is not None and name not in config.whatif.scenarios:
        raise OpenbooksError(f"--scenario {name!r}: not among whatif.scenarios {list(config.whatif.scenarios)}")
    if name is not None or overrides:
        base = config.whatif.scenarios[name].model_dump(exclude_defaults=True) if name else {}
        spec = ScenarioSpec(**(base | overrides))
        label = (name or "ad hoc") if not (name and overrides) else f"{name} (with flags)"
        found = [scenario(config, label, spec)]
    else:
        found = declared_scenarios(config)
    return [Scenario(MEASURED), *found]


def scenario_results(config: Config, scenarios: list, first: date, last: date) -> pl.DataFrame:
    """Every scenario on the published days from ``first`` to ``last``, summed over them."""
    from openbooks.flows.store.warehouse import session
    from openbooks.flows.stages.scenarios import published_days, whatif_days
    from openbooks.transforms.whatif import period_totals

    with session(config, read_only=True) as con:
        days = published_days(con, first, last)
    if not days:
        raise OpenbooksError(f"no published day from {first} to {last}: run them first (openbooks run --date D)")
    return period_totals(whatif_days(config, scenarios, days))


@app.command()
def whatif(
    day: Annotated[str | None, typer.Option("--date", "-d", help="A published business day, YYYY-MM-DD.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="Every published day of a month, YYYY-MM.")] = None,
    start: Annotated[str | None, typer.Option("--start", help="First day of a range, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Last day of a range, YYYY-MM-DD (included).")] = None,
    scenario: Annotated[str | None, typer.Option("--scenario", help="A scenario of whatif.scenarios.")] = None,
    gpu: Annotated[str | None, typer.Option("--gpu", help="A hardware profile (catalogue or whatif.profiles) "
                                                          "or a GPU type under hardware.")] = None,
    rental: Annotated[float | None, typer.Option("--rental", help="Rental, USD per GPU-hour.")] = None,
    input_tps: Annotated[float | None, typer.Option("--input-tps", help="Input tokens per GPU-second (prefill).")] = None,
    output_tps: Annotated[float | None, typer.Option("--output-tps", help="Output tokens per GPU-second (decode).")] = None,
    throughput_factor: Annotated[float | None, typer.Option(
        "--throughput-factor", help="Throughput relative to the measured (2 = twice as fast).")] = None,
    price_factor: Annotated[float | None, typer.Option("--price-factor", help="On list prices: 0.4 is 60% off.")] = None,
    card: Annotated[str | None, typer.Option("--card", help="Another price card of price_book.cards.")] = None,
    cache_hit_rate: Annotated[float | None, typer.Option("--cache-hit-rate", help="Cache hit rate, 0 to 1.")] = None,
    lend_idle: Annotated[bool | None, typer.Option("--lend-idle/--no-lend-idle",
                                                   help="Idle capacity lent to training (as measured) or not.")] = None,
    horizon: Annotated[str | None, typer.Option("--horizon", help="The long view, quarters ahead: 4q.")] = None,
    format: Annotated[str, typer.Option("--format", "-F", help="table, json or csv.")] = "table",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """The measured workload of published days on other hardware and at other prices; with --horizon, by quarter."""
    if format not in FORMATS:
        raise OpenbooksError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    cfg = load_config(config)
    first, last = period(day, month, start, end)
    overrides = {"profile": gpu, "rental_usd_per_gpu_hour": rental, "input_tokens_per_gpu_second": input_tps,
                 "output_tokens_per_gpu_second": output_tps, "throughput_factor": throughput_factor,
                 "price_factor": price_factor, "card": card, "cache_hit_rate": cache_hit_rate,
                 "lend_idle_to_training": lend_idle}
    try:
        totals = scenario_results(cfg, chosen(cfg, scenario, overrides), first, last)
    except ValueError as exc:  # a scenario's card not priced on the published days, a value out of range
        raise OpenbooksError(str(exc).splitlines()[0]) from exc
    span = str(first) if first == last else f"{first} to {last}"
    if horizon is not None:
        show(long_view(cfg, totals, parse_quarters(horizon)), format, cfg, f"openbooks whatif {span}, by quarter "
             f"(list prices -{cfg.whatif.horizon.list_price_decline:.0%} a year, rental "
             f"-{cfg.whatif.horizon.rental_decline:.0%} a year)")
        return
    days = int(totals["days"][0])
    show(table_rows(totals) if format == "table" else totals.drop("hours"), format, cfg,
         f"openbooks whatif {span} ({days} published day{'s' if days != 1 else ''})")


def table_rows(totals: pl.DataFrame) -> pl.DataFrame:
    """The table's view: short names, no idle row where nothing is idle."""
    from openbooks.transforms.whatif import UNATTRIBUTED

    kept = totals.filter((pl.col("model") != UNATTRIBUTED) | (pl.col("node_hours") > 0))
    return kept.select(pl.col(name).alias(short) for name, short in SHOWN.items())


def long_view(config: Config, totals: pl.DataFrame, quarters: int) -> pl.DataFrame:
    from openbooks.transforms.whatif import horizon

    declines = config.whatif.horizon
    return horizon(totals, quarters, list_price_decline=declines.list_price_decline,
                   rental_decline=declines.rental_decline)


@app.command()
def forecast(
    month: Annotated[str, typer.Option("--month", help="The month to project, YYYY-MM.")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="Project from the days published up to this day, "
                                                               "YYYY-MM-DD (default: every published day).")] = None,
    model: Annotated[str, typer.Option("--model", help="A model of model_economics, or all.")] = "all",
    format: Annotated[str, typer.Option("--format", "-F", help="table, json or csv.")] = "table",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """A month's GPU cost, revenue and margins projected from the days published so far (run rate, day-of-week
    shape, 90% interval)."""
    if format not in FORMATS:
        raise OpenbooksError(f"--format {format!r}: expected one of {', '.join(FORMATS)}")
    cfg = load_config(config)
    first, last = parse_month(month)
    from openbooks.flows.admin.forecast import month_forecast

    projected = month_forecast(cfg, first, last, None if as_of is None else parse_day(as_of, "--as-of"), model)
    row = projected.row(0, named=True)
    money = pl.col("figure").str.ends_with("_usd")
    shown = projected.select("figure", *[pl.when(money).then(pl.col(c).round(2)).otherwise(pl.col(c).round(4))
                                         for c in ("so_far", "projected", "low", "high")]) if format == "table" \
        else projected
    show(shown, format, cfg, f"openbooks forecast {month} ({model}): {row['days_published']} day(s) published, "
         f"{row['days_projected']} projected, from the {row['basis_days']} day(s) {row['basis_first_day']} to "
         f"{row['basis_last_day']}; low and high: 90% interval")

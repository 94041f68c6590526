"""What if: a published day's measured workload re-costed and re-priced.

A ``Scenario`` keeps the day's tokens (by model and hour, cache hits and
misses, output) and changes what serves and prices them: another hardware
profile (GPUs per node, rental per GPU-hour, throughput per GPU-second,
absolute or relative to what the fleet measured), a factor on list prices or
another price card, another cache hit rate, or idle capacity kept instead of
lent to training. Everything is computed from the published tables:
``daily_economics`` (one row), ``hourly_economics`` (the node curve),
``model_economics`` (tokens and node-hours per model), ``revenue_scenarios``
(the day's revenue on each card) and the price cards' list prices.

GPU time by role, per model (and per hour for the node curve):
- absolute throughput: prefill GPU-seconds = input tokens / input tokens per
  GPU-second, decode = output tokens / output tokens per GPU-second (a model
  measured with ``serving`` node-hours is then costed as disaggregated);
- relative: the measured GPU-seconds of each role / ``throughput_factor``.
A cache hit costs no prefill compute: at another hit rate prefill GPU time
scales by cache-miss tokens (new / measured). Idle GPU time scales with the
working GPU time; with ``lend_idle_to_training`` off, the node-hours lent to
training are idle instead, and paid for. Node-hours are GPU-seconds / (GPUs
per node × 3,600); cost is GPU-hours × rental (``cost.rental_usd``).

Revenue per model: on the day's own card, the published theoretical and
billed revenue plus what the changed cache hits change at the list price in
force at the day's start (billed: scaled by the model's billed / list share,
so free channels and time-of-day rules keep their weight); on another card,
the tokens at that card's list price for the model, billed at the card's
billed / list share of the day (``revenue_scenarios``). Then × ``price_factor``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from openbooks.transforms.cost import rental_usd
from openbooks.transforms.efficiency import SECONDS_PER_HOUR
from openbooks.transforms.pricing import ANY_MODEL, PRICE_COLUMNS
from openbooks.transforms.ratios import cost_profit_margin, gross_margin, ratio

ALL = "all"  # the row of a scenario's totals
UNATTRIBUTED = "unattributed"  # idle node-hours (and training kept idle), as in model_economics
ROLE_GPU_SECONDS = ("prefill_gpu_seconds", "decode_gpu_seconds", "serving_gpu_seconds", "idle_gpu_seconds")
SUMMED = ("prefill_node_hours", "decode_node_hours", "serving_node_hours", "idle_node_hours", "node_hours",
          "gpu_hours", "prefill_cost_usd", "decode_cost_usd", "gpu_cost_usd", "input_tokens", "cache_hit_tokens",
          "cache_miss_tokens", "output_tokens", "revenue_usd", "billed_revenue_usd")
COLUMNS = ("scenario", "model", "gpu_type", "gpus_per_node", "rental_usd_per_gpu_hour", *SUMMED[:6], "avg_nodes",
           "peak_nodes", *SUMMED[6:], "cost_profit_margin", "gross_margin", "billed_gross_margin",
           "cost_per_million_input_usd", "cost_per_million_output_usd", "cost_per_million_tokens_usd")


@dataclass(frozen=True)
class Scenario:
    """Overrides of the measured day; ``None`` keeps what was measured."""

    name: str
    gpu_type: str | None = None
    gpus_per_node: float | None = None
    rental_usd_per_gpu_hour: float | None = None
    input_tokens_per_gpu_second: float | None = None  # absolute throughput (with output_...)
    output_tokens_per_gpu_second: float | None = None
    throughput_factor: float = 1.0  # relative to the measured throughput, when no absolute one is given
    price_factor: float = 1.0  # on list prices (0.4 is 60% off), time-of-day rules kept
    card: str | None = None  # another price card
    cache_hit_rate: float | None = None
    lend_idle_to_training: bool = True

    @property
    def absolute(self) -> bool:
        return self.input_tokens_per_gpu_second is not None and self.output_tokens_per_gpu_second is not None


@dataclass(frozen=True)
class Measured:
    """The day's hardware as published: GPUs per node, rental, GPU type."""

    gpu_type: str
    gpus_per_node: float
    rental_usd_per_gpu_hour: float
    hours: float


def usd_per_million_tokens(rental_usd_per_gpu_hour: float, tokens_per_gpu_second: float) -> float:
    """Cost per million tokens: rental per GPU-hour ÷ (tokens per GPU-second × 3,600) × 10⁶."""
    return rental_usd_per_gpu_hour / (tokens_per_gpu_second * SECONDS_PER_HOUR) * 1_000_000


def measured(daily: pl.DataFrame, gpu_type: str) -> Measured:
    """GPUs per node (GPU-hours / node-hours) and rental (GPU cost / GPU-hours) of the published day."""
    day = daily.row(0, named=True)
    per_node = day["gpu_hours"] / day["node_hours"] if day["node_hours"] else 1.0
    rental = day["gpu_cost_usd"] / day["gpu_hours"] if day["gpu_hours"] else 0.0
    return Measured(gpu_type, per_node, rental, day["hours"])


def resolved(scenario: Scenario, day: Measured) -> Scenario:
    """The scenario with the measured hardware where it keeps it."""
    return replace(
        scenario,
        gpu_type=scenario.gpu_type or day.gpu_type,
        gpus_per_node=scenario.gpus_per_node or day.gpus_per_node,
        rental_usd_per_gpu_hour=(day.rental_usd_per_gpu_hour if scenario.rental_usd_per_gpu_hour is None
                                 else scenario.rental_usd_per_gpu_hour),
    )


def with_cache_rate(tokens: pl.DataFrame, rate: float | None) -> pl.DataFrame:
    """Token rows at another cache hit rate (input tokens kept), with
    ``hit_change`` (new - measured cache hits) and ``miss_ratio`` (new
    cache-miss tokens / measured; 1 where none were measured)."""
    if rate is None:
        return tokens.with_columns(hit_change=pl.lit(0, pl.Int64), miss_ratio=pl.lit(1.0))
    hits = (pl.col("input_tokens") * rate).round(0).cast(pl.Int64)
    return tokens.with_columns(
        hit_change=hits - pl.col("cache_hit_tokens"), miss_ratio=pl.when(pl.col("cache_miss_tokens") > 0)
        .then((pl.col("input_tokens") - hits) / pl.col("cache_miss_tokens")).otherwise(1.0),
    ).with_columns(cache_hit_tokens=pl.col("cache_hit_tokens") + pl.col("hit_change"),
                   cache_miss_tokens=pl.col("cache_miss_tokens") - pl.col("hit_change"))


def working_gpu_seconds(rows: pl.DataFrame, s: Scenario, gpus_per_node: float) -> pl.DataFrame:
    """``prefill_``, ``decode_`` and ``serving_gpu_seconds`` of rows with
    tokens and measured node-hours by role (a model's, or an hour's)."""
    if s.absolute:
        prefill = pl.col("input_tokens") / s.input_tokens_per_gpu_second
        decode = pl.col("output_tokens") / s.output_tokens_per_gpu_second
        serving = pl.lit(0.0)
    else:
        per_second = gpus_per_node * SECONDS_PER_HOUR / s.throughput_factor
        prefill, decode = pl.col("prefill_node_hours") * per_second, pl.col("decode_node_hours") * per_second
        serving = pl.col("serving_node_hours") * per_second
    return rows.with_columns(prefill_gpu_seconds=prefill * pl.col("miss_ratio"), decode_gpu_seconds=decode,
                             serving_gpu_seconds=serving)


def idle_node_hours(rows: pl.DataFrame, s: Scenario) -> pl.Expr:
    """Measured idle node-hours, with training's when lending is off."""
    return pl.col("idle_node_hours") + (0.0 if s.lend_idle_to_training else pl.col("training_node_hours"))


def costed(rows: pl.DataFrame, s: Scenario) -> pl.DataFrame:
    """GPU-seconds by role made node-hours, GPU-hours and cost on the scenario's hardware."""
    per_node = s.gpus_per_node * SECONDS_PER_HOUR
    rows = rows.with_columns(
        *[(pl.col(f"{role}_gpu_seconds") / per_node).alias(f"{role}_node_hours")
          for role in ("prefill", "decode", "serving", "idle")],
    ).with_columns(node_hours=pl.sum_horizontal("prefill_node_hours", "decode_node_hours", "serving_node_hours",
                                                "idle_node_hours"))
    cost = lambda nh: rental_usd(pl.col(nh), s.gpus_per_node, s.rental_usd_per_gpu_hour)  # noqa: E731
    return rows.with_columns(
        gpu_hours=pl.col("node_hours") * s.gpus_per_node,
        prefill_cost_usd=cost("prefill_node_hours"), decode_cost_usd=cost("decode_node_hours"),
        gpu_cost_usd=cost("node_hours"),
    ).drop(*ROLE_GPU_SECONDS)


def model_costs(models: pl.DataFrame, s: Scenario, day: Measured) -> pl.DataFrame:
    """Per model (and the ``unattributed`` row of idle GPU time): tokens at
    the scenario's cache hit rate, node-hours by role and GPU cost."""
    served = with_cache_rate(models.filter(pl.col("model") != UNATTRIBUTED), s.cache_hit_rate)
    work = working_gpu_seconds(served, s, day.gpus_per_node).with_columns(idle_gpu_seconds=pl.lit(0.0))
    before = models.select(pl.sum_horizontal("prefill_node_hours", "decode_node_hours", "serving_node_hours").sum()
                           ).item() * day.gpus_per_node * SECONDS_PER_HOUR
    after = work.select(pl.sum_horizontal("prefill_gpu_seconds", "decode_gpu_seconds", "serving_gpu_seconds").sum()
                        ).item()
    growth = after / before if before else 1.0
    idle = models.filter(pl.col("model") == UNATTRIBUTED).select(
        "model", idle_gpu_seconds=idle_node_hours(models, s) * day.gpus_per_node * SECONDS_PER_HOUR * growth,
        **{c: pl.lit(0.0) for c in ROLE_GPU_SECONDS[:3]},
    )
    return costed(pl.concat([work, idle], how="diagonal_relaxed"), s)


def _card_prices(prices: pl.DataFrame, card: str, models: pl.DataFrame) -> pl.DataFrame:
    """Each model's list price on ``card`` (its own, else the card's ``"*"``), prefixed ``p_``."""
    listed = {row[0]: row[1:] for row in prices.filter(pl.col("card") == card).select(
        "model", *PRICE_COLUMNS).iter_rows()}
    names = models["model"].to_list()
    found = [listed.get(name, listed.get(ANY_MODEL, (None,) * len(PRICE_COLUMNS))) for name in names]
    return pl.DataFrame({"model": names, **{f"p_{c}": [f[i] for f in found] for i, c in enumerate(PRICE_COLUMNS)}},
                        schema={"model": pl.String, **{f"p_{c}": pl.Float64 for c in PRICE_COLUMNS}})


def _at(prefix: str) -> pl.Expr:
    """The row's tokens at the ``p_``/``r_`` prices, in USD."""
    return (pl.col("cache_hit_tokens") * pl.col(f"{prefix}input_cache_hit")
            + pl.col("cache_miss_tokens") * pl.col(f"{prefix}input_cache_miss")
            + pl.col("output_tokens") * pl.col(f"{prefix}output")) / 1_000_000


def own_card_revenue(rows: pl.DataFrame, prices: pl.DataFrame, *, card: str, reference_model: str) -> pl.DataFrame:
    """Published theoretical and billed revenue, plus what the changed cache
    hits change: at the reference price (theoretical) and at the model's own
    price scaled by its billed / list share (billed)."""
    ref = _card_prices(prices, card, pl.DataFrame({"model": [reference_model]})).row(0, named=True)
    hits = pl.col("hit_change")
    rows = rows.join(_card_prices(prices, card, rows), on="model", how="left").with_columns(
        **{"r_" + c[2:]: pl.lit(v, pl.Float64) for c, v in ref.items() if c != "model"})
    list_then = _at("p_") - hits * (pl.col("p_input_cache_hit") - pl.col("p_input_cache_miss")) / 1_000_000
    return rows.with_columns(
        revenue_usd=pl.col("theoretical_revenue_usd")
        + hits * (pl.col("r_input_cache_hit") - pl.col("r_input_cache_miss")) / 1_000_000,
        billed_revenue_usd=pl.col("billed_revenue_usd") + hits * (pl.col("p_input_cache_hit")
                                                                  - pl.col("p_input_cache_miss")) / 1_000_000
        * ratio(pl.col("billed_revenue_usd"), list_then).fill_null(0.0),
    )


def other_card_revenue(rows: pl.DataFrame, prices: pl.DataFrame, cards: pl.DataFrame, card: str) -> pl.DataFrame:
    """Every token at ``card``'s list price for its model; billed at the
    card's billed / list share of the day (``revenue_scenarios``)."""
    day = cards.filter(pl.col("card") == card)
    if day.is_empty():
        raise ValueError(f"card {card!r} is not among the day's revenue_scenarios cards {cards['card'].to_list()}")
    share = ratio(pl.lit(day["billed_revenue_usd"][0]), pl.lit(day["revenue_usd"][0])).fill_null(0.0)
    return rows.join(_card_prices(prices, card, rows), on="model", how="left").with_columns(
        revenue_usd=_at("p_")).with_columns(billed_revenue_usd=pl.col("revenue_usd") * share)


def node_curve(hourly: pl.DataFrame, models: pl.DataFrame, s: Scenario, day: Measured) -> pl.DataFrame:
    """Nodes per role and hour (``prefill_nodes`` ... ``nodes``): the
    measured hours re-costed as the models are, each role's curve scaled so
    its node-hours are the models' (``model_costs``)."""
    hours = working_gpu_seconds(with_cache_rate(hourly, s.cache_hit_rate), s, day.gpus_per_node)
    hours = costed(hours.with_columns(idle_gpu_seconds=idle_node_hours(hourly, s)), s)
    roles = ("prefill", "decode", "serving", "idle")
    total = {r: models[f"{r}_node_hours"].sum() for r in roles}
    scale = {r: total[r] / hours[f"{r}_node_hours"].sum() if hours[f"{r}_node_hours"].sum() else 0.0 for r in roles}
    return hours.select(
        "hour_start", "hours",
        *[(pl.col(f"{r}_node_hours") * scale[r] / pl.col("hours")).alias(f"{r}_nodes") for r in roles],
    ).with_columns(nodes=pl.sum_horizontal(*[f"{r}_nodes" for r in roles]))


def with_margins(rows: pl.DataFrame) -> pl.DataFrame:
    """Margins (none on the ``unattributed`` row) and cost per million tokens from the row's sums."""
    cost, revenue, billed = pl.col("gpu_cost_usd"), pl.col("revenue_usd"), pl.col("billed_revenue_usd")
    per_million = lambda usd, tokens: ratio(usd * 1_000_000, tokens)  # noqa: E731
    served = pl.col("model") != UNATTRIBUTED  # idle GPU time earns nothing: no margin (as in model_economics)
    return rows.with_columns(
        cost_profit_margin=pl.when(served).then(cost_profit_margin(revenue, cost)),
        gross_margin=pl.when(served).then(gross_margin(revenue, cost)),
        billed_gross_margin=pl.when(served).then(gross_margin(billed, cost)),
        cost_per_million_input_usd=per_million(pl.col("prefill_cost_usd"), pl.col("input_tokens")),
        cost_per_million_output_usd=per_million(pl.col("decode_cost_usd"), pl.col("output_tokens")),
        cost_per_million_tokens_usd=per_million(cost, pl.col("input_tokens") + pl.col("output_tokens")),
    )


def scenario_day(scenario: Scenario, tables: dict[str, pl.DataFrame], prices: pl.DataFrame, *, card: str,
                 reference_model: str, gpu_type: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One scenario on one published day: its rows per model and in total
    (``COLUMNS``, the ``all`` row last) and its node curve by hour.
    ``tables``: the day's ``daily_economics``, ``hourly_economics``,
    ``model_economics`` and ``revenue_scenarios``; ``prices``: the cards'
    list prices at the day's start (``card``, ``model``, ``PRICE_COLUMNS``)."""
    day = measured(tables["daily_economics"], gpu_type)
    s = resolved(scenario, day)
    rows = model_costs(tables["model_economics"], s, day)
    curve = node_curve(tables["hourly_economics"], rows, s, day)
    served = rows.filter(pl.col("model") != UNATTRIBUTED)
    priced = (own_card_revenue(served, prices, card=card, reference_model=reference_model) if s.card is None
              else other_card_revenue(served, prices, tables["revenue_scenarios"], s.card))
    priced = priced.with_columns(pl.col("revenue_usd", "billed_revenue_usd") * s.price_factor)
    rows = pl.concat([priced, rows.filter(pl.col("model") == UNATTRIBUTED)], how="diagonal_relaxed")
    rows = rows.with_columns(pl.col(*SUMMED[9:]).fill_null(0))
    total = rows.select(pl.col(*SUMMED).sum()).with_columns(model=pl.lit(ALL), peak_nodes=pl.lit(curve["nodes"].max()))
    rows = pl.concat([rows, total], how="diagonal_relaxed").with_columns(
        scenario=pl.lit(s.name), gpu_type=pl.lit(s.gpu_type), gpus_per_node=pl.lit(float(s.gpus_per_node)),
        rental_usd_per_gpu_hour=pl.lit(float(s.rental_usd_per_gpu_hour)), avg_nodes=pl.col("node_hours") / day.hours,
    )
    return with_margins(rows).select(COLUMNS), curve.with_columns(scenario=pl.lit(s.name))


def period_totals(days: pl.DataFrame) -> pl.DataFrame:
    """Scenario rows of many days (with ``day`` and ``hours``) summed per
    scenario and model; margins from the sums, the peak the highest of the days."""
    keys = ("scenario", "model", "gpu_type", "gpus_per_node", "rental_usd_per_gpu_hour")
    summed = days.group_by(keys, maintain_order=True).agg(
        pl.col(*SUMMED).sum(), pl.col("peak_nodes").max(), hours=pl.col("hours").sum(),
        first_day=pl.col("day").min(), last_day=pl.col("day").max(), days=pl.col("day").n_unique(),
    )
    return with_margins(summed.with_columns(avg_nodes=pl.col("node_hours") / pl.col("hours")))


def reconcile(rows: pl.DataFrame) -> pl.DataFrame:
    """A day's scenario rows with, per scenario, the gap between the models'
    sums and the ``all`` row (cost, revenue, billed) and between each row's
    margins and the ones its sums make: every gap 0 when the scenario adds up."""
    models, total = pl.col("model") != ALL, pl.col("model") == ALL
    gap = lambda c: (pl.col(c).filter(models).sum() - pl.col(c).filter(total).sum()).over("scenario")  # noqa: E731
    again = with_margins(rows.select(*rows.columns))
    return rows.with_columns(
        cost_gap_usd=gap("gpu_cost_usd"), revenue_gap_usd=gap("revenue_usd"),
        billed_revenue_gap_usd=gap("billed_revenue_usd"),
        margin_gap=(pl.col("gross_margin") - again["gross_margin"]).abs().fill_null(0.0),
    )


def horizon(totals: pl.DataFrame, quarters: int, *, list_price_decline: float, rental_decline: float) -> pl.DataFrame:
    """The long view: each scenario's ``all`` row (``period_totals``) a quarter
    at a time, list prices falling by ``list_price_decline`` a year and rental
    by ``rental_decline``, compounded by quarter (quarter 0 is today's)."""
    steps = pl.DataFrame({"quarter": list(range(quarters + 1))}, schema={"quarter": pl.Int64})
    years = pl.col("quarter") / 4
    rows = totals.filter(pl.col("model") == ALL).select("scenario", "days", "revenue_usd", "billed_revenue_usd",
                                                        "gpu_cost_usd").join(steps, how="cross")
    rows = rows.with_columns(price_factor=(1 - list_price_decline) ** years, rental_factor=(1 - rental_decline) ** years)
    return with_horizon_margins(rows.with_columns(
        revenue_usd=pl.col("revenue_usd") * pl.col("price_factor"),
        billed_revenue_usd=pl.col("billed_revenue_usd") * pl.col("price_factor"),
        gpu_cost_usd=pl.col("gpu_cost_usd") * pl.col("rental_factor"),
    )).select("scenario", "quarter", "days", "price_factor", "rental_factor", "gpu_cost_usd", "revenue_usd",
              "billed_revenue_usd", "cost_profit_margin", "gross_margin", "billed_gross_margin")


def with_horizon_margins(rows: pl.DataFrame) -> pl.DataFrame:
    cost, revenue, billed = pl.col("gpu_cost_usd"), pl.col("revenue_usd"), pl.col("billed_revenue_usd")
    return rows.with_columns(cost_profit_margin=cost_profit_margin(revenue, cost), gross_margin=gross_margin(revenue, cost),
                             billed_gross_margin=gross_margin(billed, cost))


def published_totals(rows: pl.DataFrame) -> pl.DataFrame:
    """Published ``scenario_economics`` rows of many days summed per scenario
    (its ``all`` rows), in the order first seen; margins from the sums."""
    if rows.is_empty():
        return pl.DataFrame()
    totals = rows.filter(pl.col("model") == ALL).group_by("scenario", maintain_order=True).agg(
        pl.col(*SUMMED).sum(), pl.col("peak_nodes").max(), days=pl.col("day").n_unique(),
        gpu_type=pl.col("gpu_type").first(), gpus_per_node=pl.col("gpus_per_node").first(),
        rental_usd_per_gpu_hour=pl.col("rental_usd_per_gpu_hour").first(),
    )
    return with_margins(totals.with_columns(model=pl.lit(ALL)))

"""The hardware catalogue shipped with openbooks (``hardware_catalogue.yaml``),
the config's own profiles over it, and named or ad hoc scenarios resolved
into what ``transforms.whatif`` computes with."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from openbooks.config import Config, Profile, ScenarioSpec, describe_error
from openbooks.errors import ConfigError, OpenbooksError
from openbooks.transforms.whatif import Scenario

CATALOGUE = Path(__file__).resolve().parent / "hardware_catalogue.yaml"


@cache
def catalogue(path: Path = CATALOGUE) -> dict[str, Profile]:
    """The shipped profiles, by name."""
    data = yaml.safe_load(path.read_text()) or {}
    try:
        return {name: Profile(**fields) for name, fields in (data.get("profiles") or {}).items()}
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_error(exc.errors()[0], Profile)}") from exc


def profiles(config: Config) -> dict[str, Profile]:
    """The catalogue's profiles, the config's (``whatif.profiles``) replacing those of the same name."""
    return {**catalogue(), **config.whatif.profiles}


def hardware_profile(config: Config, name: str) -> Profile:
    """A profile by name, or a GPU type under ``hardware`` (its rental, throughput as measured)."""
    known = profiles(config)
    if name in known:
        return known[name]
    if name in config.hardware:
        gpu = config.hardware[name]
        return Profile(gpu_type=name, gpus_per_node=gpu.gpus_per_node, rental_usd_per_gpu_hour=gpu.rental_usd_per_gpu_hour)
    raise OpenbooksError(f"no hardware profile {name!r}: expected one of {sorted(known)} (the catalogue and "
                         f"whatif.profiles) or a GPU type under hardware {sorted(config.hardware)}")


def scenario(config: Config, name: str, spec: ScenarioSpec) -> Scenario:
    """A scenario's overrides over its profile's figures."""
    base = hardware_profile(config, spec.profile) if spec.profile else None
    pick = lambda key: getattr(spec, key) if getattr(spec, key) is not None else getattr(base, key, None)  # noqa: E731
    if spec.card is not None and spec.card not in config.price_book.cards:
        raise OpenbooksError(f"scenario {name}: card {spec.card!r} is not among price_book.cards "
                             f"{list(config.price_book.cards)}")
    if base is not None and pick("rental_usd_per_gpu_hour") is None:
        raise OpenbooksError(f"scenario {name}: profile {spec.profile!r} has no published rental price; "
                             "give rental_usd_per_gpu_hour (--rental)")
    inputs, outputs = pick("input_tokens_per_gpu_second"), pick("output_tokens_per_gpu_second")
    if (inputs is None) != (outputs is None):
        raise OpenbooksError(f"scenario {name}: give both input and output tokens per GPU-second, or neither")
    return Scenario(
        name, gpu_type=pick("gpu_type"), gpus_per_node=pick("gpus_per_node"),
        rental_usd_per_gpu_hour=pick("rental_usd_per_gpu_hour"), input_tokens_per_gpu_second=inputs,
        output_tokens_per_gpu_second=outputs, throughput_factor=spec.throughput_factor,
        price_factor=spec.price_factor, card=spec.card, cache_hit_rate=spec.cache_hit_rate,
        lend_idle_to_training=spec.lend_idle_to_training,
    )


def declared_scenarios(config: Config) -> list[Scenario]:
    """The config's named scenarios (``whatif.scenarios``), in order."""
    return [scenario(config, name, spec) for name, spec in config.whatif.scenarios.items()]

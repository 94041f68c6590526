"""The plausibility gate (``plausibility:``): the highest believable
throughput of a serving GPU, per GPU type or per model, in input and output
tokens per GPU-second. Every hour and model of a day is checked against it
(``transforms/plausibility.py``, suite ``expectations/plausibility.json``).

The defaults are DeepSeek's published H800 throughputs (73.7k input tokens/s
per prefill node, 14.8k output tokens/s per decode node, 8 GPUs a node) as
if every serving GPU did nothing but prefill, or nothing but decode: no
serving GPU is believed to do more."""

from __future__ import annotations

from pydantic import PositiveFloat

from openbooks.config.common import Strict

DEFAULT_INPUT_TOKENS_PER_GPU_SECOND = 73_700 / 8  # 9,212.5
DEFAULT_OUTPUT_TOKENS_PER_GPU_SECOND = 14_800 / 8  # 1,850


class Throughput(Strict):
    """Tokens one serving GPU can believably process in a second."""

    input_tokens_per_gpu_second: PositiveFloat = DEFAULT_INPUT_TOKENS_PER_GPU_SECOND
    output_tokens_per_gpu_second: PositiveFloat = DEFAULT_OUTPUT_TOKENS_PER_GPU_SECOND


class Plausibility(Strict):
    """``enabled``: the gate runs (default); ``default``: the bound of a GPU
    type not under ``gpu_types``; ``models``: a model's own bound (per GPU,
    whatever GPU serves it), before its GPU types'; ``outside_fleet``: models
    no node of the fleet serves by design (hosted APIs), their tokens shown
    but not checked."""

    enabled: bool = True
    default: Throughput = Throughput()
    gpu_types: dict[str, Throughput] = {}
    models: dict[str, Throughput] = {}
    outside_fleet: list[str] = []

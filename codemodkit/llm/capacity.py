"""How many requests to send at once, and how fast.

Local models (Ollama): total VRAM from ``nvidia-smi`` or ``rocm-smi``, the model's
size from ``/api/tags`` and its shape from ``/api/show``; each parallel slot needs
its own KV cache, and the server's slot count (``OLLAMA_NUM_PARALLEL``) is not in
its API, so the user states it. Cloud models: a table of default rate limits by
model family, corrected by the rate-limit headers the provider sends back.

Every decision carries a ``reason`` that shows its arithmetic (``-v`` prints it),
in ASCII so that it prints on any console or redirected stream.
Everything is a pure function except the small fetchers at the edges
(``detect_vram``, ``fetch_ollama_tags``, ``fetch_ollama_show``), which return None
instead of raising: capacity detection is a hint, never a reason to fail a run.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal, NamedTuple

import httpx

__all__ = [
    "CLOUD_DEFAULTS",
    "KV_CACHE_TYPES",
    "RATE_HEADROOM",
    "UNKNOWN_FAMILY",
    "VRAM_FRACTION",
    "CloudDefault",
    "Decision",
    "GpuInfo",
    "ModelShape",
    "RateLimitInfo",
    "cloud_defaults",
    "detect_vram",
    "fetch_ollama_show",
    "fetch_ollama_tags",
    "kv_cache_bytes",
    "ollama_parallelism",
    "parse_nvidia_smi",
    "parse_ollama_show",
    "parse_ollama_tags",
    "parse_rate_limit_headers",
    "parse_rocm_smi",
    "suggested_rpm",
]

GIB = 1024**3
MIB = 1024**2

#: share of VRAM the model and its KV caches may use (the SPEC's 0.8): the rest is
#: for the runtime's compute buffers, the display and other processes
VRAM_FRACTION = 0.8

#: share of a provider's stated request limit we plan to use. 85 % leaves room for
#: other clients of the same key (limits are per organisation, not per process) and
#: for our bucket refilling slightly out of phase with the provider's
RATE_HEADROOM = 0.85

#: bytes per cached K or V value for Ollama's ``OLLAMA_KV_CACHE_TYPE`` settings
#: (q8_0 and q4_0 store blocks of 32 values with a 2-byte scale)
KV_CACHE_TYPES: Mapping[str, float] = {"f16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}

_TOOL_TIMEOUT = 5.0


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuInfo:
    vendor: Literal["nvidia", "amd"]
    #: GPUs that reported their memory
    count: int
    #: VRAM of all of them together, in bytes
    total_bytes: int


@dataclass(frozen=True)
class ModelShape:
    """What ``/api/show`` says about a model's attention, enough to size its KV cache."""

    architecture: str
    block_count: int
    head_count_kv: int
    embedding_length: int
    head_count: int
    context_length: int | None = None
    parameter_count: int | None = None
    #: per-head K and V widths when the model states them (Gemma, Qwen3 …); otherwise
    #: both are ``embedding_length / head_count``
    key_length: int | None = None
    value_length: int | None = None

    @property
    def head_dim(self) -> int:
        return self.embedding_length // self.head_count


@dataclass(frozen=True)
class Decision:
    """How many requests at once (and, for cloud models, per minute), and why."""

    parallel: int
    reason: str
    rpm: int | None = None


@dataclass(frozen=True)
class RateLimitInfo:
    """What a provider's response headers say about our limits; None where silent.

    Reset times are seconds from the response, whatever form the header used.
    """

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_seconds: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_seconds: float | None = None
    #: ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)
    retry_after_seconds: float | None = None


def _size(n: float) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB else f"{n / MIB:.0f} MiB"


def _down(ratio: float) -> str:
    """One decimal, rounded down, so "4.9 -> 4" never reads "5.0 -> 4"."""
    return f"{math.floor(ratio * 10) / 10:.1f}"


def _decimal(text: str) -> int | None:
    """A non-negative integer written in ASCII digits (``str.isdigit`` also takes "²")."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]+", text):
        return None
    try:
        return int(text)
    except ValueError:  # beyond int's digit limit
        return None


def _count(value: object) -> int | None:
    """A positive whole number from JSON, or None (booleans are not numbers here)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


# --- VRAM -------------------------------------------------------------------------------

Runner = Callable[..., "subprocess.CompletedProcess[str]"]

NVIDIA_SMI = ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
ROCM_SMI = ["rocm-smi", "--showmeminfo", "vram", "--json"]


def _tool_output(run: Runner, argv: list[str]) -> str | None:
    try:
        done = run(argv, capture_output=True, text=True, timeout=_TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        # absent (FileNotFoundError), not executable, hung, or not text
        return None
    if done.returncode != 0 or not isinstance(done.stdout, str):
        return None
    return done.stdout


def parse_nvidia_smi(output: str) -> GpuInfo | None:
    """``memory.total`` in MiB, one line per GPU; ``[N/A]`` lines (unified memory) skipped."""
    total = count = 0
    for line in output.splitlines():
        line = line.strip()
        if not line or (line.startswith("[") and line.endswith("]")):
            continue
        mib = _count(_decimal(line))
        if mib is None:
            return None  # not the output we asked for: trust none of it
        total, count = total + mib * MIB, count + 1
    return GpuInfo("nvidia", count, total) if count else None


def parse_rocm_smi(output: str) -> GpuInfo | None:
    """``rocm-smi --showmeminfo vram --json``: ``{"card0": {"VRAM Total Memory (B)": "…"}}``."""
    start = output.find("{")  # some versions print warnings before the JSON
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(output, start)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    total = count = 0
    for card in data.values():
        raw = card.get("VRAM Total Memory (B)") if isinstance(card, dict) else None
        size = _count(_decimal(raw) if isinstance(raw, str) else raw)
        if size is not None:
            total, count = total + size, count + 1
    return GpuInfo("amd", count, total) if count else None


def detect_vram(run: Runner = subprocess.run) -> GpuInfo | None:
    """Total VRAM of the NVIDIA GPUs, else of the AMD ones; None when neither tool answers.

    ``run`` is ``subprocess.run`` or a stand-in with its signature (for tests).
    """
    output = _tool_output(run, NVIDIA_SMI)
    found = parse_nvidia_smi(output) if output is not None else None
    if found is None:
        output = _tool_output(run, ROCM_SMI)
        found = parse_rocm_smi(output) if output is not None else None
    return found


# --- Ollama's model list and model shapes -----------------------------------------------


def _model_name(name: str) -> str:
    """``llama3`` and ``llama3:latest`` are one model (a tag follows the last path part)."""
    name = name.strip().lower()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def parse_ollama_tags(data: Mapping[str, Any], model: str) -> int | None:
    """The size in bytes of ``model`` in an ``/api/tags`` answer, or None if it is absent."""
    models = data.get("models")
    if not isinstance(models, list):
        return None
    wanted = _model_name(model)
    for entry in models:
        if not isinstance(entry, Mapping):
            continue
        names = {_model_name(entry[k]) for k in ("name", "model") if isinstance(entry.get(k), str)}
        if wanted in names:
            return _count(entry.get("size"))
    return None


def _per_layer(value: object) -> int | None:
    # Some architectures give a list, one value per layer (0 for layers without
    # attention); the largest is a safe stand-in for every layer.
    if isinstance(value, list):
        counts = [_count(v) for v in value if v != 0]
        valid = [n for n in counts if n is not None]
        return max(valid) if valid and len(valid) == len(counts) else None
    return _count(value)


def parse_ollama_show(data: Mapping[str, Any]) -> ModelShape | None:
    """The attention shape in an ``/api/show`` answer's ``model_info``, or None if incomplete."""
    info = data.get("model_info")
    if not isinstance(info, Mapping):
        return None
    arch = info.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        return None
    blocks = _count(info.get(f"{arch}.block_count"))
    heads = _per_layer(info.get(f"{arch}.attention.head_count"))
    width = _count(info.get(f"{arch}.embedding_length"))
    kv_raw = info.get(f"{arch}.attention.head_count_kv")
    # without grouped-query attention, GGUF omits the KV head count: it equals head_count
    kv_heads = heads if kv_raw is None else _per_layer(kv_raw)
    if blocks is None or heads is None or width is None or kv_heads is None:
        return None
    return ModelShape(
        architecture=arch,
        block_count=blocks,
        head_count_kv=kv_heads,
        embedding_length=width,
        head_count=heads,
        context_length=_count(info.get(f"{arch}.context_length")),
        parameter_count=_count(info.get("general.parameter_count")),
        key_length=_count(info.get(f"{arch}.attention.key_length")),
        value_length=_count(info.get(f"{arch}.attention.value_length")),
    )


def _fetch_json(
    base_url: str,
    path: str,
    body: Mapping[str, Any] | None,
    headers: Mapping[str, str] | None,
    timeout: float,
    client: httpx.Client | None,
) -> Mapping[str, Any] | None:
    url = base_url.rstrip("/") + path
    try:
        if client is None:
            with httpx.Client(timeout=timeout) as own:
                return _fetch_json(base_url, path, body, headers, timeout, own)
        if body is None:
            response = client.get(url, headers=headers, timeout=timeout)
        else:
            response = client.post(url, json=body, headers=headers, timeout=timeout)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fetch_ollama_tags(
    base_url: str,
    model: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
) -> int | None:
    """The size of ``model`` from ``GET {base_url}/api/tags``; None on any failure."""
    data = _fetch_json(base_url, "/api/tags", None, headers, timeout, client)
    return parse_ollama_tags(data, model) if data is not None else None


def fetch_ollama_show(
    base_url: str,
    model: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
) -> ModelShape | None:
    """The shape of ``model`` from ``POST {base_url}/api/show``; None on any failure."""
    data = _fetch_json(base_url, "/api/show", {"model": model}, headers, timeout, client)
    return parse_ollama_show(data) if data is not None else None


# --- local parallelism ------------------------------------------------------------------


def kv_cache_bytes(shape: ModelShape, num_ctx: int, bytes_per_value: float = 2) -> int:
    """KV cache of one slot: K and V x layers x KV heads x head width x context x bytes."""
    k_width = shape.key_length or shape.head_dim
    v_width = shape.value_length or shape.head_dim
    per_token = shape.block_count * shape.head_count_kv * (k_width + v_width)
    return math.ceil(per_token * num_ctx * bytes_per_value)


def _kv_formula(shape: ModelShape, num_ctx: int, kv_type: str, bytes_per_value: float) -> str:
    k_width = shape.key_length or shape.head_dim
    v_width = shape.value_length or shape.head_dim
    widths = f"2 (K, V) x {k_width}" if k_width == v_width else f"({k_width} K + {v_width} V)"
    return (
        f"{widths} dims x {shape.block_count} layers x {shape.head_count_kv} KV heads"
        f" x {num_ctx} ctx x {bytes_per_value:g} B {kv_type}"
    )


def ollama_parallelism(
    vram_bytes: int | None,
    model_bytes: int | None,
    shape: ModelShape | None,
    num_ctx: int,
    server_slots: int | None = None,
    user_max: int | None = None,
    *,
    kv_cache_type: str = "f16",
) -> Decision:
    """Requests to send an Ollama server at once.

    Baseline (the SPEC): ``floor(vram / model_size x 0.8)``, at least 1. With the
    model's shape: ``floor((0.8 x vram - model_size) / kv_per_slot)``, at least 1,
    since each slot holds its own ``num_ctx`` KV cache. Then capped by the
    server's slots (``OLLAMA_NUM_PARALLEL``, stated by the user because the API
    does not tell) and by ``--max-parallel``. Without a GPU: 1.
    """
    steps: list[str] = []
    if vram_bytes is None or vram_bytes <= 0:
        parallel = 1
        steps.append(
            "no GPU found (nvidia-smi, rocm-smi): CPU inference gains nothing from"
            " parallel requests -> 1"
        )
    elif model_bytes is None or model_bytes <= 0:
        parallel = 1
        steps.append(f"{_size(vram_bytes)} VRAM, but the model's size is unknown -> 1")
    else:
        budget = vram_bytes * VRAM_FRACTION
        if kv_cache_type not in KV_CACHE_TYPES:
            kv_cache_type = "f16"  # Ollama's default, and the largest: never an overcommit
        bytes_per_value = KV_CACHE_TYPES[kv_cache_type]
        if shape is not None and num_ctx > 0:
            steps.append(f"{_size(vram_bytes)} VRAM x {VRAM_FRACTION} = {_size(budget)}")
            kv = kv_cache_bytes(shape, num_ctx, bytes_per_value)
            formula = _kv_formula(shape, num_ctx, kv_cache_type, bytes_per_value)
            steps.append(f"model {_size(model_bytes)} + KV {_size(kv)} per slot ({formula})")
            free = budget - model_bytes
            if free < kv:
                parallel = 1
                steps.append("not even one slot fits: layers spill to the CPU -> 1")
            else:
                parallel = math.floor(free / kv)
                steps.append(
                    f"({_size(budget)} - {_size(model_bytes)}) / {_size(kv)}"
                    f" = {_down(free / kv)} -> {parallel} slots"
                )
        else:
            ratio = vram_bytes / model_bytes * VRAM_FRACTION
            parallel = max(1, math.floor(ratio))
            steps.append(
                f"{_size(vram_bytes)} VRAM / model {_size(model_bytes)} x {VRAM_FRACTION}"
                f" = {_down(ratio)} -> {parallel} (KV cache not counted: model shape unknown)"
            )
    if server_slots is not None and server_slots >= 1:
        if server_slots < parallel:
            parallel = server_slots
            steps.append(f"capped by OLLAMA_NUM_PARALLEL={server_slots} -> {parallel}")
    elif parallel > 1:
        steps.append(
            "server slots not stated (Ollama's OLLAMA_NUM_PARALLEL defaults to 1; extra"
            " requests wait in its queue)"
        )
    if user_max is not None and max(1, user_max) < parallel:
        parallel = max(1, user_max)
        steps.append(f"capped by --max-parallel={user_max} -> {parallel}")
    return Decision(parallel, "; ".join(steps))


# --- cloud defaults ---------------------------------------------------------------------


class CloudDefault(NamedTuple):
    family: str
    rpm: int
    parallel: int


#: Default limits by model family: a regular expression searched (case-insensitively)
#: in the model name -> (family, requests per minute, requests in flight). The first
#: match wins, so reasoning models come before the GPT "mini" rule (``o4-mini``), and
#: "mini"/"nano" before the GPT-4 class (``gpt-4o-mini``). The figures are the SPEC's:
#: conservative low-tier limits; live rate-limit headers correct them.
CLOUD_DEFAULTS: Mapping[str, CloudDefault] = {
    r"(?:^|[/:.])o[134](?:$|[-:])": CloudDefault("reasoning (o1/o3/o4)", 100, 10),
    r"gpt-?[\d.]+o?-(?:mini|nano)\b": CloudDefault("GPT mini/nano (GPT-3.5 class)", 3500, 100),
    r"gpt-?3\.5": CloudDefault("GPT-3.5 class", 3500, 100),
    r"(?:^|[/:.])(?:chat)?gpt-?[45]": CloudDefault("GPT-4 class", 500, 50),
    r"claude.*opus": CloudDefault("Claude Opus", 50, 20),
    r"claude.*sonnet": CloudDefault("Claude Sonnet", 500, 50),
    r"claude.*haiku": CloudDefault("Claude Haiku", 1000, 100),
}

#: for a model no row matches: slow enough for any paid tier
UNKNOWN_FAMILY = CloudDefault("unknown model family", 60, 10)

_CLOUD_PATTERNS = [(re.compile(p, re.IGNORECASE), row) for p, row in CLOUD_DEFAULTS.items()]


def cloud_defaults(provider: str, model: str) -> Decision:
    """Default parallelism and RPM for a cloud model, by family (``CLOUD_DEFAULTS``)."""
    row = next((row for regex, row in _CLOUD_PATTERNS if regex.search(model)), UNKNOWN_FAMILY)
    reason = f"{provider} {model}: {row.family} -> {row.rpm} RPM, {row.parallel} in parallel"
    if row is UNKNOWN_FAMILY:
        reason += " (a conservative default; set --rpm and --max-parallel to your limits)"
    return Decision(row.parallel, reason, rpm=row.rpm)


# --- live rate-limit headers ------------------------------------------------------------

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|h|m|s)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _whole(value: str | None) -> int | None:
    return None if value is None else _decimal(value)


def _duration(value: str | None) -> float | None:
    """OpenAI's resets are Go durations: ``1s``, ``6m0s``, ``20ms``, ``1h2m3.5s``."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
        seconds = float(text)
    else:
        parts = list(_DURATION_PART.finditer(text))
        if not parts or "".join(p.group(0) for p in parts) != text:
            return None
        seconds = sum(float(p.group(1)) * _DURATION_UNITS[p.group(2)] for p in parts)
    return seconds if math.isfinite(seconds) else None


def _until(value: str | None, now: float) -> float | None:
    """Seconds from ``now`` to an RFC 3339 time (Anthropic's resets), at least 0."""
    if value is None:
        return None
    text = value.strip()
    text = re.sub(r"[Zz]$", "+00:00", text)
    # Python reads exactly microseconds (3.10: exactly 3 or 6 digits), not nanoseconds
    text = re.sub(r"\.([0-9]+)", lambda m: "." + m.group(1)[:6].ljust(6, "0"), text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, moment.timestamp() - now)


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            wait = float(milliseconds)
        except ValueError:
            wait = math.nan
        if math.isfinite(wait) and wait >= 0:
            return wait / 1000
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        wait = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)  # an HTTP date
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return max(0.0, moment.timestamp() - now)
    return wait if math.isfinite(wait) and wait >= 0 else None


def parse_rate_limit_headers(
    headers: Mapping[str, str], now: float | None = None
) -> RateLimitInfo | None:
    """Limits from OpenAI's or Anthropic's response headers; None if there are none.

    OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, resets as
    durations. Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,
    output-tokens}-{limit,remaining,reset}``, resets as RFC 3339 times; the token
    figures come from ``tokens`` (the most restrictive limit in effect) when sent,
    else from ``input-tokens``, else ``output-tokens``. Header names are matched
    case-insensitively and unreadable values are ignored, never raised.
    """
    now = time.time() if now is None else now
    h = {k.lower(): v for k, v in headers.items() if isinstance(k, str) and isinstance(v, str)}

    def first(*values: Any) -> Any:
        return next((v for v in values if v is not None), None)

    anthropic_tokens = next(
        (
            kind
            for kind in ("tokens", "input-tokens", "output-tokens")
            if any(f"anthropic-ratelimit-{kind}-{field}" in h for field in ("limit", "remaining"))
        ),
        "tokens",
    )

    def anthropic(kind: str, field: str) -> str | None:
        return h.get(f"anthropic-ratelimit-{kind}-{field}")

    info = RateLimitInfo(
        limit_requests=first(
            _whole(h.get("x-ratelimit-limit-requests")), _whole(anthropic("requests", "limit"))
        ),
        remaining_requests=first(
            _whole(h.get("x-ratelimit-remaining-requests")),
            _whole(anthropic("requests", "remaining")),
        ),
        reset_requests_seconds=first(
            _duration(h.get("x-ratelimit-reset-requests")),
            _until(anthropic("requests", "reset"), now),
        ),
        limit_tokens=first(
            _whole(h.get("x-ratelimit-limit-tokens")), _whole(anthropic(anthropic_tokens, "limit"))
        ),
        remaining_tokens=first(
            _whole(h.get("x-ratelimit-remaining-tokens")),
            _whole(anthropic(anthropic_tokens, "remaining")),
        ),
        reset_tokens_seconds=first(
            _duration(h.get("x-ratelimit-reset-tokens")),
            _until(anthropic(anthropic_tokens, "reset"), now),
        ),
        retry_after_seconds=_retry_after(h, now),
    )
    return None if info == RateLimitInfo() else info


def suggested_rpm(info: RateLimitInfo, current_rpm: int | None) -> int | None:
    """A lower requests-per-minute when the provider's stated limit is below ours.

    Both providers state request limits per minute. We aim at ``RATE_HEADROOM``
    (85 %) of the stated limit; None means "keep what you have" (no stated limit, or
    ours is already at or under that target).
    """
    if info.limit_requests is None or info.limit_requests <= 0:
        return None
    target = max(1, math.floor(info.limit_requests * RATE_HEADROOM))
    if current_rpm is None or target < current_rpm:
        return target
    return None

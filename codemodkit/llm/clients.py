"""The model clients of a run: one per configured tier (and fallback), with the
endpoints' parallelism from ``capacity``, the rate limits and the answer cache.

Split from ``setup`` so that a run without models never imports HTTP and cache code.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codemodkit.cache import AnswerCache, CacheError
from codemodkit.config import CodemodConfig, ModelSpec, TierSpec

from .capacity import (
    Decision,
    cloud_defaults,
    detect_vram,
    fetch_ollama_show,
    fetch_ollama_tags,
    ollama_parallelism,
    parse_rate_limit_headers,
    suggested_rpm,
)
from .client import ModelClient
from .endpoints import EndpointPool
from .limits import RateLimits
from .manager import LLMManager, Tier
from .providers.registry import DEFAULT_ENDPOINTS, make_provider
from .setup import ModelFlags, Say, cache_directory, model_api_key
from .stats import Stats
from .store import CachedStore

__all__ = ["OLLAMA_MAX_WORKERS", "model_manager"]


#: threads set aside per Ollama endpoint before its capacity is known
OLLAMA_MAX_WORKERS = 32


def _ollama_decision(
    spec: ModelSpec, endpoint: str, flags: ModelFlags, key: str | None
) -> Decision:
    assert spec.model is not None
    headers: Mapping[str, str] = {"authorization": f"Bearer {key}"} if key else {}
    size = fetch_ollama_tags(endpoint, spec.model, headers=headers)
    shape = fetch_ollama_show(endpoint, spec.model, headers=headers)
    gpu = detect_vram()
    return ollama_parallelism(
        gpu.total_bytes if gpu else None,
        size,
        shape,
        spec.num_ctx,
        flags.server_slots or spec.server_slots,
        flags.max_parallel or spec.max_parallel,
    )


def _client(
    level: int,
    spec: ModelSpec,
    flags: ModelFlags,
    stats: Stats,
    start: Path,
    say: Say,
    default_timeout: float = 120.0,
) -> ModelClient:
    assert spec.model is not None
    key = model_api_key(spec, flags, start)
    endpoints = spec.endpoints or (DEFAULT_ENDPOINTS[spec.provider],)
    options: dict[str, object] = {}
    if spec.provider == "ollama":
        options["num_ctx"] = spec.num_ctx
    provider = make_provider(spec.provider, spec.model, key, **options)
    user_max = flags.max_parallel or spec.max_parallel
    rpm = flags.rpm or spec.rpm
    tpm = flags.tpm or spec.tpm
    name = f"tier {level}: {spec.provider} {spec.model} on {len(endpoints)} endpoint(s)"

    def describe(per_endpoint: int, limit: int | None, reason: str) -> None:
        pace = f"{limit} requests/min" if limit else "no rate limit"
        say(f"{name}, {per_endpoint} in parallel each, {pace}: {reason}")

    prepare = None
    if flags.no_parallel:
        per_endpoint, max_workers = 1, len(endpoints)
        describe(1, rpm, "--no-parallel: one request at a time")
    elif spec.provider == "ollama" and user_max:
        per_endpoint, max_workers = user_max, user_max * len(endpoints)
        describe(user_max, rpm, f"--max-parallel {user_max} (stated, so not detected)")
    elif spec.provider == "ollama":
        # Asking the server about the model is deferred to the first real request, so
        # a run answered entirely from the cache makes no HTTP request at all.
        per_endpoint = 1
        bound = flags.server_slots or spec.server_slots or OLLAMA_MAX_WORKERS
        max_workers = bound * len(endpoints)

        def prepare(client: ModelClient) -> None:
            decision = _ollama_decision(spec, endpoints[0], flags, key)
            client.endpoints.set_capacity(decision.parallel)
            describe(decision.parallel, rpm, decision.reason)

    else:
        decision = cloud_defaults(spec.provider, spec.model)
        rpm = rpm or decision.rpm
        total = user_max or decision.parallel
        reason = decision.reason + (f"; --max-parallel {user_max}" if user_max else "")
        # a cloud limit is account-wide: share it among the endpoints
        per_endpoint = max(1, -(-total // len(endpoints)))
        max_workers = per_endpoint * len(endpoints)
        describe(per_endpoint, rpm, reason)
    limits = RateLimits(rpm, tpm, window=flags.rate_window)

    def on_headers(headers: Mapping[str, str]) -> None:
        info = parse_rate_limit_headers(headers)
        lower = suggested_rpm(info, limits.rpm) if info is not None else None
        if lower is not None and limits.lower_rpm(lower):
            say(f"tier {level}: the server's rate-limit headers lower the pace to {lower}/min")

    return ModelClient(
        provider,
        EndpointPool(endpoints, per_endpoint),
        limits,
        stats,
        timeout=flags.timeout or spec.timeout or default_timeout,
        on_headers=on_headers,
        prepare=prepare,
        max_workers=max_workers,
    )


def model_manager(
    config: CodemodConfig,
    flags: ModelFlags,
    specs: Mapping[int, TierSpec],
    *,
    start: Path,
    say: Say,
    warn: Say,
) -> LLMManager:
    """The manager for the model tiers ``specs`` (flags already completed)."""
    stats = Stats()
    tiers = []
    for level in sorted(specs):
        spec = specs[level]
        client = _client(level, spec, flags, stats, start, say, config.timeout)
        fallback = None
        if spec.fallback is not None:
            fallback = _client(level, spec.fallback, flags, stats, start, say, config.timeout)
        tiers.append(Tier(level, client, cloud=spec.is_cloud, fallback=fallback))
    store = None
    if not flags.no_cache:
        directory, _ = cache_directory(config, flags)
        try:
            store = CachedStore(AnswerCache(directory))
        except CacheError as exc:
            warn(f"cache disabled: {exc}")
    return LLMManager(
        tiers,
        store=store,
        stats=stats,
        max_attempts=flags.max_attempts or config.max_attempts,
        cloud_fallback=flags.cloud_fallback or config.cloud_fallback,
    )

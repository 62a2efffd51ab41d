"""Build the run's LLM manager from the configuration and the command-line flags.

Layers, lowest first: the configuration file, ``.env``, the environment, the flags
(``environment`` says why the environment beats ``.env``). ``--provider``/``--model``/
``--endpoint`` and ``LLM_PROVIDER``/``LLM_MODEL``/``LLM_BASE_URL`` define tier 1 (the
configuration's other tiers stay), ``--provider template`` turns models off
altogether, and the limit flags (``--max-parallel``, ``--no-parallel``, ``--rpm``,
``--tpm``, ``--timeout``, ``--server-slots``) apply to every model of the run.
Parallelism per endpoint comes from ``capacity`` (VRAM and model size for Ollama, the
model family's table for cloud providers); ``say`` receives one line per model
explaining the choice and its arithmetic (printed with ``-v``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import dotenv_values

from codemodkit.cache import AnswerCache, CacheError, default_cache_dir
from codemodkit.config import CodemodConfig, ConfigError, ModelSpec, TierSpec

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
from .environment import Setting, read_environment
from .limits import RateLimits
from .manager import LLMManager, Tier
from .providers.registry import DEFAULT_ENDPOINTS, make_provider
from .secrets import find_dotenv, register_secret, resolve_api_key
from .stats import Stats
from .store import CachedStore

__all__ = [
    "PROVIDERS",
    "ModelFlags",
    "apply_environment",
    "build_manager",
    "cache_directory",
    "effective_tiers",
    "model_api_key",
]

PROVIDERS = ("template", "ollama", "openai", "anthropic")

Say = Callable[[str], None]


@dataclass(frozen=True)
class ModelFlags:
    provider: str | None = None
    model: str | None = None
    endpoints: tuple[str, ...] = ()
    api_key: str | None = field(default=None, repr=False)
    timeout: float | None = None
    max_parallel: int | None = None
    no_parallel: bool = False
    rpm: int | None = None
    tpm: int | None = None
    server_slots: int | None = None
    cache_dir: Path | None = None
    no_cache: bool = False
    cloud_fallback: bool = False
    max_attempts: int | None = None
    #: the rate-limit window in seconds (tests and benchmarks scale it down)
    rate_window: float = 60.0


def apply_environment(
    flags: ModelFlags, settings: Mapping[str, Setting]
) -> tuple[ModelFlags, dict[str, str]]:
    """``flags`` completed from the environment, and where each of those values came from.

    The sources are keyed ``provider``, ``model``, ``endpoints``, ``cache_dir``. The
    environment's model and URL belong to its provider: with ``--provider`` naming
    another one, ``LLM_*`` is ignored altogether.
    """
    sources: dict[str, str] = {}
    for name, flag in (
        ("provider", "--provider"),
        ("model", "--model"),
        ("endpoints", "--endpoint"),
        ("cache_dir", "--cache-dir"),
    ):
        if getattr(flags, name):
            sources[name] = f"flag {flag}"
    provider = settings.get("LLM_PROVIDER")
    if provider is not None and provider.value not in PROVIDERS:
        raise ConfigError(
            f"{provider.source}: {provider.value!r} is not a provider "
            f"(expected one of: {', '.join(PROVIDERS)})"
        )
    update: dict[str, object] = {}
    if not (flags.provider and provider is not None and flags.provider != provider.value):
        for name, variable in (
            ("provider", "LLM_PROVIDER"),
            ("model", "LLM_MODEL"),
            ("endpoints", "LLM_BASE_URL"),
        ):
            setting = settings.get(variable)
            if setting is None or getattr(flags, name):
                continue
            if name == "endpoints":
                urls = tuple(u.strip() for u in setting.value.split(",") if u.strip())
                update[name] = urls
            else:
                update[name] = setting.value
            sources[name] = setting.source
    cache = settings.get("CODEMOD_CACHE_DIR")
    if cache is not None and flags.cache_dir is None:
        update["cache_dir"] = Path(cache.value).expanduser()
        sources["cache_dir"] = cache.source
    merged = replace(flags, **update)  # type: ignore[arg-type]
    from_environment = provider is not None and sources.get("provider") == provider.source
    if from_environment and merged.provider != "template" and not merged.model:
        assert provider is not None
        raise ConfigError(
            f"LLM_PROVIDER={provider.value} ({provider.source}) needs LLM_MODEL or --model"
        )
    return merged, sources


def cache_directory(
    config: CodemodConfig, flags: ModelFlags, source: Path | None = None
) -> tuple[Path, str]:
    """The answer cache's folder and where it was chosen (flags carry the environment's)."""
    if flags.cache_dir is not None:
        return flags.cache_dir, "flag --cache-dir"
    if config.cache_dir:
        return Path(config.cache_dir).expanduser(), str(source) if source else "configuration"
    return default_cache_dir(), "default"


def effective_tiers(config: CodemodConfig, flags: ModelFlags) -> dict[int, TierSpec]:
    """The model tiers of the run (none: only the template provider answers)."""
    return _tiers(config, flags)


def _tiers(config: CodemodConfig, flags: ModelFlags) -> dict[int, TierSpec]:
    tiers = dict(config.tiers)
    if flags.provider is not None:
        if flags.provider not in PROVIDERS:
            raise ConfigError(f"unknown provider {flags.provider!r}")
        if flags.provider == "template":
            return {}
        if not flags.model:
            raise ConfigError(f"--provider {flags.provider} needs --model NAME")
        tiers[1] = TierSpec(
            provider=flags.provider,  # type: ignore[arg-type]  # click checked the choice
            model=flags.model,
            endpoints=flags.endpoints,
        )
    elif flags.model or flags.endpoints:
        if 1 not in tiers:
            raise ConfigError(
                "--model and --endpoint (or LLM_MODEL and LLM_BASE_URL) need --provider "
                "or LLM_PROVIDER (or a configured tier 1)"
            )
        update: dict[str, object] = {}
        if flags.model:
            update["model"] = flags.model
        if flags.endpoints:
            update["endpoints"] = flags.endpoints
        tiers[1] = tiers[1].model_copy(update=update)
    for level, spec in tiers.items():
        if spec.provider != "template" and not spec.model:
            raise ConfigError(f"tier {level}: no model named (set 'model')")
    return {level: spec for level, spec in tiers.items() if spec.provider != "template"}


def _api_key(spec: ModelSpec, flags: ModelFlags, start: Path) -> str | None:
    flag = flags.api_key if flags.provider == spec.provider else None
    if spec.api_key_env and not flag:
        key = os.environ.get(spec.api_key_env)
        if not key:
            dotenv = find_dotenv(start)
            key = dotenv_values(dotenv).get(spec.api_key_env) if dotenv else None
        register_secret(key)
        return key or None
    return resolve_api_key(spec.provider, flag, dotenv_dir=start)


def model_api_key(spec: ModelSpec, flags: ModelFlags, start: Path) -> str | None:
    """The key a run sends to ``spec``'s servers (registered with the redactor)."""
    return _api_key(spec, flags, start)


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
    key = _api_key(spec, flags, start)
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


def build_manager(
    config: CodemodConfig, flags: ModelFlags, *, start: Path, say: Say, warn: Say
) -> LLMManager:
    """The manager for this run; with no model configured, the template-only one.

    ``say`` gets the capacity reasoning (``-v``), ``warn`` what the user must see.
    ``LLM_PROVIDER``, ``LLM_MODEL``, ``LLM_BASE_URL`` and ``CODEMOD_CACHE_DIR`` fill
    what the flags leave unset (from the environment, else the ``.env`` above ``start``).
    """
    flags, _ = apply_environment(flags, read_environment(start))
    specs = _tiers(config, flags)
    if not specs:
        return LLMManager()
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

"""Build the run's LLM manager from the configuration and the command-line flags.

Layers, lowest first: the configuration file, ``.env``, the environment, the flags
(``environment`` says why the environment beats ``.env``). ``--provider``/``--model``/
``--endpoint`` and ``LLM_PROVIDER``/``LLM_MODEL``/``LLM_BASE_URL`` define tier 1 (the
configuration's other tiers stay), ``--provider template`` turns models off
altogether, and the limit flags (``--max-parallel``, ``--no-parallel``, ``--rpm``,
``--tpm``, ``--timeout``, ``--server-slots``) apply to every model of the run.
The model clients themselves are built in ``clients`` (imported only when a model is
configured): parallelism per endpoint comes from ``capacity`` (VRAM and model size for
Ollama, the model family's table for cloud providers); ``say`` receives one line per
model explaining the choice and its arithmetic (printed with ``-v``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from dotenv import dotenv_values

from codemodkit.config import CodemodConfig, ConfigError, ModelSpec, TierSpec

from .environment import Setting, read_environment
from .manager import LLMManager
from .secrets import find_dotenv, register_secret, resolve_api_key

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
    from codemodkit.cache import default_cache_dir  # diskcache: only when asked

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
    # HTTP clients, rate limits and the disk cache are imported only when a model is
    # configured: a template-only run starts without them (httpx alone is ~0.1 s).
    from .clients import model_manager

    return model_manager(config, flags, specs, start=start, say=say, warn=warn)

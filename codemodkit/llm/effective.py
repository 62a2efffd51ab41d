"""The configuration a run would use, every value with its source (``codemod config show``).

Sources read ``default``, the configuration file's path, ``env NAME``, ``.env NAME (path)``
or ``flag --name``. API keys are never shown: a key row says ``****`` and where it is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from codemodkit.config import CodemodConfig, LoadedConfig, ModelSpec, TierSpec, load_config

from .environment import read_environment, variable_source
from .providers.registry import DEFAULT_ENDPOINTS
from .secrets import ENV_VARS
from .setup import ModelFlags, apply_environment, cache_directory, effective_tiers

__all__ = ["Effective", "KeyInfo", "Row", "resolve"]

MASKED = "****"
DEFAULT = "default"


@dataclass(frozen=True)
class Row:
    key: str
    value: str
    source: str


@dataclass(frozen=True)
class KeyInfo:
    """The API key of one model: which variable holds it and where it is set (None: unset)."""

    key: str  # e.g. tiers.1.api_key
    provider: str
    variable: str
    source: str | None


@dataclass
class Effective:
    config: CodemodConfig
    file: Path | None
    flags: ModelFlags
    start: Path
    cache_dir: Path
    sources: dict[str, str] = field(default_factory=dict)
    keys: list[KeyInfo] = field(default_factory=list)

    def source_of(self, key: str) -> str:
        """The source of ``key`` or of the nearest enclosing key that has one."""
        parts = key.split(".")
        for end in range(len(parts), 0, -1):
            found = self.sources.get(".".join(parts[:end]))
            if found is not None:
                return found
        return DEFAULT

    def rows(self) -> list[Row]:
        data = self.config.model_dump(mode="json")
        data["cache_dir"] = str(self.cache_dir)
        rows = [Row(k, v, self.source_of(k)) for k, v in _flatten(data, "")]
        for info in self.keys:
            shown = MASKED if info.source else "(not set)"
            rows.append(Row(info.key, shown, info.source or f"{info.variable} is not set"))
        return sorted(rows, key=lambda row: _order(row.key))

    def as_json(self) -> dict[str, Any]:
        return {
            "file": str(self.file) if self.file else None,
            "values": {row.key: {"value": row.value, "source": row.source} for row in self.rows()},
        }


def _order(key: str) -> tuple[int, str]:
    return (key.startswith("tiers.") + 2 * key.startswith("tsfix."), key)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(none)"
    return str(value)


def _flatten(data: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    in_tier = prefix.startswith("tiers.")
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            rows.extend(_flatten(value, f"{key}."))
        elif isinstance(value, Mapping):
            empty = "(none: the template provider only)" if key == "tiers" else "(none)"
            rows.append((key, empty))
        elif value is None and in_tier:
            continue  # an unset per-model option: the run's default applies
        else:
            rows.append((key, _shown(value)))
    return rows


def _file_sources(model: BaseModel, prefix: str, source: str, into: dict[str, str]) -> None:
    """Mark every field the file set (pydantic's ``model_fields_set``), recursively."""
    for name in model.model_fields_set:
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, BaseModel):
            _file_sources(value, f"{key}.", source, into)
        elif (
            isinstance(value, dict)
            and value
            and all(isinstance(v, BaseModel) for v in value.values())
        ):
            for level, spec in value.items():
                _file_sources(spec, f"{key}.{level}.", source, into)
        else:
            into[key] = source


def _key_info(key: str, spec: ModelSpec, flags: ModelFlags, start: Path) -> KeyInfo | None:
    variable = spec.api_key_env or ENV_VARS.get(spec.provider)
    if variable is None:
        return None
    if flags.api_key and flags.provider == spec.provider:
        return KeyInfo(key, spec.provider, variable, "flag --api-key")
    return KeyInfo(key, spec.provider, variable, variable_source(variable, start))


def _with_endpoints(spec: TierSpec) -> TierSpec:
    """The provider's default endpoint made explicit, as a run would use it."""
    update: dict[str, Any] = {}
    if not spec.endpoints:
        update["endpoints"] = (DEFAULT_ENDPOINTS[spec.provider],)
    fallback = spec.fallback
    if fallback is not None and not fallback.endpoints and fallback.provider in DEFAULT_ENDPOINTS:
        fallback_endpoints = (DEFAULT_ENDPOINTS[fallback.provider],)
        update["fallback"] = fallback.model_copy(update={"endpoints": fallback_endpoints})
    return spec.model_copy(update=update) if update else spec


def resolve(start: Path, flags: ModelFlags | None = None) -> Effective:
    """Every layer applied, for the target ``start`` (a file or a folder)."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    loaded: LoadedConfig = load_config(folder)
    config = loaded.config
    file_source = str(loaded.source) if loaded.source else DEFAULT
    sources: dict[str, str] = {}
    if loaded.source is not None:
        _file_sources(config, "", file_source, sources)
    merged, layered = apply_environment(flags or ModelFlags(), read_environment(folder))
    tiers = effective_tiers(config, merged)
    if "provider" in layered:
        for key in [k for k in sources if k.startswith("tiers.1.")]:
            del sources[key]
        if merged.provider == "template":
            sources["tiers"] = layered["provider"]
    for name in ("provider", "model", "endpoints"):
        if name in layered and 1 in tiers:
            sources[f"tiers.1.{name}"] = layered[name]
    update: dict[str, Any] = {"tiers": {n: _with_endpoints(s) for n, s in tiers.items()}}
    for name, flag in (
        ("max_attempts", "--max-attempts"),
        ("cloud_fallback", "--cloud-fallback"),
        ("timeout", "--timeout"),
    ):
        value = getattr(merged, name)
        if value:
            update[name] = value
            sources[name] = f"flag {flag}"
    cache_dir, cache_source = cache_directory(config, merged, loaded.source)
    sources["cache_dir"] = layered.get("cache_dir", cache_source)
    effective = Effective(
        config=config.model_copy(update=update),
        file=loaded.source,
        flags=merged,
        start=folder,
        cache_dir=cache_dir,
        sources=sources,
    )
    for level, spec in sorted(effective.config.tiers.items()):
        specs: list[tuple[str, ModelSpec]] = [(f"tiers.{level}.api_key", spec)]
        if isinstance(spec, TierSpec) and spec.fallback is not None:
            specs.append((f"tiers.{level}.fallback.api_key", spec.fallback))
        for key, model in specs:
            info = _key_info(key, model, merged, folder)
            if info is not None:
                effective.keys.append(info)
    return effective

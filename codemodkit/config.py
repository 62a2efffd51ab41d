"""``[tool.codemod]`` in ``pyproject.toml`` or a ``codemod.toml``: models, tiers, limits.

Found by walking up from the first target path; ``codemod.toml`` (top-level keys)
wins over ``pyproject.toml`` in the same folder. Validated by pydantic, and any
mistake becomes one line naming the file, the key and what was expected. API keys
never live here: a model names the environment variable that holds its key
(``api_key_env``), read from the environment or a ``.env`` file. The file is the lowest
layer: ``.env``, then the environment, then flags override it (``codemodkit.llm.setup``;
``codemod config show`` prints each value's source).

    [tool.codemod]
    max_attempts = 3
    cloud_fallback = true

    [tool.codemod.tiers.1]            # fast, local
    provider = "ollama"
    model = "qwen2.5-coder:7b"
    endpoints = ["http://gpu1:11434", "http://gpu2:11434"]
    server_slots = 4                  # the servers' OLLAMA_NUM_PARALLEL
    fallback = { provider = "anthropic", model = "claude-haiku-4-5" }

    [tool.codemod.tiers.3]            # strongest, cloud
    provider = "anthropic"
    model = "claude-sonnet-4-5"
    rpm = 50

    [tool.codemod.tsfix]              # `codemod tsfix` (see codemodkit.tsfix.classify)
    tiers = { "2322" = 1, "TS2769" = 2 }   # error code -> model tier, over the default table
    allow_any = false                 # accept fixes that add `any`
    allow_non_null = false            # ... that add a non-null `!` assertion
    allow_ts_comments = false         # ... that add `@ts-ignore` / `@ts-expect-error`
    max_rounds = 5
    mode = "sequential"               # or "parallel", "hybrid"
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "CodemodConfig",
    "ConfigError",
    "LoadedConfig",
    "ModelSpec",
    "TierSpec",
    "TsfixConfig",
    "load_config",
]

ProviderName = Literal["template", "ollama", "openai", "anthropic"]
CLOUD_PROVIDERS = frozenset({"openai", "anthropic"})


class ConfigError(Exception):
    """One line: the file, the key and what was expected."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    provider: ProviderName
    model: str | None = None
    endpoints: tuple[str, ...] = ()
    #: the environment variable holding this model's API key (default per provider)
    api_key_env: str | None = None
    max_parallel: Annotated[int, Field(ge=1)] | None = None
    rpm: Annotated[int, Field(ge=1)] | None = None
    tpm: Annotated[int, Field(ge=1)] | None = None
    #: Ollama's OLLAMA_NUM_PARALLEL on the servers (its API does not tell)
    server_slots: Annotated[int, Field(ge=1)] | None = None
    #: Ollama's context size, kept constant so the model is never reloaded
    num_ctx: Annotated[int, Field(ge=256)] = 8192
    timeout: Annotated[float, Field(gt=0)] | None = None

    @property
    def is_cloud(self) -> bool:
        return self.provider in CLOUD_PROVIDERS


class TierSpec(ModelSpec):
    #: a cloud model; by default openai and anthropic are, ollama is not
    cloud: bool | None = None
    #: the cloud model a failing local request is retried on (--cloud-fallback)
    fallback: ModelSpec | None = None

    @property
    def is_cloud(self) -> bool:
        return self.cloud if self.cloud is not None else self.provider in CLOUD_PROVIDERS


def _error_codes(value: Any) -> Any:
    """``"TS2322"`` and ``"2322"`` both name error 2322 (TOML keys are strings)."""
    if isinstance(value, Mapping):
        return {
            key[2:] if isinstance(key, str) and key[:2].upper() == "TS" else key: tier
            for key, tier in value.items()
        }
    return value


class TsfixConfig(_Strict):
    #: error code -> model tier, over the default table of ``codemodkit.tsfix.classify``
    tiers: Annotated[
        dict[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1, le=3)]],
        BeforeValidator(_error_codes),
    ] = Field(default_factory=dict)
    allow_any: bool = False
    allow_non_null: bool = False
    allow_ts_comments: bool = False
    max_rounds: Annotated[int, Field(ge=1, le=50)] = 5
    mode: Literal["sequential", "parallel", "hybrid"] = "sequential"


class TelemetryConfig(_Strict):
    """``[tool.codemod.telemetry]``: defaults for ``codemod telemetry``'s flags."""

    include_tests: bool = False
    include_generated: bool = False


class CodemodConfig(_Strict):
    #: .gitignore-style patterns every command skips (added to ``--exclude``)
    exclude: tuple[str, ...] = ()
    tiers: dict[Annotated[int, Field(ge=1, le=3)], TierSpec] = Field(default_factory=dict)
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    cloud_fallback: bool = False
    timeout: Annotated[float, Field(gt=0)] = 120.0
    cache_dir: str | None = None
    tsfix: TsfixConfig = Field(default_factory=TsfixConfig)
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)


class LoadedConfig(BaseModel):
    config: CodemodConfig
    #: the file it came from (None: defaults)
    source: Path | None = None


def _unknown_key(loc: tuple[Any, ...]) -> str:
    """ "unknown key", with the likely intended key or the allowed ones."""
    table: type[BaseModel] = CodemodConfig
    if loc[0] == "tsfix":
        table = TsfixConfig
    elif loc[0] == "tiers" and len(loc) > 2:
        table = ModelSpec if "fallback" in loc[2:-1] else TierSpec
    allowed = sorted(table.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"unknown key (did you mean {close[0]}?)"
    return f"unknown key (expected one of: {', '.join(allowed)})"


def _describe(error: Mapping[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"] if part != "[key]")
    message = str(error["msg"])
    if "[key]" in error["loc"]:
        tsfix = error["loc"][0] == "tsfix"
        message = "an error code is a number such as 2322" if tsfix else "a tier is 1, 2 or 3"
        error = {**error, "type": "key"}
    if error["type"] == "extra_forbidden":
        message = _unknown_key(tuple(error["loc"]))
    elif "input" in error and error["type"] not in ("missing",):
        message = f"{message} (got {error['input']!r})"
    return f"{location}: {message}"


def parse_config(data: Mapping[str, Any], source: Path | None, table: str = "") -> CodemodConfig:
    try:
        return CodemodConfig.model_validate(data)
    except ValidationError as exc:
        where = f"{source.name}: " if source else ""
        prefix = f"[{table}] " if table else ""
        raise ConfigError(f"{where}{prefix}{_describe(exc.errors()[0])}") from None


def find_config_file(start: Path) -> tuple[Path, str] | None:
    """The nearest ``codemod.toml``, or ``pyproject.toml`` with a ``[tool.codemod]`` table."""
    folder = start.resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        own = candidate / "codemod.toml"
        if own.is_file():
            return own, ""
        pyproject = candidate / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # not ours to judge; keep looking
            if isinstance(data.get("tool"), dict) and "codemod" in data["tool"]:
                return pyproject, "tool.codemod"
    return None


def load_config(start: Path) -> LoadedConfig:
    found = find_config_file(start)
    if found is None:
        return LoadedConfig(config=CodemodConfig())
    path, table = found
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    for part in table.split(".") if table else ():
        data = data.get(part, {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: [{table}] must be a table")
    return LoadedConfig(config=parse_config(data, path, table), source=path)

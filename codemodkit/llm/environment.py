"""The environment layer of the configuration: ``LLM_*``, ``CODEMOD_CACHE_DIR`` and API keys.

Precedence, lowest first: built-in defaults < ``[tool.codemod]`` / ``codemod.toml`` <
``.env`` < the real environment < command-line flags. A variable really set in the
environment beats the same name in ``.env`` (python-dotenv's convention, and what
``secrets.resolve_api_key`` does for keys). ``.env`` is the nearest one at or above the
target; ``os.environ`` is never modified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from .secrets import find_dotenv

__all__ = ["SETTINGS", "Setting", "read_environment", "variable_source"]

#: the settings (not keys) read from the environment or ``.env``
SETTINGS = ("LLM_PROVIDER", "LLM_MODEL", "LLM_BASE_URL", "CODEMOD_CACHE_DIR")


@dataclass(frozen=True)
class Setting:
    value: str
    #: where it came from, as ``config show`` prints it: ``env LLM_MODEL`` or ``.env LLM_MODEL``
    source: str


def _dotenv(start: Path) -> tuple[Path | None, Mapping[str, str | None]]:
    found = find_dotenv(start)
    return found, (dotenv_values(found) if found is not None else {})


def read_environment(start: Path, env: Mapping[str, str] | None = None) -> dict[str, Setting]:
    """The ``SETTINGS`` that are set (non-empty), each with its source."""
    environ = os.environ if env is None else env
    dotenv, values = _dotenv(start)
    found: dict[str, Setting] = {}
    for name in SETTINGS:
        if environ.get(name, "").strip():
            found[name] = Setting(environ[name].strip(), f"env {name}")
        elif (values.get(name) or "").strip():
            found[name] = Setting(str(values[name]).strip(), f".env {name} ({dotenv})")
    return found


def variable_source(name: str, start: Path, env: Mapping[str, str] | None = None) -> str | None:
    """Where the variable ``name`` (an API key's) is set: ``env NAME``, ``.env NAME (path)``."""
    environ = os.environ if env is None else env
    if environ.get(name):
        return f"env {name}"
    dotenv, values = _dotenv(start)
    if values.get(name):
        return f".env {name} ({dotenv})"
    return None

"""Build a provider from its name: ``make_provider("ollama", "qwen2.5-coder:7b", None)``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._http import HTTPProvider
from .anthropic import AnthropicProvider
from .ollama import OllamaProvider
from .openai import OpenAIProvider

__all__ = ["DEFAULT_ENDPOINTS", "PROVIDER_NAMES", "make_provider"]

#: where each provider listens when the user names no endpoint
DEFAULT_ENDPOINTS: Mapping[str, str] = {
    "ollama": "http://127.0.0.1:11434",
    "openai": "https://api.openai.com",
    "anthropic": "https://api.anthropic.com",
}

_FACTORIES: Mapping[str, Callable[..., HTTPProvider]] = {
    "ollama": OllamaProvider,
    "openai": OpenAIProvider,
    "anthropic": AnthropicProvider,
}
PROVIDER_NAMES = tuple(_FACTORIES)


def make_provider(name: str, model: str, api_key: str | None, **options: Any) -> HTTPProvider:
    """The provider called ``name``; ``options`` go to its constructor (e.g. ``num_ctx``).

    The result satisfies ``base.Provider`` and has ``close()`` for its connection pool.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        choices = ", ".join(PROVIDER_NAMES)
        raise ValueError(f"unknown LLM provider {name!r}; choose one of: {choices}")
    return factory(model, api_key=api_key, **options)

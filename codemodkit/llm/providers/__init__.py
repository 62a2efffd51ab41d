"""HTTP providers: thin adapters from ``Prompt`` to one wire protocol and back.

No retries, limits or caching here (the manager does those); each ``call`` is one POST on
a pooled ``httpx.Client`` and either returns an ``Answer`` or raises ``ProviderError``.
"""

from ._http import HTTPProvider, parse_retry_after
from .anthropic import AnthropicProvider
from .ollama import OllamaProvider
from .openai import OpenAIProvider
from .registry import DEFAULT_ENDPOINTS, PROVIDER_NAMES, make_provider

__all__ = [
    "DEFAULT_ENDPOINTS",
    "PROVIDER_NAMES",
    "AnthropicProvider",
    "HTTPProvider",
    "OllamaProvider",
    "OpenAIProvider",
    "make_provider",
    "parse_retry_after",
]

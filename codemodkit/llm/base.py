"""What the LLM manager takes and returns; providers implement ``Provider``.

The manager knows prompts and completions only, never syntax trees or codemods.
A provider makes one HTTP call to one endpoint and either returns an ``Answer`` or
raises ``ProviderError``; retries, limits, endpoint choice and caching are the
manager's business, so every provider stays a thin adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["Answer", "Completion", "ErrorKind", "Prompt", "Provider", "ProviderError"]


@dataclass(frozen=True)
class Prompt:
    request_id: str
    system: str
    user: str
    #: the deterministic answer, used by the ``template`` provider and as last resort
    fallback: str
    #: JSON schema of the expected answer (structured output), if any
    schema: Mapping[str, Any] | None = None
    #: version of the prompt template; part of the cache key
    template_version: str = "0"
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """One successful provider call: the model's text and what the server said."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    #: response headers, names lower-cased (rate-limit headers are read from here)
    headers: Mapping[str, str] = field(default_factory=dict)


ErrorKind = Literal["connect", "timeout", "http", "malformed", "config"]


class ProviderError(Exception):
    """A failed call. The message never contains an API key.

    ``retryable`` says whether the same request may succeed later (connect errors,
    timeouts, 408/409/429/5xx/529, a truncated or malformed body); ``retry_after``
    is the server's requested wait in seconds, if it named one.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.headers: Mapping[str, str] = dict(headers or {})


@dataclass(frozen=True)
class Completion:
    """A model answer or a clear per-request error, with its provenance."""

    request_id: str
    text: str | None
    error: str | None = None
    provider: str = "template"
    model: str | None = None
    tier: int = 0
    endpoint: str | None = None
    #: answers asked for (escalations included)
    attempts: int = 1
    #: transport retries behind the final answer
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.text is not None and self.error is None


class Provider(Protocol):
    """One model behind one wire protocol; ``call`` is one HTTP request, no retries."""

    name: str
    model: str

    def call(self, endpoint: str, prompt: Prompt, timeout: float) -> Answer: ...

"""What the LLM manager takes and returns; providers implement ``Provider``.

The manager knows prompts and completions only, never syntax trees or codemods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Completion", "Prompt", "Provider"]


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
class Completion:
    """A model answer or a clear per-request error, with its provenance."""

    request_id: str
    text: str | None
    error: str | None = None
    provider: str = "template"
    model: str | None = None
    tier: int = 0
    endpoint: str | None = None
    attempts: int = 1
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.text is not None and self.error is None


class Provider(Protocol):
    name: str

    def complete(self, prompt: Prompt) -> Completion: ...

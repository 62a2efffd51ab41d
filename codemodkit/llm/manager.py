"""Fan prompts out to a provider and return completions in input order."""

from __future__ import annotations

from collections.abc import Sequence

from .base import Completion, Prompt
from .template import TemplateProvider

__all__ = ["LLMManager"]


class LLMManager:
    """Resolves prompts with one provider.

    With the built-in template provider answers are local and instant, so they are
    produced in order on the calling thread.
    """

    def __init__(self, provider: TemplateProvider) -> None:
        self.provider = provider

    def complete_all(self, prompts: Sequence[Prompt]) -> list[Completion]:
        results: list[Completion] = []
        for prompt in prompts:
            try:
                results.append(self.provider.complete(prompt))
            except Exception as exc:  # one failure never sinks the batch
                results.append(
                    Completion(prompt.request_id, None, error=f"{type(exc).__name__}: {exc}")
                )
        return results

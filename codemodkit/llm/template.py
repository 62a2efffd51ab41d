"""The built-in deterministic provider: answers every prompt with its fallback.

It is the default, so every command works offline with no model at all.
"""

from __future__ import annotations

from .base import Completion, Prompt

__all__ = ["TemplateProvider"]


class TemplateProvider:
    name = "template"

    def complete(self, prompt: Prompt) -> Completion:
        return Completion(request_id=prompt.request_id, text=prompt.fallback, provider=self.name)

"""The manager's view of the disk cache: one entry per (model, exact prompt).

The key covers provider, model, the messages, the parameters that shape the answer
and the prompt template's version - never the endpoint (the same model on another
server gives the same answer) and never an API key.
"""

from __future__ import annotations

import contextlib
from typing import Any

from codemodkit.cache import AnswerCache, CachedAnswer, CacheError, cache_key

from .base import Completion, Prompt
from .client import ModelClient

__all__ = ["CachedStore", "prompt_key"]


def prompt_key(client: ModelClient, prompt: Prompt) -> str:
    """The key of exactly what would be sent: the provider's request body (model,
    messages, options such as temperature and ``num_ctx``, the schema) - which never
    holds the key (that travels in a header) or the endpoint."""
    build = getattr(client.provider, "request_body", None)
    body: dict[str, Any] = dict(build(prompt)) if callable(build) else {}
    messages = body.pop("messages", None) or [
        {"role": "system", "content": prompt.system},
        {"role": "user", "content": prompt.user},
    ]
    body.pop("model", None)
    return cache_key(
        provider=client.name,
        model=client.model,
        messages=messages,
        params=body,
        schema=prompt.schema,
        template_version=prompt.template_version,
    )


class CachedStore:
    def __init__(self, cache: AnswerCache) -> None:
        self.cache = cache

    def lookup(self, client: ModelClient, prompt: Prompt) -> str | None:
        try:
            found = self.cache.get(prompt_key(client, prompt))
        except CacheError:
            return None  # an unreadable cache costs a request, not the run
        return found.text if found is not None else None

    def store(self, client: ModelClient, prompt: Prompt, text: str, completion: Completion) -> None:
        answer = CachedAnswer(
            text=text,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            model=client.model,
            provider=client.name,
        )
        # A failed write loses nothing but the next run's saving.
        with contextlib.suppress(CacheError):
            self.cache.put(prompt_key(client, prompt), answer)

    def close(self) -> None:
        self.cache.close()

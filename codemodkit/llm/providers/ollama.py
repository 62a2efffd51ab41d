"""Ollama's native chat API: ``POST /api/chat`` with ``stream: false``.

Structured output goes in ``format`` (a JSON schema). ``options.num_ctx`` is the same on
every call of a provider, because a different value makes Ollama reload the model.
``api_key`` is only for Ollama's cloud, sent as a Bearer token.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..base import Answer, Prompt
from ._http import HTTPProvider, as_count, join_url

__all__ = ["OllamaProvider"]


class OllamaProvider(HTTPProvider):
    name = "ollama"
    key_variable = "OLLAMA_API_KEY"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        num_ctx: int = 8192,
        temperature: float = 0.0,
        seed: int | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(model, api_key=api_key, client=client)
        self.options: dict[str, Any] = {"num_ctx": num_ctx, "temperature": temperature}
        if seed is not None:
            self.options["seed"] = seed

    def request_body(self, prompt: Prompt) -> dict[str, Any]:
        messages = [{"role": "user", "content": prompt.user}]
        if prompt.system:
            messages.insert(0, {"role": "system", "content": prompt.system})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": False,
            "options": dict(self.options),
        }
        if prompt.schema is not None:
            body["format"] = dict(prompt.schema)
        return body

    def call(self, endpoint: str, prompt: Prompt, timeout: float) -> Answer:
        url = join_url(endpoint, "/api/chat")
        data, headers = self._post(url, self.request_body(prompt), self._bearer(), timeout)
        message = data.get("message") if isinstance(data, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content:
            raise self._malformed(url, "an answer without message.content", headers)
        return Answer(
            content,
            tokens_in=as_count(data.get("prompt_eval_count")),
            tokens_out=as_count(data.get("eval_count")),
            headers=headers,
        )

    def _status_message(
        self, url: str, status: int, excerpt: str, retry_after: float | None
    ) -> str:
        if status == 404:
            said = f" (server said: {excerpt})" if excerpt else ""
            return (
                f"model '{self.model}' not found at {url}; "
                f"run `ollama pull {self.model}` on that server{said}"
            )
        return super()._status_message(url, status, excerpt, retry_after)

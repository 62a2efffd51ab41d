"""Anthropic's Messages API: ``POST /v1/messages``.

The key goes in ``x-api-key`` and the API version in ``anthropic-version``. This API
version has no JSON-schema parameter, so a schema becomes an instruction at the end of the
system prompt; the answer is the text of the ``text`` content blocks, joined.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..base import Answer, Prompt, ProviderError
from ._http import HTTPProvider, as_count, join_url, system_with_schema

__all__ = ["AnthropicProvider"]


class AnthropicProvider(HTTPProvider):
    name = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        max_tokens: int = 1024,
        version: str = "2023-06-01",
        temperature: float = 0.0,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(model, api_key=api_key, client=client)
        self.max_tokens = max_tokens
        self.version = version
        self.temperature = temperature

    def request_body(self, prompt: Prompt) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "messages": [{"role": "user", "content": prompt.user}],
        }
        system = system_with_schema(prompt.system, prompt.schema)
        if system:
            body["system"] = system
        return body

    def call(self, endpoint: str, prompt: Prompt, timeout: float) -> Answer:
        if self._api_key is None:
            # every request would be a 401; say what to do instead of asking the server
            raise ProviderError(
                "anthropic: no API key; set ANTHROPIC_API_KEY or pass --api-key",
                kind="config",
                retryable=False,
            )
        url = join_url(endpoint, "/v1/messages", strip_v1=True)
        headers = {"x-api-key": self._api_key, "anthropic-version": self.version}
        data, response_headers = self._post(url, self.request_body(prompt), headers, timeout)
        blocks = data.get("content") if isinstance(data, dict) else None
        text = ""
        if isinstance(blocks, list):
            text = "".join(
                block["text"]
                for block in blocks
                if isinstance(block, dict)
                and block.get("type") == "text"
                and isinstance(block.get("text"), str)
            )
        if not text:
            raise self._malformed(url, "an answer without text content", response_headers)
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return Answer(
            text,
            tokens_in=as_count(usage.get("input_tokens")),
            tokens_out=as_count(usage.get("output_tokens")),
            headers=response_headers,
        )

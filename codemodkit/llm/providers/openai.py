"""Any OpenAI-compatible chat API: ``POST …/v1/chat/completions``.

Covers OpenAI, vLLM, the llama.cpp server, LM Studio, Ollama's ``/v1`` and LiteLLM
proxies; the endpoint may be given with or without its trailing ``/v1``.

Structured output: with a schema and ``json_schema=True`` (the default) the request
carries ``response_format: {"type": "json_schema", "json_schema": {"name": "answer",
"schema": …, "strict": strict}}``. Servers that only know JSON mode get
``json_schema=False``: ``{"type": "json_object"}``, and the schema moves into the system
prompt as an instruction (JSON mode also needs the word "JSON" in the messages). Without
a schema there is no ``response_format``.
"""

from __future__ import annotations

from typing import Any

import httpx

from ..base import Answer, Prompt
from ._http import HTTPProvider, as_count, error_excerpt, join_url, system_with_schema

__all__ = ["OpenAIProvider"]


class OpenAIProvider(HTTPProvider):
    name = "openai"
    key_variable = "OPENAI_API_KEY"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        temperature: float = 0.0,
        json_schema: bool = True,
        strict: bool = False,
        seed: int | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        super().__init__(model, api_key=api_key, client=client)
        self.temperature = temperature
        self.json_schema = json_schema
        # strict mode needs every property required and additionalProperties false
        self.strict = strict
        self.seed = seed

    def request_body(self, prompt: Prompt) -> dict[str, Any]:
        system = prompt.system
        response_format: dict[str, Any] | None = None
        if prompt.schema is not None and self.json_schema:
            response_format = {
                "type": "json_schema",
                "json_schema": {
                    "name": "answer",
                    "schema": dict(prompt.schema),
                    "strict": self.strict,
                },
            }
        elif prompt.schema is not None:
            response_format = {"type": "json_object"}
            system = system_with_schema(system, prompt.schema)
        messages = [{"role": "user", "content": prompt.user}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
        }
        if self.seed is not None:
            body["seed"] = self.seed
        if response_format is not None:
            body["response_format"] = response_format
        return body

    def call(self, endpoint: str, prompt: Prompt, timeout: float) -> Answer:
        url = join_url(endpoint, "/v1/chat/completions", strip_v1=True)
        data, headers = self._post(url, self.request_body(prompt), self._bearer(), timeout)
        choices = data.get("choices") if isinstance(data, dict) else None
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content:
            refusal = message.get("refusal") if isinstance(message, dict) else None
            if isinstance(refusal, str) and refusal:
                what = f"a refusal instead of an answer: {error_excerpt(refusal)!r}"
            else:
                what = "an answer without choices[0].message.content"
            raise self._malformed(url, what, headers)
        usage = data.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return Answer(
            content,
            tokens_in=as_count(usage.get("prompt_tokens")),
            tokens_out=as_count(usage.get("completion_tokens")),
            headers=headers,
        )

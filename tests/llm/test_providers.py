"""Each provider against the simulated server: what goes on the wire, what comes back."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from llm_server import Fault, ServerConfig, SimServer

from codemodkit.llm.base import Answer, Prompt, ProviderError
from codemodkit.llm.providers import (
    DEFAULT_ENDPOINTS,
    AnthropicProvider,
    HTTPProvider,
    OllamaProvider,
    OpenAIProvider,
    make_provider,
)

SimServerFactory = Callable[..., SimServer]
ProviderFactory = Callable[..., HTTPProvider]
PromptFactory = Callable[..., Prompt]

SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string"}},
    "required": ["code"],
    "additionalProperties": False,
}
ANSWER = '{"code": "x = 1"}'


@pytest.fixture
def server(sim_server: SimServerFactory) -> SimServer:
    return sim_server(responder=lambda request: ANSWER)


# -- Ollama ----------------------------------------------------------------------------


def test_ollama_request_and_answer(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    provider = llm_provider("ollama", num_ctx=4096, temperature=0.2, seed=3)
    answer = provider.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    assert answer == Answer(ANSWER, tokens_in=8, tokens_out=5, headers=answer.headers)
    assert answer.headers["content-type"] == "application/json"
    seen = server.stats.last_request
    assert seen.protocol == "ollama" and seen.path == "/api/chat"
    assert seen.body["stream"] is False
    assert seen.schema == SCHEMA
    assert seen.options == {"num_ctx": 4096, "temperature": 0.2, "seed": 3}
    assert seen.messages == [
        {"role": "system", "content": "you rewrite code"},
        {"role": "user", "content": "rewrite this"},
    ]
    assert "authorization" not in seen.headers


def test_ollama_keeps_num_ctx_constant_and_omits_format_without_schema(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    provider = llm_provider("ollama")
    provider.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    provider.call(server.url, make_prompt(user="a much longer prompt " * 50, system=""), 5)
    first, second = server.stats.requests
    assert first.options["num_ctx"] == second.options["num_ctx"] == 8192
    assert "format" not in second.body
    assert second.messages == [{"role": "user", "content": "a much longer prompt " * 50}]


def test_ollama_cloud_key_is_a_bearer_token(
    sim_server: SimServerFactory, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server = sim_server(api_key="ollama-cloud-key-1")
    provider = llm_provider("ollama", api_key="ollama-cloud-key-1")
    assert provider.call(server.url + "/", make_prompt(), timeout=5).text == "{}"
    assert server.stats.last_request.headers["authorization"] == "Bearer ollama-cloud-key-1"


# -- OpenAI-compatible -----------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_openai_endpoint_with_or_without_v1(
    server: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    suffix: str,
) -> None:
    provider = llm_provider("openai", api_key="sk-test-openai-1")
    answer = provider.call(server.url + suffix, make_prompt(schema=SCHEMA), timeout=5)
    assert (answer.text, answer.tokens_in, answer.tokens_out) == (ANSWER, 8, 5)
    seen = server.stats.last_request
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-openai-1"
    assert seen.body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": SCHEMA, "strict": False},
    }
    assert seen.schema == SCHEMA
    assert seen.body["temperature"] == 0.0
    assert "stream" not in seen.body


def test_openai_json_mode_puts_the_schema_in_the_system_prompt(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    provider = llm_provider("openai", json_schema=False)
    provider.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    seen = server.stats.last_request
    assert seen.body["response_format"] == {"type": "json_object"}
    system = seen.messages[0]["content"]
    assert system.startswith("you rewrite code\n\n") and "JSON" in system
    assert json.dumps(SCHEMA, sort_keys=True) in system


def test_openai_strict_and_no_schema(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    strict = llm_provider("openai", strict=True, seed=1)
    strict.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    assert server.stats.last_request.body["response_format"]["json_schema"]["strict"] is True
    assert server.stats.last_request.body["seed"] == 1
    strict.call(server.url, make_prompt(), timeout=5)
    assert "response_format" not in server.stats.last_request.body


def test_openai_rate_limit_headers_reach_the_answer(
    sim_server: SimServerFactory, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server = sim_server(rpm=100, window=60.0)
    answer = llm_provider("openai").call(server.url, make_prompt(), timeout=5)
    assert answer.headers["x-ratelimit-limit-requests"] == "100"
    assert answer.headers["x-ratelimit-remaining-requests"] == "99"
    assert answer.headers["x-ratelimit-reset-requests"] == "1m0s"


def test_openai_refusal_is_malformed(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    refusal = {"choices": [{"message": {"role": "assistant", "content": None, "refusal": "no."}}]}
    server.script([Fault("200", body=json.dumps(refusal))])
    with pytest.raises(ProviderError) as caught:
        llm_provider("openai").call(server.url, make_prompt(), timeout=5)
    assert caught.value.kind == "malformed" and caught.value.retryable
    assert "refusal" in caught.value.message


# -- Anthropic -------------------------------------------------------------------------


def test_anthropic_request_and_answer(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    provider = llm_provider("anthropic", model="sim-model", api_key="sk-ant-test-1")
    answer = provider.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    assert (answer.text, answer.tokens_out) == (ANSWER, 5)
    assert answer.tokens_in > 8  # the schema instruction is part of the prompt
    seen = server.stats.last_request
    assert seen.path == "/v1/messages"
    assert seen.headers["x-api-key"] == "sk-ant-test-1"
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in seen.headers
    assert seen.body["max_tokens"] == 1024
    assert seen.messages == [{"role": "user", "content": "rewrite this"}]
    assert seen.system is not None and seen.system.startswith("you rewrite code\n\n")
    assert json.dumps(SCHEMA, sort_keys=True) in seen.system
    assert seen.schema is None  # no schema parameter in this API version


def test_anthropic_options_and_no_system(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    provider = llm_provider(
        "anthropic", api_key="sk-ant-test-1", max_tokens=99, version="2024-01-01"
    )
    provider.call(server.url + "/v1", make_prompt(system=""), timeout=5)
    seen = server.stats.last_request
    assert seen.body["max_tokens"] == 99
    assert seen.headers["anthropic-version"] == "2024-01-01"
    assert "system" not in seen.body


def test_anthropic_joins_text_blocks_only(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    body = {
        "type": "message",
        "content": [
            {"type": "thinking", "thinking": "hmm"},
            {"type": "text", "text": '{"code": '},
            {"type": "text", "text": '"y"}'},
        ],
        "usage": {"input_tokens": 7, "output_tokens": 3},
    }
    server.script([Fault("200", body=json.dumps(body))])
    provider = llm_provider("anthropic", api_key="sk-ant-test-1")
    answer = provider.call(server.url, make_prompt(), timeout=5)
    assert (answer.text, answer.tokens_in, answer.tokens_out) == ('{"code": "y"}', 7, 3)


def test_anthropic_without_key_is_a_config_error(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    with pytest.raises(ProviderError) as caught:
        llm_provider("anthropic").call(server.url, make_prompt(), timeout=5)
    assert caught.value.kind == "config" and not caught.value.retryable
    assert "ANTHROPIC_API_KEY" in caught.value.message
    assert server.stats.total == 0


# -- shared behaviour ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ollama", "openai", "anthropic"])
def test_schema_mismatch_is_not_the_providers_problem(
    server: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    server.script([Fault("schema")])
    provider = llm_provider(name, api_key="sk-shared-test-1")
    answer = provider.call(server.url, make_prompt(schema=SCHEMA), timeout=5)
    assert answer.text in ("not json at all", '{"unexpected": 1}')


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("ollama", {"message": {"role": "assistant", "content": ""}}),
        ("ollama", {"done": True}),
        ("openai", {"choices": []}),
        ("openai", {"choices": [{"message": {"content": None}}]}),
        ("anthropic", {"content": []}),
        ("anthropic", {"content": [{"type": "tool_use", "input": {}}]}),
        ("anthropic", ["not", "an", "object"]),
    ],
)
def test_missing_or_empty_content_is_malformed(
    server: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
    body: object,
) -> None:
    server.script([Fault("200", body=json.dumps(body))])
    with pytest.raises(ProviderError) as caught:
        llm_provider(name, api_key="sk-shared-test-1").call(server.url, make_prompt(), 5)
    assert (caught.value.kind, caught.value.retryable, caught.value.status) == (
        "malformed",
        True,
        200,
    )


def test_missing_usage_counts_zero(
    server: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server.script([Fault("200", body=json.dumps({"message": {"content": "ok"}}))])
    answer = llm_provider("ollama").call(server.url, make_prompt(), timeout=5)
    assert (answer.text, answer.tokens_in, answer.tokens_out) == ("ok", 0, 0)


def test_one_provider_many_threads(
    sim_server: SimServerFactory, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server = sim_server(slots=4, latency=0.02, responder=lambda r: r.messages[-1]["content"])
    provider = llm_provider("ollama")

    def ask(i: int) -> str:
        return provider.call(server.url, make_prompt(user=f"prompt {i}"), timeout=5).text

    with ThreadPoolExecutor(20) as pool:
        texts = list(pool.map(ask, range(40)))
    assert texts == [f"prompt {i}" for i in range(40)]
    assert server.stats.max_concurrent == 4
    assert server.stats.connections <= 20  # the pool reuses connections


def test_make_provider(llm_provider: ProviderFactory) -> None:
    ollama = llm_provider("ollama", model="qwen2.5-coder:7b", num_ctx=2048)
    assert isinstance(ollama, OllamaProvider)
    assert (ollama.name, ollama.model, ollama.options["num_ctx"]) == (
        "ollama",
        "qwen2.5-coder:7b",
        2048,
    )
    assert isinstance(llm_provider("openai", json_schema=False), OpenAIProvider)
    anthropic = llm_provider("anthropic", api_key="sk-ant-test-1", max_tokens=5)
    assert isinstance(anthropic, AnthropicProvider) and anthropic.max_tokens == 5
    assert "sk-ant" not in repr(anthropic)
    with pytest.raises(ValueError, match="unknown LLM provider 'gemini'"):
        make_provider("gemini", "m", None)
    assert DEFAULT_ENDPOINTS == {
        "ollama": "http://127.0.0.1:11434",
        "openai": "https://api.openai.com",
        "anthropic": "https://api.anthropic.com",
    }


def test_a_given_client_is_used_and_left_open(make_prompt: PromptFactory) -> None:
    with SimServer(ServerConfig()) as server, httpx.Client() as client:
        provider = OllamaProvider("sim-model", client=client)
        provider.call(server.url, make_prompt(), timeout=5)
        provider.close()
        assert not client.is_closed
        assert client.get(f"{server.url}/api/version").json() == {"version": "0.0.0-sim"}


def test_close_closes_the_own_pool(server: SimServer, make_prompt: PromptFactory) -> None:
    with OpenAIProvider("sim-model") as provider:
        provider.call(server.url, make_prompt(), timeout=5)
    with pytest.raises(RuntimeError):
        provider.call(server.url, make_prompt(), timeout=5)

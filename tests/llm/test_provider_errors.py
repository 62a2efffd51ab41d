"""Every way a call can fail becomes one ProviderError with the right kind and advice."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from llm_server import Fault, SimServer

from codemodkit.llm.base import Prompt, ProviderError
from codemodkit.llm.providers import HTTPProvider, parse_retry_after

SimServerFactory = Callable[..., SimServer]
ProviderFactory = Callable[..., HTTPProvider]
PromptFactory = Callable[..., Prompt]

PROVIDERS = ["ollama", "openai", "anthropic"]
KEY = "sk-test-errors-key-1"


def fail(provider: HTTPProvider, url: str, prompt: Prompt, timeout: float = 5) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.call(url, prompt, timeout)
    return caught.value


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize(
    ("fault", "kind", "status"),
    [
        ("500", "http", 500),
        ("503", "http", 503),
        ("529", "http", 529),
        ("408", "http", 408),
        ("409", "http", 409),
        ("drop", "connect", None),
        ("malformed", "malformed", 200),
        ("truncated", "malformed", 200),
    ],
)
def test_retryable_faults(
    sim: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
    fault: str,
    kind: str,
    status: int | None,
) -> None:
    sim.script([Fault(fault)])
    error = fail(llm_provider(name, api_key=KEY), sim.url, make_prompt())
    assert (error.kind, error.retryable, error.status) == (kind, True, status)
    assert error.message.startswith(f"{name}: ")
    if status == 503:
        assert "server busy, please try again" in error.message


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_client_errors_are_not_retryable(
    sim: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
    status: int,
) -> None:
    sim.script([Fault(str(status))])
    error = fail(llm_provider(name, api_key=KEY), sim.url, make_prompt())
    assert (error.kind, error.retryable, error.status) == ("http", False, status)


def test_x_should_retry_overrides_the_status(
    sim: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    sim.script(
        [
            Fault("400", headers={"x-should-retry": "true"}),
            Fault("500", headers={"x-should-retry": "false"}),
        ]
    )
    provider = llm_provider("openai")
    assert fail(provider, sim.url, make_prompt()).retryable is True
    assert fail(provider, sim.url, make_prompt()).retryable is False


@pytest.mark.parametrize("name", PROVIDERS)
def test_timeout_fires_within_the_given_timeout(
    sim: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    sim.script([Fault("timeout")])
    started = time.monotonic()
    error = fail(llm_provider(name, api_key=KEY), sim.url, make_prompt(), timeout=0.15)
    elapsed = time.monotonic() - started
    assert (error.kind, error.retryable, error.status) == ("timeout", True, None)
    assert 0.15 <= elapsed < 0.6
    assert "0.15s" in error.message


def test_slow_server_times_out(
    sim_server: SimServerFactory, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server = sim_server(latency=0.3)
    error = fail(llm_provider("ollama"), server.url, make_prompt(), timeout=0.05)
    assert error.kind == "timeout"


def test_connect_error(llm_provider: ProviderFactory, make_prompt: PromptFactory) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = fail(llm_provider("ollama"), f"http://127.0.0.1:{port}", make_prompt())
    assert (error.kind, error.retryable, error.status) == ("connect", True, None)
    assert f"127.0.0.1:{port}" in error.message


def test_bad_endpoint_is_a_config_error(
    llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    error = fail(llm_provider("openai"), "ftp://example.invalid", make_prompt())
    assert (error.kind, error.retryable) == ("config", False)


# -- 429, 503 and Retry-After ----------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_rate_limit_window_429(
    sim_server: SimServerFactory,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    server = sim_server(rpm=1, window=30.0)
    provider = llm_provider(name, api_key=KEY)
    provider.call(server.url, make_prompt(), timeout=5)
    error = fail(provider, server.url, make_prompt())
    assert (error.kind, error.retryable, error.status) == ("http", True, 429)
    assert error.retry_after == 30.0
    assert "rate limited" in error.message and "retry after 30s" in error.message
    if name == "openai":
        assert error.headers["x-ratelimit-remaining-requests"] == "0"
    if name == "anthropic":
        assert error.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_retry_after_ms_wins(
    sim: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    sim.script(
        [
            Fault("429", retry_after=3),
            Fault("429", retry_after=3, headers={"retry-after-ms": "1500"}),
            Fault("503", retry_after=2),
            Fault("429"),
        ]
    )
    provider = llm_provider("openai")
    assert [fail(provider, sim.url, make_prompt()).retry_after for _ in range(4)] == [
        3.0,
        1.5,
        2.0,
        None,
    ]


def test_parse_retry_after() -> None:
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after-ms": "junk", "retry-after": "9"}) == 9.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after": "-4"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    from_date = parse_retry_after({"retry-after": format_datetime(later, usegmt=True)})
    assert from_date is not None and 28 <= from_date <= 30
    past = datetime.now(timezone.utc) - timedelta(hours=1)
    assert parse_retry_after({"retry-after": format_datetime(past, usegmt=True)}) == 0.0


@pytest.mark.parametrize(("name", "status"), [("ollama", 503), ("anthropic", 529)])
def test_queue_full(
    sim_server: SimServerFactory,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    wait_until: Callable[..., None],
    name: str,
    status: int,
) -> None:
    server = sim_server(slots=1, queue=0, latency=0.15)
    provider = llm_provider(name, api_key=KEY)
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(provider.call, server.url, make_prompt(), 5)
        wait_until(lambda: server.stats.processing == 1)
        error = fail(provider, server.url, make_prompt())
        busy.result()
    assert (error.kind, error.retryable, error.status) == ("http", True, status)


# -- keys and models -------------------------------------------------------------------


@pytest.mark.parametrize("name", PROVIDERS)
def test_rejected_key_is_named_but_never_shown(
    sim_server: SimServerFactory,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    server = sim_server(api_key="the-right-key-0001")
    wrong = f"sk-wrong-{name}-secret-42"
    error = fail(llm_provider(name, api_key=wrong), server.url, make_prompt())
    assert (error.kind, error.retryable, error.status) == ("http", False, 401)
    assert "API key was rejected" in error.message
    assert wrong not in error.message and wrong not in str(error)
    assert "Incorrect API key provided: ***" in error.message  # the server echoed it
    assert server.stats.auth_failures == 1


def test_missing_key_says_where_to_put_it(
    sim_server: SimServerFactory, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    server = sim_server(api_key="the-right-key-0001")
    error = fail(llm_provider("ollama"), server.url, make_prompt())
    assert error.status == 401 and not error.retryable
    assert "needs an API key" in error.message and "OLLAMA_API_KEY" in error.message


@pytest.mark.parametrize("name", PROVIDERS)
def test_key_echoed_in_any_error_body_is_redacted(
    sim: SimServer,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    secret = f"sk-echo-{name}-7f3a9"
    echoed = f"upstream rejected: Authorization: Bearer {secret}, x-api-key={secret}"
    body = {"error": echoed}
    sim.script([Fault("500", body=json.dumps(body))])
    error = fail(llm_provider(name, api_key=secret), sim.url, make_prompt())
    assert secret not in error.message
    assert "Bearer ***" in error.message and "x-api-key=***" in error.message


def test_error_excerpt_is_short(
    sim: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    sim.script([Fault("502", body="<html>" + "x" * 5000 + "</html>")])
    error = fail(llm_provider("openai"), sim.url, make_prompt())
    excerpt = error.message.split("answered HTTP 502: ", 1)[1]
    assert len(excerpt) <= 200 and excerpt.startswith("<html>xxx")


def test_unknown_ollama_model_says_ollama_pull(
    sim: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory
) -> None:
    error = fail(llm_provider("ollama", model="qwen9:70b"), sim.url, make_prompt())
    assert (error.kind, error.retryable, error.status) == ("http", False, 404)
    assert "ollama pull qwen9:70b" in error.message
    assert "model 'qwen9:70b' not found" in error.message


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_unknown_cloud_model(
    sim: SimServer, llm_provider: ProviderFactory, make_prompt: PromptFactory, name: str
) -> None:
    error = fail(llm_provider(name, model="gpt-9", api_key=KEY), sim.url, make_prompt())
    assert (error.status, error.retryable) == (404, False)
    assert "model 'gpt-9' not found" in error.message and "ollama pull" not in error.message


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_random_fault_is_an_answer_or_a_provider_error(
    sim_server: SimServerFactory,
    llm_provider: ProviderFactory,
    make_prompt: PromptFactory,
    name: str,
) -> None:
    server = sim_server(fault_rate=0.6, seed=11, slots=8, latency=(0.0, 0.01))
    provider = llm_provider(name, api_key=KEY)

    def outcome(_: int) -> str:
        try:
            provider.call(server.url, make_prompt(), timeout=0.2)
        except ProviderError as error:
            return error.kind
        return "answer"

    with ThreadPoolExecutor(8) as pool:
        kinds = set(pool.map(outcome, range(40)))
    assert kinds <= {"answer", "http", "timeout", "connect", "malformed"}
    assert "answer" in kinds and len(kinds) >= 4

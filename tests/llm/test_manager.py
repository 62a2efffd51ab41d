"""The LLM manager against simulated servers: order, caps, rates, retries, faults,
endpoints, tiers, cache and cancellation - all over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from llm_server import SimRequest, SimServer

from codemodkit.cache import AnswerCache
from codemodkit.codemods.base import Verdict
from codemodkit.llm.base import Prompt
from codemodkit.llm.client import ModelClient
from codemodkit.llm.endpoints import EndpointPool
from codemodkit.llm.limits import RateLimits
from codemodkit.llm.manager import LLMManager, Tier
from codemodkit.llm.stats import Stats
from codemodkit.llm.store import CachedStore

SCHEMA = {"type": "object"}


def echo(request: SimRequest) -> str:
    """Answer with the request's own number, so answers can be matched to prompts."""
    user = request.messages[-1]["content"]
    return json.dumps({"echo": user.split("#", 1)[1].split()[0]})


def prompts(n: int) -> list[Prompt]:
    return [Prompt(f"r{i}", "system", f"prompt #{i}", "{}", schema=SCHEMA) for i in range(n)]


def dead_url() -> str:
    """A port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_client(llm_provider: Callable[..., Any]) -> Callable[..., ModelClient]:
    def build(
        urls: Sequence[str],
        *,
        cap: int = 4,
        rpm: int | None = None,
        window: float = 60.0,
        timeout: float = 5.0,
        max_retries: int = 4,
        model: str = "sim-model",
        provider: str = "ollama",
        stats: Stats | None = None,
        cooldown: float = 5.0,
    ) -> ModelClient:
        return ModelClient(
            llm_provider(provider, model),
            EndpointPool(list(urls), cap, cooldown=cooldown),
            RateLimits(rpm, window=window),
            stats or Stats(),
            timeout=timeout,
            max_retries=max_retries,
        )

    return build


def test_results_come_back_in_input_order_under_random_latency(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(latency=(0.0, 0.04), slots=8, responder=echo, seed=3)
    manager = LLMManager([Tier(1, make_client([server.url], cap=8))])
    results = manager.complete_all(prompts(60))
    assert [json.loads(r.text or "")["echo"] for r in results] == [str(i) for i in range(60)]
    assert [r.request_id for r in results] == [f"r{i}" for i in range(60)]
    # the answers really arrived out of order: latencies were random and overlapping
    arrival = [int(r.messages[-1]["content"].split("#")[1]) for r in server.stats.requests]
    assert arrival != sorted(arrival) or server.stats.max_concurrent > 1


def test_concurrency_never_exceeds_the_endpoint_cap(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(latency=0.03, slots=16)
    manager = LLMManager([Tier(1, make_client([server.url], cap=3))])
    results = manager.complete_all(prompts(30))
    assert all(r.ok for r in results)
    assert server.stats.max_concurrent == 3  # reached, never exceeded
    assert server.stats.max_in_flight <= 3


def test_rpm_is_never_exceeded_in_any_window(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    # a scaled-down minute: 10 requests per second, on both sides
    server = sim_server(rpm=10, window=1.0, slots=8)
    manager = LLMManager([Tier(1, make_client([server.url], cap=8, rpm=10, window=1.0))])
    started = time.monotonic()
    results = manager.complete_all(prompts(25))
    elapsed = time.monotonic() - started
    assert all(r.ok for r in results)
    assert server.stats.count_429 == 0
    assert server.stats.max_in_window(1.0) <= 10
    assert elapsed >= 1.4  # 25 requests at 10 per second cannot be faster


def test_429_is_retried_after_the_servers_retry_after(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    # No limiter on our side: the server's 429 + Retry-After must pace us.
    server = sim_server(rpm=4, window=1.0, slots=8, retry_after_ms=True)
    stats = Stats()
    manager = LLMManager([Tier(1, make_client([server.url], cap=8, stats=stats))])
    started = time.monotonic()
    results = manager.complete_all(prompts(8))
    assert all(r.ok for r in results), [r.error for r in results]
    assert server.stats.count_429 > 0
    assert stats.total("retries") >= server.stats.count_429
    assert time.monotonic() - started >= 0.9  # the second four waited for the window
    assert server.stats.max_in_window(1.0) <= 4


def test_a_full_queue_answers_503_and_the_request_is_retried(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(latency=0.05, slots=1, queue=0)
    manager = LLMManager([Tier(1, make_client([server.url], cap=4))])
    results = manager.complete_all(prompts(6))
    assert all(r.ok for r in results)
    assert server.stats.count_503 > 0


def test_faults_at_30_percent_end_with_every_request_completed_or_reported(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(fault_rate=0.3, slots=8, seed=7, timeout_seconds=1.0, responder=echo)
    manager = LLMManager([Tier(1, make_client([server.url], cap=8, timeout=0.3))])

    def judge(prompt: Prompt, text: str) -> Verdict:
        try:
            ok = isinstance(json.loads(text), dict) and "echo" in json.loads(text)
        except ValueError:
            ok = False
        return Verdict(ok, "" if ok else "not the expected JSON object")

    results = manager.complete_all(prompts(60), judge=judge)
    assert len(results) == 60
    assert sum(server.stats.faults.values()) > 5
    for prompt, result in zip(prompts(60), results, strict=True):
        if result.ok:
            assert json.loads(result.text or "")["echo"] == prompt.user.split("#")[1]
        else:
            assert result.error  # reported, with a reason
    assert sum(r.ok for r in results) >= 50  # retries and re-asks rescue most


def test_requests_are_spread_over_endpoints_and_a_dead_one_is_avoided(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    first, second = sim_server(latency=0.01), sim_server(latency=0.01)
    stats = Stats()
    client = make_client([first.url, dead_url(), second.url], cap=2, stats=stats)
    results = LLMManager([Tier(1, client)]).complete_all(prompts(60))
    assert all(r.ok for r in results)
    assert first.stats.total >= 20 and second.stats.total >= 20
    dead = [row for row in stats.rows() if row.endpoint not in (first.url, second.url)]
    # the dead endpoint is tried until its cool-down starts, then left alone
    assert dead and dead[0].requests <= 6 and dead[0].successes == 0


def test_a_rejected_answer_goes_to_the_next_tier_with_the_attempt_and_the_reason(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    weak = sim_server(responder=lambda r: '{"bad": 1}')
    strong = sim_server(responder=lambda r: '{"good": 1}')
    tiers = [
        Tier(1, make_client([weak.url], model="sim-model")),
        Tier(2, make_client([strong.url], model="sim-model")),
    ]

    def judge(prompt: Prompt, text: str) -> Verdict:
        return Verdict("good" in text, "the answer must say good")

    (result,) = LLMManager(tiers).complete_all(prompts(1), judge=judge)
    assert result.ok and result.tier == 2 and result.attempts == 2
    asked = strong.stats.last_request.messages[-1]["content"]
    assert "prompt #0" in asked  # the original goal and code
    assert '{"bad": 1}' in asked  # the rejected attempt
    assert "the answer must say good" in asked  # and why


def test_prompts_start_at_their_own_tier_and_stop_at_the_ceiling(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    servers = [sim_server(responder=lambda r, n=n: f'{{"tier": {n}}}') for n in (1, 2, 3)]
    tiers = [Tier(n, make_client([s.url])) for n, s in zip((1, 2, 3), servers, strict=True)]
    manager = LLMManager(tiers, max_attempts=3)
    results = manager.complete_all(prompts(3), start=[1, 3, 2])
    assert [r.tier for r in results] == [1, 3, 2]

    def never(prompt: Prompt, text: str) -> Verdict:
        return Verdict(False, "no")

    # a ceiling of 2 and one attempt: tier 2 is asked once, tier 3 never
    (result,) = manager.complete_all(prompts(1), never, start=[2], stop=2, max_attempts=1)
    assert not result.ok and result.tier == 2 and result.attempts == 1
    assert servers[2].stats.total == 1  # only the first call above


def test_after_max_attempts_the_request_is_reported_not_applied(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(responder=lambda r: '{"bad": 1}')
    manager = LLMManager([Tier(1, make_client([server.url]))], max_attempts=3)
    (result,) = manager.complete_all(prompts(1), judge=lambda p, t: Verdict(False, "never"))
    assert not result.ok and result.text is None
    assert result.error == "rejected: never" and result.attempts == 3
    assert server.stats.total == 3  # same tier, asked again each time with the reason


def test_cloud_fallback_retries_a_local_failure_on_the_cloud_model(
    sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    local = sim_server(fault_rate=1.0, faults=("500",))
    cloud = sim_server(models={"cloud-model": 1})
    tier = Tier(
        1,
        make_client([local.url], max_retries=1),
        fallback=make_client([cloud.url], provider="openai", model="cloud-model"),
    )
    (without,) = LLMManager([tier]).complete_all(prompts(1))
    assert not without.ok and cloud.stats.total == 0
    (result,) = LLMManager([tier], cloud_fallback=True).complete_all(prompts(1))
    assert result.ok and result.provider == "openai" and result.model == "cloud-model"


def test_a_rerun_is_served_from_the_cache_with_zero_requests(
    tmp_path: Path, sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(responder=echo)
    with AnswerCache(tmp_path / "cache") as cache:
        tier = Tier(1, make_client([server.url]))
        first = LLMManager([tier], store=CachedStore(cache)).complete_all(prompts(10))
        assert server.stats.total == 10 and not any(r.cached for r in first)
        server.stats.reset()
        again = LLMManager([tier], store=CachedStore(cache)).complete_all(prompts(10))
    assert server.stats.total == 0
    assert all(r.cached for r in again)
    assert [r.text for r in again] == [r.text for r in first]


def test_malformed_answers_are_not_cached(
    tmp_path: Path, sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(responder=lambda r: "this is not json")
    with AnswerCache(tmp_path / "cache") as cache:
        tier = Tier(1, make_client([server.url]))
        LLMManager([tier], store=CachedStore(cache)).complete_all(prompts(2))
        assert cache.stats().entries == 0


def test_cancel_stops_waiting_requests_and_keeps_finished_answers(
    tmp_path: Path, sim_server: Callable[..., SimServer], make_client: Callable[..., ModelClient]
) -> None:
    server = sim_server(latency=0.1, slots=1, responder=echo)
    with AnswerCache(tmp_path / "cache") as cache:
        manager = LLMManager([Tier(1, make_client([server.url], cap=1))], store=CachedStore(cache))
        threading.Timer(0.35, manager.cancel).start()
        started = time.monotonic()
        results = manager.complete_all(prompts(40))
        assert time.monotonic() - started < 2.0  # not 40 x 0.1 s
        finished = [r for r in results if r.ok]
        assert 1 <= len(finished) < 40
        assert all(r.error == "cancelled" for r in results if not r.ok)
        assert cache.stats().entries == len(finished)


def test_live_rate_limit_headers_lower_the_pace(
    sim_server: Callable[..., SimServer], llm_provider: Callable[..., Any]
) -> None:
    from codemodkit.llm.capacity import parse_rate_limit_headers, suggested_rpm

    # The server allows 600 a minute and says so in x-ratelimit-* headers; we started
    # out believing 3500.
    server = sim_server(rpm=600, models={"gpt-4o-mini": 1})
    limits = RateLimits(3500)

    def on_headers(headers: Any) -> None:
        info = parse_rate_limit_headers(headers)
        lower = suggested_rpm(info, limits.rpm) if info else None
        if lower:
            limits.lower_rpm(lower)

    client = ModelClient(
        llm_provider("openai", "gpt-4o-mini"),
        EndpointPool([server.url], 2),
        limits,
        Stats(),
        on_headers=on_headers,
    )
    (result,) = LLMManager([Tier(1, client)]).complete_all(prompts(1))
    assert result.ok
    assert limits.rpm is not None and limits.rpm < 600  # headroom under the stated limit

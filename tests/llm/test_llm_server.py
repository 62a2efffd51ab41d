"""The simulated server itself: slots, queue, rate window, scripts, faults, stats, shapes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from llm_server import BUSY_MESSAGE, Fault, ModelSpec, ServerConfig, SimServer

SimServerFactory = Callable[..., SimServer]

OLLAMA = {"model": "sim-model", "messages": [{"role": "user", "content": "hi"}], "stream": False}
OPENAI = {"model": "sim-model", "messages": [{"role": "user", "content": "hi"}]}
ANTHROPIC = {
    "model": "sim-model",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "hi"}],
}
ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    # one pool for the module: building a client costs ~0.1 s (its CA bundle)
    with httpx.Client(timeout=5.0, limits=httpx.Limits(max_connections=50)) as http:
        yield http


def chat(client: httpx.Client, server: SimServer, **kwargs: Any) -> httpx.Response:
    return client.post(f"{server.url}/api/chat", json=OLLAMA, **kwargs)


def content(response: httpx.Response) -> str:
    text: str = response.json()["message"]["content"]
    return text


def test_slots_cap_concurrency(sim_server: SimServerFactory, client: httpx.Client) -> None:
    server = sim_server(slots=4, latency=0.03)
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: chat(client, server).status_code, range(20)))
    assert statuses == [200] * 20
    assert server.stats.max_concurrent == 4
    assert server.stats.max_queued > 0
    assert server.stats.processing == server.stats.queued == server.stats.in_flight == 0


def test_queue_full_answers_503_at_once(
    sim_server: SimServerFactory, client: httpx.Client, wait_until: Callable[..., None]
) -> None:
    server = sim_server(slots=1, queue=2, latency=0.25)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(chat, client, server)
        wait_until(lambda: server.stats.processing == 1)
        queued = [pool.submit(chat, client, server) for _ in range(2)]
        wait_until(lambda: server.stats.queued == 2)
        started = time.monotonic()
        rejected = [chat(client, server) for _ in range(3)]
        rejected_in = time.monotonic() - started
        answered = [f.result() for f in [first, *queued]]
    assert [r.status_code for r in answered] == [200, 200, 200]
    assert [r.status_code for r in rejected] == [503, 503, 503]
    assert rejected[0].json() == {"error": BUSY_MESSAGE}
    assert rejected_in < 0.2  # not queued behind the slow ones
    assert server.stats.count_503 == 3


def test_anthropic_overload_is_529(
    sim_server: SimServerFactory, client: httpx.Client, wait_until: Callable[..., None]
) -> None:
    server = sim_server(slots=1, queue=0, latency=0.1)
    url = f"{server.url}/v1/messages"
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(client.post, url, json=ANTHROPIC, headers=ANTHROPIC_HEADERS)
        wait_until(lambda: server.stats.processing == 1)
        overloaded = client.post(url, json=ANTHROPIC, headers=ANTHROPIC_HEADERS)
        assert busy.result().status_code == 200
    assert overloaded.status_code == 529
    assert overloaded.json()["error"]["type"] == "overloaded_error"


def test_rpm_window_429_with_retry_after(
    sim_server: SimServerFactory, client: httpx.Client
) -> None:
    server = sim_server(rpm=3, window=0.3)
    url = f"{server.url}/v1/chat/completions"
    responses = [client.post(url, json=OPENAI) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    remaining = [r.headers["x-ratelimit-remaining-requests"] for r in responses]
    assert remaining == ["2", "1", "0", "0", "0"]
    assert all(r.headers["x-ratelimit-limit-requests"] == "3" for r in responses)
    assert responses[0].headers["x-ratelimit-reset-requests"].endswith("ms")
    assert responses[3].headers["retry-after"] == "1"  # ceil of the wait, in seconds
    assert "retry-after-ms" not in responses[3].headers
    assert responses[3].json()["error"]["code"] == "rate_limit_exceeded"
    time.sleep(0.31)
    assert client.post(url, json=OPENAI).status_code == 200
    assert server.stats.count_429 == 2
    assert server.stats.max_in_window(0.3) == 3
    assert len(server.stats.accepted_times) == 4


def test_rpm_headers_on_anthropic_and_exact_wait(
    sim_server: SimServerFactory, client: httpx.Client
) -> None:
    server = sim_server(rpm=1, window=0.5, retry_after_ms=True)
    url = f"{server.url}/v1/messages"
    ok = client.post(url, json=ANTHROPIC, headers=ANTHROPIC_HEADERS)
    limited = client.post(url, json=ANTHROPIC, headers=ANTHROPIC_HEADERS)
    assert ok.status_code == 200
    assert ok.headers["anthropic-ratelimit-requests-limit"] == "1"
    assert ok.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert ok.headers["anthropic-ratelimit-requests-reset"].endswith("Z")
    assert limited.status_code == 429
    assert limited.json()["error"]["type"] == "rate_limit_error"
    assert limited.headers["retry-after"] == "1"
    assert 0 < int(limited.headers["retry-after-ms"]) <= 500


def test_ollama_has_no_rate_headers(sim_server: SimServerFactory, client: httpx.Client) -> None:
    server = sim_server(rpm=5, window=1.0)
    response = chat(client, server)
    assert not [h for h in response.headers if "ratelimit" in h]


def test_max_in_window() -> None:
    stats = SimServer().stats
    stats.accepted_times = [0.0, 0.1, 0.2, 1.0, 1.05]
    assert stats.max_in_window(0.25) == 3
    assert stats.max_in_window(1.0) == 4  # 0.0 and 1.0 are a whole window apart
    assert stats.max_in_window(0.01) == 1
    assert stats.max_in_window(10) == 5
    stats.accepted_times = []
    assert stats.max_in_window(1) == 0


def test_script_is_consumed_in_order(sim: SimServer, client: httpx.Client) -> None:
    sim.script(["first", Fault("500"), "second"])
    assert sim.scripted_left == 3
    responses = [chat(client, sim) for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 500, 200, 200]
    assert [content(responses[i]) for i in (0, 2, 3)] == ["first", "second", "{}"]
    assert responses[1].json() == {"error": "internal server error"}
    assert sim.scripted_left == 0
    assert sim.stats.faults == {"500": 1}


def test_responder_sees_the_request(sim_server: SimServerFactory, client: httpx.Client) -> None:
    server = sim_server(responder=lambda request: json.dumps({"echo": request.text}))
    body = {
        **OLLAMA,
        "messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}],
    }
    assert json.loads(content(client.post(f"{server.url}/api/chat", json=body))) == {"echo": "S\nU"}


def test_stats_and_reset(sim: SimServer, client: httpx.Client) -> None:
    chat(client, sim)
    client.get(f"{sim.url}/api/tags")
    client.post(f"{sim.url}/v1/chat/completions", json=OPENAI)
    stats = sim.stats
    assert stats.total == 3
    assert stats.by_path == {"/api/chat": 1, "/api/tags": 1, "/v1/chat/completions": 1}
    assert stats.by_protocol == {"ollama": 2, "openai": 1}
    assert stats.statuses == {200: 3}
    assert len(stats.requests) == 2 and len(stats.accepted_times) == 2
    assert stats.last_request.protocol == "openai"
    assert stats.snapshot()["total"] == 3
    stats.reset()
    assert stats.total == 0 and not stats.by_path and not stats.requests
    assert stats.max_in_window(60) == 0 and stats.max_concurrent == 0


def test_random_faults_follow_rate_and_kinds(
    sim_server: SimServerFactory, client: httpx.Client
) -> None:
    server = sim_server(fault_rate=1.0, faults=("500", "503"), seed=7)
    statuses = {chat(client, server).status_code for _ in range(12)}
    assert statuses == {500, 503}
    server.config.fault_rate = 0.0  # config is live
    assert chat(client, server).status_code == 200
    assert sum(server.stats.faults.values()) == 12


def test_fault_bodies(sim: SimServer, client: httpx.Client) -> None:
    sim.script([Fault("malformed"), Fault("truncated"), Fault("schema"), Fault("schema")])
    malformed, truncated = chat(client, sim), chat(client, sim)
    for response in (malformed, truncated):
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        with pytest.raises(ValueError):
            response.json()
    assert truncated.text.startswith('{"model": "sim-model"')
    for _ in range(2):
        text = content(chat(client, sim))
        assert text in ("not json at all", '{"unexpected": 1}')


def test_drop_closes_without_response(sim: SimServer, client: httpx.Client) -> None:
    sim.script([Fault("drop")])
    with pytest.raises(httpx.RemoteProtocolError):
        chat(client, sim)
    assert chat(client, sim).status_code == 200  # the server carries on


def test_timeout_hangs_until_the_client_gives_up(
    sim_server: SimServerFactory, client: httpx.Client, wait_until: Callable[..., None]
) -> None:
    server = sim_server(slots=1)
    server.script([Fault("timeout")])
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        chat(client, server, timeout=0.1)
    assert time.monotonic() - started < 0.5
    # the hung request held its slot; it lets go once the client has disconnected
    wait_until(lambda: server.stats.processing == 0, timeout=1.0)
    assert chat(client, server).status_code == 200


def test_hang_ends_after_timeout_seconds(
    sim_server: SimServerFactory, client: httpx.Client
) -> None:
    server = sim_server(timeout_seconds=0.05)
    server.script([Fault("timeout")])
    with pytest.raises(httpx.RemoteProtocolError):
        chat(client, server, timeout=2.0)


def test_stop_is_quick_with_hung_and_idle_connections(
    sim_server: SimServerFactory, client: httpx.Client, wait_until: Callable[..., None]
) -> None:
    server = sim_server()
    assert chat(client, server).status_code == 200  # leaves an idle keep-alive connection
    server.script([Fault("timeout")])
    with ThreadPoolExecutor(1) as pool:
        hung = pool.submit(chat, client, server)
        wait_until(lambda: server.stats.faults["timeout"] == 1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1.0
        with pytest.raises(httpx.HTTPError):
            hung.result()


def test_latency_range(sim_server: SimServerFactory, client: httpx.Client) -> None:
    server = sim_server(latency=(0.02, 0.04))
    started = time.monotonic()
    chat(client, server)
    assert 0.02 <= time.monotonic() - started < 0.5


def test_auth(sim_server: SimServerFactory, client: httpx.Client) -> None:
    server = sim_server(api_key="right-key")
    assert chat(client, server).status_code == 401
    wrong = chat(client, server, headers={"authorization": "Bearer wrong-key"})
    assert wrong.status_code == 401
    assert "wrong-key" in wrong.json()["error"]  # echoed on purpose
    assert chat(client, server, headers={"authorization": "Bearer right-key"}).status_code == 200
    url = f"{server.url}/v1/messages"
    bearer = {**ANTHROPIC_HEADERS, "authorization": "Bearer right-key"}
    assert client.post(url, json=ANTHROPIC, headers=bearer).status_code == 401
    keyed = {**ANTHROPIC_HEADERS, "x-api-key": "right-key"}
    assert client.post(url, json=ANTHROPIC, headers=keyed).status_code == 200
    assert client.get(f"{server.url}/api/tags").status_code == 401
    assert server.stats.auth_failures == 4


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({k: v for k, v in OLLAMA.items() if k != "stream"}, "stream"),
        ({**OLLAMA, "stream": True}, "stream"),
        ({**OLLAMA, "model": ""}, "model"),
        ({**OLLAMA, "messages": "hi"}, "messages"),
    ],
)
def test_bad_ollama_requests_are_400(
    sim: SimServer, client: httpx.Client, body: dict[str, Any], why: str
) -> None:
    response = client.post(f"{sim.url}/api/chat", json=body)
    assert response.status_code == 400
    assert why in response.json()["error"]


def test_bad_requests_other_protocols(sim: SimServer, client: httpx.Client) -> None:
    no_version = client.post(f"{sim.url}/v1/messages", json=ANTHROPIC)
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]
    streamed = client.post(f"{sim.url}/v1/chat/completions", json={**OPENAI, "stream": True})
    assert streamed.status_code == 400
    not_json = client.post(f"{sim.url}/api/chat", content=b"{nope")
    assert not_json.status_code == 400
    assert client.get(f"{sim.url}/nowhere").status_code == 404
    assert client.get(f"{sim.url}/api/chat").status_code == 404


def test_unknown_model_is_404(sim: SimServer, client: httpx.Client) -> None:
    response = client.post(f"{sim.url}/api/chat", json={**OLLAMA, "model": "nope"})
    assert response.status_code == 404
    assert response.json() == {"error": "model 'nope' not found"}
    openai = client.post(f"{sim.url}/v1/chat/completions", json={**OPENAI, "model": "nope"})
    assert openai.json()["error"]["code"] == "model_not_found"
    # Ollama's naming: an untagged name means :latest
    tagged = client.post(f"{sim.url}/api/chat", json={**OLLAMA, "model": "sim-model:latest"})
    assert tagged.status_code == 200


def test_tags_and_show(sim_server: SimServerFactory, client: httpx.Client) -> None:
    spec = ModelSpec(size=9_000_000_000, architecture="qwen2", block_count=48, head_count_kv=4)
    server = sim_server(models={"small": 1_000_000_000, "big": spec})
    tags = client.get(f"{server.url}/api/tags").json()["models"]
    assert [(t["name"], t["size"]) for t in tags] == [("small", 10**9), ("big", 9 * 10**9)]
    assert tags[0]["details"]["parameter_size"] == "2.0B"
    assert tags[0]["details"]["quantization_level"] == "Q4_K_M"
    show = client.post(f"{server.url}/api/show", json={"model": "big"}).json()
    info = show["model_info"]
    assert info["general.architecture"] == "qwen2"
    assert info["qwen2.block_count"] == 48
    assert info["qwen2.attention.head_count_kv"] == 4
    assert info["qwen2.context_length"] == 131072
    assert info["qwen2.embedding_length"] == 4096
    assert info["general.parameter_count"] == 18_000_000_000
    assert show["details"]["family"] == "qwen2"
    missing = client.post(f"{server.url}/api/show", json={"model": "nope"})
    assert missing.status_code == 404
    models = client.get(f"{server.url}/v1/models").json()["data"]
    assert [m["id"] for m in models] == ["small", "big"]


def test_response_shapes(sim: SimServer, client: httpx.Client) -> None:
    sim.script(["abcdefgh"] * 3)
    ollama = chat(client, sim).json()
    assert ollama["done"] is True and ollama["done_reason"] == "stop"
    assert ollama["message"] == {"role": "assistant", "content": "abcdefgh"}
    assert (ollama["prompt_eval_count"], ollama["eval_count"]) == (1, 2)
    assert ollama["total_duration"] >= 0
    openai = client.post(f"{sim.url}/v1/chat/completions", json=OPENAI).json()
    assert openai["choices"][0]["message"]["content"] == "abcdefgh"
    assert openai["usage"] == {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    anthropic = client.post(
        f"{sim.url}/v1/messages",
        json={**ANTHROPIC, "system": "sys"},
        headers=ANTHROPIC_HEADERS,
    ).json()
    assert anthropic["content"] == [{"type": "text", "text": "abcdefgh"}]
    assert anthropic["stop_reason"] == "end_turn"
    assert anthropic["usage"] == {"input_tokens": 2, "output_tokens": 2}
    assert sim.stats.last_request.system == "sys"


def test_keep_alive_reuses_one_connection(sim: SimServer, client: httpx.Client) -> None:
    for _ in range(5):
        response = chat(client, sim)
        assert response.headers["connection"] == "keep-alive"
    assert sim.stats.total == 5
    assert sim.stats.connections == 1


def test_server_config_is_a_plain_dataclass() -> None:
    config = ServerConfig()
    assert (
        config.slots == 4 and config.queue == 512 and config.models == {"sim-model": 4_000_000_000}
    )

"""Fixtures for the LLM layer: simulated servers on 127.0.0.1 and providers aimed at them.

- ``sim_server(config=None, **fields)`` starts a ``SimServer`` (``fields`` override the
  config's) and stops it at teardown; ``sim`` is one with the default config.
- ``llm_provider(name, model="sim-model", api_key=None, **options)`` builds a provider
  with ``make_provider`` and closes it at teardown.
- ``make_prompt(user="…", system="…", schema=None, …)`` builds a ``Prompt``.
- ``wait_until(predicate, timeout=2.0)`` polls until the predicate holds (or fails).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from codemodkit.llm.base import Prompt
from codemodkit.llm.providers import HTTPProvider, make_provider

# llm_server.py lives in tests/ so the benchmarks can import it too
_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from llm_server import ServerConfig, SimServer  # noqa: E402

SimServerFactory = Callable[..., SimServer]
ProviderFactory = Callable[..., HTTPProvider]


@pytest.fixture
def sim_server() -> Iterator[SimServerFactory]:
    servers: list[SimServer] = []

    def start(config: ServerConfig | None = None, **fields: Any) -> SimServer:
        server = SimServer(dataclasses.replace(config or ServerConfig(), **fields))
        servers.append(server.start())
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sim(sim_server: SimServerFactory) -> SimServer:
    return sim_server()


@pytest.fixture
def llm_provider() -> Iterator[ProviderFactory]:
    providers: list[HTTPProvider] = []

    def build(
        name: str, model: str = "sim-model", api_key: str | None = None, **options: Any
    ) -> HTTPProvider:
        provider = make_provider(name, model, api_key, **options)
        providers.append(provider)
        return provider

    yield build
    for provider in providers:
        provider.close()


@pytest.fixture
def make_prompt() -> Callable[..., Prompt]:
    def build(
        user: str = "rewrite this",
        system: str = "you rewrite code",
        schema: Mapping[str, Any] | None = None,
        request_id: str = "r1",
        fallback: str = "{}",
    ) -> Prompt:
        return Prompt(request_id, system, user, fallback, schema=schema)

    return build


@pytest.fixture
def wait_until() -> Callable[..., None]:
    def wait(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not reached in time")
            time.sleep(0.002)

    return wait

"""The LLM manager against the simulated server: parallelism, rate limit, cache.

Prints, each measured in this one run:

1. 1,000 requests, a server with 4 slots and 50 ms latency, 4 in parallel:
   time / ideal, where ideal = ceil(N / C) x L (target <= 1.15);
2. the same with one request at a time (``--no-parallel``): how many times longer
   (expected ~ C = 4);
3. an RPM cap R (real 60 s window, on the server too): time / (60 x N / R)
   (target <= 1.15) and the 429s the server counted (target 0);
4. a full rerun of (1) served from the disk cache: rerun / first run (target < 5 %).

The server runs in its own process, as a real model server would: in-process, its
threads and the client's would share one GIL and measure Python, not the manager.

    python benchmarks/llm_throughput.py [--requests 1000] [--rpm 1200 --rpm-requests 400]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from llm_server import ServerConfig, SimServer  # noqa: E402

from codemodkit.cache import AnswerCache  # noqa: E402
from codemodkit.llm.base import Prompt  # noqa: E402
from codemodkit.llm.client import ModelClient  # noqa: E402
from codemodkit.llm.endpoints import EndpointPool  # noqa: E402
from codemodkit.llm.limits import RateLimits  # noqa: E402
from codemodkit.llm.manager import LLMManager, Tier  # noqa: E402
from codemodkit.llm.providers import make_provider  # noqa: E402
from codemodkit.llm.stats import Stats  # noqa: E402
from codemodkit.llm.store import CachedStore  # noqa: E402


class RemoteServer:
    """A ``SimServer`` in a child process, driven over a pipe."""

    def __init__(self, conn: Connection, url: str) -> None:
        self.conn = conn
        self.url = url

    def ask(self, command: str) -> Any:
        self.conn.send(command)
        return self.conn.recv()


def _serve(conn: Connection, config: ServerConfig) -> None:
    with SimServer(config) as server:
        conn.send(server.url)
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "reset":
                server.stats.reset()
                conn.send(None)
            elif command == "stats":
                snapshot = server.stats.snapshot()
                snapshot["count_429"] = server.stats.count_429
                snapshot["max_in_60s"] = server.stats.max_in_window(60)
                conn.send(snapshot)


@contextmanager
def remote_server(config: ServerConfig) -> Iterator[RemoteServer]:
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_serve, args=(theirs, config), daemon=True)
    process.start()
    try:
        yield RemoteServer(ours, ours.recv())
        ours.send("stop")
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def prompts(n: int, tag: str) -> list[Prompt]:
    schema = {"type": "object"}
    return [
        Prompt(f"{tag}{i}", "system", f"{tag} prompt {i}", "{}", schema=schema) for i in range(n)
    ]


def timed_run(
    server: RemoteServer,
    n: int,
    parallel: int,
    tag: str,
    rpm: int | None = None,
    cache: AnswerCache | None = None,
) -> float:
    provider = make_provider("ollama", "sim-model", None)
    client = ModelClient(
        provider, EndpointPool([server.url], parallel), RateLimits(rpm), Stats(), timeout=30
    )
    manager = LLMManager([Tier(1, client)], store=CachedStore(cache) if cache else None)
    started = time.perf_counter()
    results = manager.complete_all(prompts(n, tag))
    elapsed = time.perf_counter() - started
    manager.close()
    failed = sum(not r.ok for r in results)
    if failed:
        raise SystemExit(f"{failed} of {n} requests failed")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rpm", type=int, default=1200)
    parser.add_argument("--rpm-requests", type=int, default=400)
    args = parser.parse_args()
    n, c, latency = args.requests, args.slots, args.latency

    with remote_server(ServerConfig(latency=latency, slots=c)) as server:
        ideal = math.ceil(n / c) * latency
        with tempfile.TemporaryDirectory() as folder, AnswerCache(Path(folder)) as cache:
            first = timed_run(server, n, c, "p", cache=cache)
            most = server.ask("stats")["max_concurrent"]
            server.ask("reset")
            rerun = timed_run(server, n, c, "p", cache=cache)
            rerun_requests = server.ask("stats")["total"]
        print(f"parallel: {n} requests, {c} slots, {latency * 1000:.0f} ms latency")
        print(f"  {first:.2f}s vs ideal ceil(N/C)*L = {ideal:.2f}s: ratio {first / ideal:.3f}")
        print(f"  (target <= 1.15; the server saw at most {most} at once)")
        sequential = timed_run(server, n, 1, "s")
        print(f"--no-parallel: {sequential:.2f}s = {sequential / first:.2f}x the parallel run")
        print(f"  (expected ~{c}x)")
        print(f"cached rerun: {rerun:.3f}s = {rerun / first * 100:.1f}% of the first run")
        print(f"  ({rerun_requests} HTTP requests; target < 5%)")

    r, m = args.rpm, args.rpm_requests
    with remote_server(ServerConfig(latency=latency, slots=64, rpm=r, window=60.0)) as server:
        elapsed = timed_run(server, m, 64, "r", rpm=r)
        bound = 60 * m / r
        stats = server.ask("stats")
        busiest = stats["max_in_60s"]
        print(f"rpm cap {r}: {m} requests in {elapsed:.2f}s vs 60*N/R = {bound:.2f}s")
        print(f"  ratio {elapsed / bound:.3f} (target <= 1.15)")
        print(f"  429s at the server: {stats['count_429']} (target 0)")
        print(f"  most requests in any 60 s window: {busiest} (cap {r})")


if __name__ == "__main__":
    main()

"""Per model and endpoint counters: requests, outcomes, retries, cache hits, tokens, latency."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["EndpointStats", "Stats"]


@dataclass
class EndpointStats:
    provider: str
    model: str
    endpoint: str
    requests: int = 0
    successes: int = 0
    failures: int = 0
    retries: int = 0
    cache_hits: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    rate_limited: int = 0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float | None:
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[min(98, max(0, round(q * 100) - 1))]

    def as_dict(self) -> dict[str, object]:
        p50, p95 = self.percentile(0.50), self.percentile(0.95)
        return {
            "provider": self.provider,
            "model": self.model,
            "endpoint": self.endpoint,
            "requests": self.requests,
            "successes": self.successes,
            "failures": self.failures,
            "retries": self.retries,
            "cache_hits": self.cache_hits,
            "rate_limited": self.rate_limited,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_p50_ms": None if p50 is None else round(p50, 1),
            "latency_p95_ms": None if p95 is None else round(p95, 1),
        }


class Stats:
    """Thread-safe; the cache is counted under the endpoint name ``cache``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str, str], EndpointStats] = {}

    def _row(self, provider: str, model: str, endpoint: str) -> EndpointStats:
        key = (provider, model, endpoint)
        row = self._rows.get(key)
        if row is None:
            row = self._rows[key] = EndpointStats(provider, model, endpoint)
        return row

    def request(
        self,
        provider: str,
        model: str,
        endpoint: str,
        *,
        ok: bool,
        latency_ms: float,
        tokens_in: int = 0,
        tokens_out: int = 0,
        retry: bool = False,
        rate_limited: bool = False,
    ) -> None:
        with self._lock:
            row = self._row(provider, model, endpoint)
            row.requests += 1
            row.successes += ok
            row.failures += not ok
            row.retries += retry
            row.rate_limited += rate_limited
            row.tokens_in += tokens_in
            row.tokens_out += tokens_out
            row.latencies_ms.append(latency_ms)

    def cache_hit(self, provider: str, model: str) -> None:
        with self._lock:
            self._row(provider, model, "cache").cache_hits += 1

    def rows(self) -> Iterator[EndpointStats]:
        with self._lock:
            rows = sorted(self._rows.values(), key=lambda r: (r.model, r.endpoint))
        yield from rows

    def total(self, attribute: str) -> int:
        with self._lock:
            return sum(int(getattr(row, attribute)) for row in self._rows.values())

"""Several servers for one model: least-in-flight choice, a cap each, cool-down when down.

An endpoint that fails ``failure_threshold`` times in a row is cooled down (not used)
for ``cooldown`` seconds, doubling on each further failure up to ``max_cooldown``;
after that one request probes it again. When every endpoint is cooling down, callers
wait for the earliest to come back rather than fail (LiteLLM's complaint #3646).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Cancelled", "Endpoint", "EndpointPool"]


class Cancelled(Exception):
    """The run was cancelled (Ctrl-C) while this request waited."""


@dataclass
class Endpoint:
    url: str
    capacity: int
    in_flight: int = 0
    consecutive_failures: int = 0
    cooled_until: float = 0.0
    cooldowns: int = 0
    #: tie-breaker for round-robin among equally loaded endpoints
    last_used: int = 0
    served: int = field(default=0)


class EndpointPool:
    def __init__(
        self,
        urls: Sequence[str],
        capacity: int,
        *,
        failure_threshold: int = 3,
        cooldown: float = 5.0,
        max_cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ValueError("a model needs at least one endpoint")
        self.endpoints = [Endpoint(url.rstrip("/"), max(1, capacity)) for url in urls]
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        self._ticks = itertools.count(1)
        self._changed = threading.Condition()

    @property
    def capacity(self) -> int:
        return sum(e.capacity for e in self.endpoints)

    def set_capacity(self, capacity: int) -> None:
        """Requests in flight per endpoint (capacity detection may decide late)."""
        with self._changed:
            for endpoint in self.endpoints:
                endpoint.capacity = max(1, capacity)
            self._changed.notify_all()

    def acquire(self, cancel: threading.Event | None = None) -> Endpoint:
        """Block until a healthy endpoint has a free slot; take the least loaded one."""
        with self._changed:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled()
                now = self.clock()
                ready = [
                    e
                    for e in self.endpoints
                    if e.cooled_until <= now and e.in_flight < self._cap(e, now)
                ]
                if ready:
                    chosen = min(ready, key=lambda e: (e.in_flight / e.capacity, e.last_used))
                    chosen.in_flight += 1
                    chosen.last_used = next(self._ticks)
                    return chosen
                wake = [e.cooled_until - now for e in self.endpoints if e.cooled_until > now]
                # Wake at the earliest cool-down end, on a release, or to re-check cancel.
                self._changed.wait(min([0.25, *wake]))

    def _cap(self, endpoint: Endpoint, now: float) -> int:
        # A half-open endpoint (back from cool-down, failing before) gets one probe.
        if endpoint.consecutive_failures >= self.failure_threshold:
            return 1
        return endpoint.capacity

    def release(self, endpoint: Endpoint, ok: bool, *, server_fault: bool = True) -> None:
        """Give the slot back; ``ok=False, server_fault=True`` counts towards cool-down."""
        with self._changed:
            endpoint.in_flight -= 1
            endpoint.served += 1
            if ok:
                endpoint.consecutive_failures = 0
                endpoint.cooldowns = 0
            elif server_fault:
                endpoint.consecutive_failures += 1
                if endpoint.consecutive_failures >= self.failure_threshold:
                    wait = min(self.max_cooldown, self.cooldown * 2.0**endpoint.cooldowns)
                    endpoint.cooldowns += 1
                    endpoint.cooled_until = self.clock() + wait
            self._changed.notify_all()

    def healthy(self) -> list[str]:
        now = self.clock()
        return [e.url for e in self.endpoints if e.cooled_until <= now]

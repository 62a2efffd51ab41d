"""Requests- and tokens-per-minute limits shared by every thread of a run (pyrate-limiter).

A sliding-window log never admits more than ``rpm`` requests in any window, unlike
counters that reset each minute (LiteLLM's fixed windows allow about twice the
limit across a minute boundary). The window is 2 % longer than the provider's so
network jitter between our clock and the server's cannot push a window over, and a
second, tenth-size rate spreads the requests out: the run starts with a burst of a
tenth of the quota rather than all of it at once.
"""

from __future__ import annotations

import math
import threading

from pyrate_limiter import InMemoryBucket, Limiter, Rate

from .endpoints import Cancelled

__all__ = ["RateLimits"]

#: the window is stretched by this factor (headroom for clock and network jitter)
WINDOW_HEADROOM = 1.02
#: the burst allowed at once is the quota of this fraction of the window
BURST_FRACTION = 10
#: how often a blocked thread re-checks for cancellation (seconds)
_POLL = 0.25


class RateLimits:
    def __init__(
        self, rpm: int | None = None, tpm: int | None = None, window: float = 60.0
    ) -> None:
        self.rpm = rpm
        self.tpm = tpm
        self.window = window
        self._lock = threading.Lock()
        self._requests = self._limiter(rpm, window) if rpm else None
        self._tokens = self._limiter(tpm, window) if tpm else None

    @staticmethod
    def _limiter(limit: int, window: float) -> Limiter:
        window_ms = max(1, int(window * 1000 * WINDOW_HEADROOM))
        rates = [Rate(limit, window_ms)]
        burst = math.ceil(limit / BURST_FRACTION)
        if burst < limit:
            rates.insert(0, Rate(burst, max(1, window_ms // BURST_FRACTION)))
        return Limiter(InMemoryBucket(rates))

    def acquire(self, tokens: int = 0, cancel: threading.Event | None = None) -> None:
        """Block until one request (and ``tokens`` tokens) may be sent."""
        if self._requests is not None:
            self._wait(self._requests, 1, cancel)
        if self._tokens is not None and self.tpm is not None and tokens > 0:
            # A request larger than the whole per-minute budget can never fit; let it
            # count as the whole budget instead of blocking forever.
            self._wait(self._tokens, min(tokens, self.tpm), cancel)

    @staticmethod
    def _wait(limiter: Limiter, weight: int, cancel: threading.Event | None) -> None:
        while not limiter.try_acquire("llm", weight, blocking=True, timeout=_POLL):
            if cancel is not None and cancel.is_set():
                raise Cancelled()

    def lower_rpm(self, rpm: int) -> bool:
        """Slow down to ``rpm`` (live rate-limit headers said so); True if it changed."""
        with self._lock:
            if rpm < 1 or (self.rpm is not None and rpm >= self.rpm):
                return False
            old, self.rpm = self._requests, rpm
            self._requests = self._limiter(rpm, self.window)
        if old is not None:
            old.close()
        return True

    def close(self) -> None:
        for limiter in (self._requests, self._tokens):
            if limiter is not None:
                limiter.close()

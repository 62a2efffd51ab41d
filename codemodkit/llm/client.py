"""One model on one or more endpoints: rate limits, endpoint choice and retries around
a provider's single HTTP call.

Retries (tenacity) cover connect errors, timeouts, 408/409/429/5xx/529 and malformed
bodies - whatever the provider marks retryable. The wait is the server's
``Retry-After`` when it names one (up to a minute, plus a little jitter so waiting
threads do not return in a stampede), else exponential backoff with full jitter, or
no wait at all when another healthy endpoint can take the retry. Each retry goes
through the rate limiter and the endpoint pool again, so it may land elsewhere.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .base import Answer, Prompt, Provider, ProviderError
from .endpoints import Cancelled, EndpointPool
from .limits import RateLimits
from .stats import Stats

__all__ = ["CallResult", "ModelClient"]

#: the longest server-requested wait we honour as is (the official SDKs' rule)
MAX_RETRY_AFTER = 60.0
#: exponential backoff: base * 2**n seconds, capped
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


@dataclass(frozen=True)
class CallResult:
    answer: Answer
    endpoint: str
    latency_ms: float
    retries: int


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.retryable


class ModelClient:
    """Thread-safe; one per configured model (tier)."""

    def __init__(
        self,
        provider: Provider,
        endpoints: EndpointPool,
        limits: RateLimits,
        stats: Stats,
        *,
        timeout: float = 120.0,
        max_retries: int = 4,
        on_headers: Callable[[Mapping[str, str]], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        prepare: Callable[[ModelClient], None] | None = None,
        max_workers: int | None = None,
    ) -> None:
        self.provider = provider
        self.endpoints = endpoints
        self.limits = limits
        self.stats = stats
        self.timeout = timeout
        self.max_retries = max_retries
        self.on_headers = on_headers
        self.cancel = threading.Event()
        self._sleep = sleep
        #: run once before the first request (capacity detection that needs HTTP, so
        #: that a run served entirely from the cache makes no request at all)
        self._prepare = prepare
        self._prepare_lock = threading.Lock()
        #: threads worth giving this model (its capacity may only be known later)
        self.max_workers = max_workers or endpoints.capacity

    @property
    def name(self) -> str:
        return self.provider.name

    @property
    def model(self) -> str:
        return self.provider.model

    def call(self, prompt: Prompt) -> CallResult:
        """The answer, after retries; raises the last ``ProviderError`` or ``Cancelled``."""
        if self._prepare is not None:
            with self._prepare_lock:  # the others wait for the decision
                if self._prepare is not None:
                    try:
                        self._prepare(self)
                    finally:
                        self._prepare = None
        retrying = Retrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception(_retryable),
            sleep=self._interruptible_sleep,
            reraise=True,
        )
        started = time.perf_counter()
        for attempt in retrying:
            with attempt:
                answer, endpoint = self._once(prompt, retry=attempt.retry_state.attempt_number > 1)
        return CallResult(
            answer,
            endpoint,
            (time.perf_counter() - started) * 1000,
            attempt.retry_state.attempt_number - 1,
        )

    def _once(self, prompt: Prompt, retry: bool) -> tuple[Answer, str]:
        estimate = (len(prompt.system) + len(prompt.user)) // 4 + 256
        self.limits.acquire(estimate, self.cancel)
        endpoint = self.endpoints.acquire(self.cancel)
        started = time.perf_counter()
        try:
            answer = self.provider.call(endpoint.url, prompt, self.timeout)
        except ProviderError as exc:
            server_fault = exc.kind in ("connect", "timeout") or (exc.status or 0) >= 500
            self.endpoints.release(endpoint, ok=False, server_fault=server_fault)
            self.stats.request(
                self.name,
                self.model,
                endpoint.url,
                ok=False,
                latency_ms=(time.perf_counter() - started) * 1000,
                retry=retry,
                rate_limited=exc.status == 429,
            )
            if exc.headers and self.on_headers is not None:
                self.on_headers(exc.headers)
            raise
        except BaseException:
            self.endpoints.release(endpoint, ok=False, server_fault=False)
            raise
        self.endpoints.release(endpoint, ok=True)
        self.stats.request(
            self.name,
            self.model,
            endpoint.url,
            ok=True,
            latency_ms=(time.perf_counter() - started) * 1000,
            tokens_in=answer.tokens_in,
            tokens_out=answer.tokens_out,
            retry=retry,
        )
        if answer.headers and self.on_headers is not None:
            self.on_headers(answer.headers)
        return answer, endpoint.url

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        retry_after = exc.retry_after if isinstance(exc, ProviderError) else None
        if retry_after is not None and 0 < retry_after <= MAX_RETRY_AFTER:
            return float(retry_after) * (1 + 0.1 * random.random())
        status = exc.status if isinstance(exc, ProviderError) else None
        if status != 429 and len(self.endpoints.healthy()) > 1:
            return 0.0  # another endpoint can take it now
        backoff = min(BACKOFF_CAP, BACKOFF_BASE * 2.0 ** (state.attempt_number - 1))
        return backoff * (0.5 + 0.5 * random.random())

    def _interruptible_sleep(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif self.cancel.wait(seconds):
            raise Cancelled()

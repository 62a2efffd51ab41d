"""Fan prompts out over one thread pool and return completions in input order.

Each prompt climbs the configured tiers: ask (cache first), let the codemod's judge
accept or reject the answer, and on rejection ask the next tier (or the same one
when it is the last) with the goal, the rejected attempt and the judge's reason, up
to ``max_attempts`` answers. A transport failure after retries moves on as well;
with ``cloud_fallback`` a local tier's failure is first retried on its cloud model.
Whatever happens, every prompt gets a ``Completion``: an accepted answer or a clear
error, and the caller applies its deterministic fallback. With no tiers (the
built-in ``template`` provider) answers are the fallbacks, computed in place.

Well-formed answers are cached as soon as they arrive, accepted or not, so a rerun
after Ctrl-C or with nothing changed replays the same climb without HTTP requests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from .base import Completion, Prompt, ProviderError
from .endpoints import Cancelled
from .stats import Stats

if TYPE_CHECKING:  # a template-only run never loads the HTTP client
    from .client import ModelClient

__all__ = ["AnswerStore", "Judge", "LLMManager", "Tier", "escalated"]

#: the most threads one run starts, however large the configured capacity
MAX_WORKERS = 256
#: threads per slot: a spare thread waits at the endpoint with its request ready, so a
#: slot is refilled the moment an answer arrives rather than after it is processed
THREADS_PER_SLOT = 2


class _NeedsModel(Exception):
    """Raised in the cache-only pass when an answer is not cached."""


class Judgement(Protocol):
    @property
    def ok(self) -> bool: ...
    @property
    def reason(self) -> str: ...


Judge = Callable[[Prompt, str], Judgement]


class AnswerStore(Protocol):
    """What the manager needs from a cache (``codemodkit.cache.AnswerCache`` adapts)."""

    def lookup(self, client: ModelClient, prompt: Prompt) -> str | None: ...
    def store(
        self, client: ModelClient, prompt: Prompt, text: str, completion: Completion
    ) -> None: ...


@dataclass(frozen=True)
class Tier:
    level: int
    client: ModelClient
    #: a cloud model (tiers are local unless said otherwise)
    cloud: bool = False
    #: the cloud model a failing local request is retried on (``--cloud-fallback``)
    fallback: ModelClient | None = None


def escalated(prompt: Prompt, attempt: str, reason: str) -> Prompt:
    """The prompt for the next attempt: the goal, the code, what failed and why."""
    user = (
        f"{prompt.user}\n\n"
        "A previous answer to this request was rejected.\n"
        f"Rejected answer:\n{attempt}\n\n"
        f"Reason it was rejected:\n{reason}\n\n"
        "Answer again, fixing that problem."
    )
    return replace(prompt, user=user)


def _well_formed(prompt: Prompt, text: str) -> bool:
    """Worth caching: JSON when a schema was asked for (the judge decides the rest)."""
    if prompt.schema is None:
        return bool(text.strip())
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class LLMManager:
    def __init__(
        self,
        tiers: Sequence[Tier] = (),
        *,
        store: AnswerStore | None = None,
        stats: Stats | None = None,
        max_attempts: int = 3,
        cloud_fallback: bool = False,
        workers: int | None = None,
    ) -> None:
        self.tiers = sorted(tiers, key=lambda t: t.level)
        self.store = store
        self.stats = stats or Stats()
        self.max_attempts = max(1, max_attempts)
        self.cloud_fallback = cloud_fallback
        capacity = sum(
            t.client.max_workers + (t.fallback.max_workers if t.fallback else 0) for t in self.tiers
        )
        self.workers = max(1, min(MAX_WORKERS, workers or THREADS_PER_SLOT * capacity or 1))
        self.cancelled = threading.Event()

    @property
    def uses_models(self) -> bool:
        return bool(self.tiers)

    def clients(self) -> list[ModelClient]:
        found: list[ModelClient] = []
        for tier in self.tiers:
            for client in (tier.client, tier.fallback):
                if client is not None and client not in found:
                    found.append(client)
        return found

    # -- the batch ---------------------------------------------------------------------
    def complete_all(
        self,
        prompts: Sequence[Prompt],
        judge: Judge | None = None,
        on_done: Callable[[int, Completion], None] | None = None,
        *,
        start: Sequence[int] | None = None,
        stop: int | None = None,
        max_attempts: int | None = None,
    ) -> list[Completion]:
        """One completion per prompt, in input order; never raises for one prompt's sake.

        ``start`` gives each prompt the tier level it starts at (default: the lowest);
        ``stop`` is the highest level any prompt may climb to (tsfix's sequential mode
        runs one level at a time). A prompt whose start is above every tier starts at the
        highest one. ``max_attempts`` overrides the manager's for this batch.

        Ctrl-C (KeyboardInterrupt in the calling thread) cancels what has not started,
        stops waiting threads, and re-raises; answers already received stay cached.
        """
        if not self.tiers:
            answers = [Completion(p.request_id, p.fallback, provider="template") for p in prompts]
            if on_done is not None:
                for index, completion in enumerate(answers):
                    on_done(index, completion)
            return answers
        results: list[Completion | None] = [None] * len(prompts)
        # First, in this thread, everything the cache can answer on its own: a rerun
        # with nothing changed starts no thread and makes no request.
        remaining: list[int] = []
        for index, prompt in enumerate(prompts):
            hits: list[ModelClient] = []
            try:
                completion = self._solve(
                    prompt, judge, self._bounds(start, index, stop), max_attempts, hits
                )
            except _NeedsModel:
                remaining.append(index)  # counted when the thread asks again
                continue
            for client in hits:
                self.stats.cache_hit(client.name, client.model)
            results[index] = completion
            if on_done is not None:
                on_done(index, completion)
        if not remaining:
            return [r for r in results if r is not None]
        executor = ThreadPoolExecutor(
            max_workers=min(self.workers, len(remaining)), thread_name_prefix="codemod-llm"
        )
        futures: dict[Future[Completion], int] = {}
        try:
            for index in remaining:
                bounds = self._bounds(start, index, stop)
                job = executor.submit(self._solve, prompts[index], judge, bounds, max_attempts)
                futures[job] = index
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when="FIRST_COMPLETED")
                for future in done:
                    index = futures[future]
                    completion = self._result_of(future, prompts[index])
                    results[index] = completion
                    if on_done is not None:
                        on_done(index, completion)
        except BaseException:
            self.cancel()
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        executor.shutdown(wait=True)
        return [r for r in results if r is not None]

    def cancel(self) -> None:
        self.cancelled.set()
        for client in self.clients():
            client.cancel.set()

    @staticmethod
    def _result_of(future: Future[Completion], prompt: Prompt) -> Completion:
        try:
            return future.result()
        except Exception as exc:  # a bug in one request must not sink the batch
            return Completion(prompt.request_id, None, error=f"{type(exc).__name__}: {exc}")

    # -- one prompt ------------------------------------------------------------------
    def _bounds(self, start: Sequence[int] | None, index: int, stop: int | None) -> range:
        """Indexes into ``self.tiers`` that one prompt may use, lowest first."""
        levels = [t.level for t in self.tiers]
        top = len(levels) if stop is None else sum(1 for level in levels if level <= stop)
        first = 0
        if start is not None:
            first = next((i for i, level in enumerate(levels) if level >= start[index]), 0)
            if start[index] > levels[-1]:
                first = len(levels) - 1
        return range(first, max(top, first + 1))

    def _solve(
        self,
        prompt: Prompt,
        judge: Judge | None,
        bounds: range | None = None,
        max_attempts: int | None = None,
        cache_only: list[ModelClient] | None = None,
    ) -> Completion:
        """Climb the tiers for one prompt. With ``cache_only`` (a list collecting the
        cache hits) it raises ``_NeedsModel`` instead of making a request."""
        bounds = bounds or range(len(self.tiers))
        asked = prompt
        attempts = 0
        index = bounds.start
        last: Completion | None = None
        limit = max_attempts or self.max_attempts
        while attempts < limit and index < bounds.stop:
            tier = self.tiers[index]
            attempts += 1
            completion = self._ask(tier, asked, cache_only=cache_only)
            if not completion.ok and self.cloud_fallback and not tier.cloud and tier.fallback:
                completion = self._ask(tier, asked, client=tier.fallback, cache_only=cache_only)
            completion = replace(completion, request_id=prompt.request_id, attempts=attempts)
            if not completion.ok or completion.text is None:
                last = completion
                index += 1  # this tier cannot answer; a stronger one may
                continue
            verdict = judge(prompt, completion.text) if judge is not None else None
            if verdict is None or verdict.ok:
                return completion
            last = replace(completion, text=None, error=f"rejected: {verdict.reason}")
            asked = escalated(prompt, completion.text, verdict.reason)
            index = min(index + 1, bounds.stop - 1)
        assert last is not None
        return last

    def _ask(
        self,
        tier: Tier,
        prompt: Prompt,
        client: ModelClient | None = None,
        cache_only: list[ModelClient] | None = None,
    ) -> Completion:
        client = client or tier.client
        base = Completion(
            prompt.request_id, None, provider=client.name, model=client.model, tier=tier.level
        )
        if self.store is not None:
            text = self.store.lookup(client, prompt)
            if text is not None:
                if cache_only is None:
                    self.stats.cache_hit(client.name, client.model)
                else:
                    cache_only.append(client)
                return replace(base, text=text, cached=True)
        if cache_only is not None:
            raise _NeedsModel()
        if self.cancelled.is_set():
            return replace(base, error="cancelled")
        try:
            result = client.call(prompt)
        except ProviderError as exc:
            return replace(base, error=exc.message)
        except Cancelled:
            return replace(base, error="cancelled")
        completion = replace(
            base,
            text=result.answer.text,
            endpoint=result.endpoint,
            tokens_in=result.answer.tokens_in,
            tokens_out=result.answer.tokens_out,
            latency_ms=result.latency_ms,
            retries=result.retries,
        )
        if self.store is not None and _well_formed(prompt, result.answer.text):
            self.store.store(client, prompt, result.answer.text, completion)
        return completion

    def close(self) -> None:
        for client in self.clients():
            client.limits.close()
            close = getattr(client.provider, "close", None)
            if callable(close):
                close()

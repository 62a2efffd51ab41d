"""Run a codemod over candidate files: read, prepare, answer, finish, in a process pool.

Parsing and collecting are CPU-bound, so files are spread over worker processes
(``--jobs``). With the built-in template provider every answer is local, so a worker
takes a file all the way to its new text and diff; the main process only writes.
With models, workers prepare every file first; then all requests of the run go to
the LLM manager's one thread pool at once (its limits apply to the whole run, and a
slow file does not hold up the others); then each file is finished in order.
One bad file never stops the others: every failure becomes that file's result.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Collection, Container, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

from codemodkit.codemods.base import (
    Codemod,
    EditRequest,
    FileContext,
    FileOutcome,
    Prepared,
    SupportFile,
    Verdict,
)
from codemodkit.discovery import Candidate
from codemodkit.llm import Completion, LLMManager, Prompt
from codemodkit.output.diff import unified_diff
from codemodkit.sourcefile import DEFAULT_MAX_FILE_SIZE, DecodedSource, SourceError, read_source

__all__ = ["ChangeRecord", "FileResult", "RunOptions", "default_jobs", "run"]

Status = Literal["changed", "unchanged", "skipped", "failed"]


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    #: compute a unified diff per changed file (dry runs)
    diff: bool = False
    #: return the new bytes of changed files (for writing)
    keep_output: bool = True
    #: keep a ChangeRecord per request (for ``--report``)
    records: bool = False
    #: keep the old and new texts of changed files (for review, hunk by hunk)
    keep_texts: bool = False


@dataclass(frozen=True)
class ChangeRecord:
    """Where one request's snippet came from (for ``--report`` and ``-v``)."""

    request_id: str
    kind: str
    line: int
    span: tuple[int, int]
    #: "model": a model's answer was accepted; "template": the deterministic fallback
    strategy: str
    provider: str
    model: str | None = None
    tier: int = 0
    endpoint: str | None = None
    attempts: int = 0
    retries: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0
    cached: bool = False
    #: "accepted", or why the model's answers were not used
    validation: str = "accepted"


@dataclass(frozen=True)
class FileResult:
    display: str
    path: Path
    status: Status
    reason: str = ""
    #: unified diff as bytes in the file's encoding (dry runs)
    diff: bytes | None = None
    new_data: bytes | None = None
    counts: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    needs: tuple[SupportFile, ...] = ()
    releases: tuple[SupportFile, ...] = ()
    requests: int = 0
    fallbacks: int = 0
    seconds: float = 0.0
    changes: tuple[ChangeRecord, ...] = ()
    #: the texts before and after, and the file's encoding (RunOptions.keep_texts)
    old_text: str | None = None
    new_text: str | None = None
    encoding: str = "utf-8"


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Parsing allocates millions of short-lived objects without reference cycles
    (CST nodes); pausing the cyclic collector meanwhile saves about a tenth of the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def process_file(codemod: Codemod, options: RunOptions, candidate: Candidate) -> FileResult:
    """Take one file from disk to its new text; never raises."""
    with _cyclic_gc_paused():
        return _process_file(codemod, options, candidate)


def _process_file(codemod: Codemod, options: RunOptions, candidate: Candidate) -> FileResult:
    started = time.perf_counter()
    try:
        source = read_source(candidate.path, candidate.language, options.max_file_size)
    except SourceError as exc:
        status: Status = "skipped" if "max-file-size" in str(exc) else "failed"
        return _failure(candidate, status, str(exc))
    context = FileContext(candidate.path, candidate.display, candidate.language, candidate.root)
    try:
        prepared = codemod.prepare(context, source)
        if not isinstance(prepared, Prepared):
            return _result(candidate, source, prepared, options, started)
        # The template provider's answer to every request is the request's own
        # fallback: no manager, prompt or judge is needed to know it.
        answers = {request.id: request.fallback for request in prepared.requests}
        outcome = codemod.finish(prepared, answers)
        result = _result(candidate, source, outcome, options, started)
        records = (
            tuple(_record(r, None, False) for r in prepared.requests) if options.records else ()
        )
        return replace(
            result,
            requests=len(prepared.requests),
            notes=prepared.notes,
            changes=records,
        )
    except RecursionError:
        return _failure(candidate, "failed", "too deeply nested to process")
    except Exception as exc:  # a bug must not stop the other files
        return _failure(candidate, "failed", f"internal error: {type(exc).__name__}: {exc}")


def _failure(candidate: Candidate, status: Status, reason: str) -> FileResult:
    return FileResult(candidate.display, candidate.path, status, reason)


def _result(
    candidate: Candidate,
    source: DecodedSource,
    outcome: FileOutcome,
    options: RunOptions,
    started: float,
) -> FileResult:
    diff = None
    data = None
    keep = options.keep_texts and outcome.status == "changed" and outcome.text is not None
    if outcome.status == "changed" and outcome.text is not None:
        try:
            data = source.encode(outcome.text)
        except UnicodeEncodeError as exc:
            reason = f"the new text cannot be written in the file's encoding: {exc.reason}"
            return _failure(candidate, "failed", reason)
        if options.diff:
            diff = unified_diff(source.text, outcome.text, candidate.display, source.encoding)
        if not options.keep_output:
            data = None
    return FileResult(
        display=candidate.display,
        path=candidate.path,
        status=outcome.status,
        reason=outcome.reason,
        diff=diff,
        new_data=data,
        counts=dict(outcome.counts),
        warnings=outcome.warnings,
        needs=outcome.needs,
        releases=outcome.releases,
        seconds=time.perf_counter() - started,
        old_text=source.text if keep else None,
        new_text=outcome.text if keep else None,
        encoding=source.encoding,
    )


def run(
    codemod: Codemod,
    candidates: Sequence[Candidate],
    options: RunOptions,
    on_result: Callable[[FileResult], None],
) -> None:
    """Process every candidate and report results, in candidate order."""
    work = partial(process_file, codemod, options)
    if options.jobs <= 1 or len(candidates) <= 1:
        for candidate in candidates:
            on_result(work(candidate))
        return
    jobs = min(options.jobs, len(candidates))
    chunksize = max(1, min(16, len(candidates) // (jobs * 8)))
    done = 0
    pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        for result in pool.map(work, candidates, chunksize=chunksize):
            on_result(result)
            done += 1
    except BrokenProcessPool:
        for candidate in candidates[done:]:
            on_result(
                FileResult(
                    display=candidate.display,
                    path=candidate.path,
                    status="failed",
                    reason="a worker process died while processing this batch",
                )
            )
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# -- with models -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Staged:
    """A prepared file waiting for its answers."""

    prepared: Prepared
    seconds: float


def _prepare_file(
    codemod: Codemod, options: RunOptions, candidate: Candidate
) -> FileResult | _Staged:
    with _cyclic_gc_paused():
        started = time.perf_counter()
        try:
            source = read_source(candidate.path, candidate.language, options.max_file_size)
        except SourceError as exc:
            status: Status = "skipped" if "max-file-size" in str(exc) else "failed"
            return _failure(candidate, status, str(exc))
        context = FileContext(candidate.path, candidate.display, candidate.language, candidate.root)
        try:
            prepared = codemod.prepare(context, source)
        except RecursionError:
            return _failure(candidate, "failed", "too deeply nested to process")
        except Exception as exc:
            return _failure(candidate, "failed", f"internal error: {type(exc).__name__}: {exc}")
        if not isinstance(prepared, Prepared):
            return _result(candidate, source, prepared, options, started)
        return _Staged(prepared, time.perf_counter() - started)


def _judge(codemod: Codemod, request: EditRequest, text: str) -> Verdict:
    try:
        return codemod.judge(request, text)
    except Exception as exc:  # a judge bug rejects the answer, it does not crash the run
        return Verdict(False, f"the validator failed: {type(exc).__name__}: {exc}", 0)


def _record(request: EditRequest, completion: Completion | None, accepted: bool) -> ChangeRecord:
    if completion is None or completion.provider == "template":
        return ChangeRecord(
            request.id, request.kind, request.line, request.span, "template", "template"
        )
    return ChangeRecord(
        request_id=request.id,
        kind=request.kind,
        line=request.line,
        span=request.span,
        strategy="model" if accepted else "template",
        provider=completion.provider,
        model=completion.model,
        tier=completion.tier,
        endpoint=completion.endpoint,
        attempts=completion.attempts,
        retries=completion.retries,
        tokens_in=completion.tokens_in,
        tokens_out=completion.tokens_out,
        latency_ms=round(completion.latency_ms, 1),
        cached=completion.cached,
        validation="accepted" if accepted else (completion.error or "rejected"),
    )


def _prepare_all(
    codemod: Codemod, candidates: Sequence[Candidate], options: RunOptions
) -> list[FileResult | _Staged]:
    work = partial(_prepare_file, codemod, options)
    if options.jobs <= 1 or len(candidates) <= 1:
        return [work(candidate) for candidate in candidates]
    jobs = min(options.jobs, len(candidates))
    chunksize = max(1, min(16, len(candidates) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        try:
            return list(pool.map(work, candidates, chunksize=chunksize))
        except BrokenProcessPool:
            return [
                _failure(c, "failed", "a worker process died while preparing this file")
                for c in candidates
            ]


def run_with_models(
    codemod: Codemod,
    candidates: Sequence[Candidate],
    options: RunOptions,
    on_result: Callable[[FileResult], None],
    manager: LLMManager,
    on_answer: Callable[[int, int], None] | None = None,
    wanted: Callable[[FileResult], Collection[str] | None] | None = None,
) -> None:
    """Prepare every file, answer every request through ``manager``, finish in order.

    Nothing is reported (so nothing is written) before all answers are in: Ctrl-C
    while models work leaves every file untouched, and the answers received so far
    stay in the cache for the next run.

    ``wanted`` sees each file's template-only result and names the requests worth a
    model's answer (None: all of them); the others get their template fallback
    without asking (``--only-changed`` drops their changes afterwards anyway).
    """
    staged = _prepare_all(codemod, candidates, options)
    requests: list[EditRequest] = []
    prompts: list[Prompt] = []
    for candidate, item in zip(candidates, staged, strict=True):
        if isinstance(item, _Staged):
            ids = None
            if wanted is not None:
                ids = wanted(_finish_staged(codemod, candidate, item, {}, options))
            for request in item.prepared.requests:
                if ids is None or request.id in ids:
                    requests.append(request)
                    prompts.append(codemod.prompt(request))
    by_id = {request.id: request for request in requests}
    done = 0

    def answered(index: int, completion: Completion) -> None:
        nonlocal done
        done += 1
        if on_answer is not None:
            on_answer(done, len(prompts))

    completions = manager.complete_all(
        prompts,
        judge=lambda prompt, text: _judge(codemod, by_id[prompt.request_id], text),
        on_done=answered,
    )
    answers = {c.request_id: c for c in completions}
    asked = set(by_id)
    for candidate, item in zip(candidates, staged, strict=True):
        if isinstance(item, FileResult):
            on_result(item)
            continue
        on_result(_finish_staged(codemod, candidate, item, answers, options, asked))


def _finish_staged(
    codemod: Codemod,
    candidate: Candidate,
    staged: _Staged,
    completions: dict[str, Completion],
    options: RunOptions,
    asked: Container[str] | None = None,
) -> FileResult:
    """The file with its answers (or fallbacks) applied; ``asked``: the request ids
    that went to a model (None: all of them)."""
    started = time.perf_counter()
    prepared = staged.prepared
    texts: dict[str, str] = {}
    records: list[ChangeRecord] = []
    fallbacks = 0
    for request in prepared.requests:
        completion = completions.get(request.id)
        accepted = completion is not None and completion.ok and completion.text is not None
        if accepted and completion is not None and completion.text is not None:
            texts[request.id] = completion.text
        else:
            texts[request.id] = request.fallback
            fallbacks += completion is not None and completion.provider != "template"
        records.append(_record(request, completion, accepted))
    try:
        outcome = codemod.finish(prepared, texts)
        result = _result(candidate, prepared.source, outcome, options, started)
    except RecursionError:
        return _failure(candidate, "failed", "too deeply nested to process")
    except Exception as exc:
        return _failure(candidate, "failed", f"internal error: {type(exc).__name__}: {exc}")
    return replace(
        result,
        requests=sum(asked is None or r.id in asked for r in prepared.requests),
        fallbacks=fallbacks,
        notes=prepared.notes,
        changes=tuple(records),
        seconds=result.seconds + staged.seconds,
    )

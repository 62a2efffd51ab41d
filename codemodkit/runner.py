"""Run a codemod over candidate files: read, prepare, answer, finish, in a process pool.

Parsing and collecting are CPU-bound, so files are spread over worker processes
(``--jobs``). With the built-in template provider every answer is local, so a worker
takes a file all the way to its new text and diff; the main process only writes.
One bad file never stops the others: every failure becomes that file's result.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Literal

from codemodkit.codemods.base import Codemod, FileContext, FileOutcome, Prepared, SupportFile
from codemodkit.discovery import Candidate
from codemodkit.llm import LLMManager, Prompt, TemplateProvider
from codemodkit.output.diff import unified_diff
from codemodkit.sourcefile import DEFAULT_MAX_FILE_SIZE, DecodedSource, SourceError, read_source

__all__ = ["FileResult", "RunOptions", "default_jobs", "run"]

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


def _answer(
    codemod: Codemod, prepared: Prepared, manager: LLMManager
) -> tuple[dict[str, str], int]:
    """Answers by request id; a rejected or failed answer falls back to the template."""
    # The template provider answers with each request's fallback, so the prompt text
    # itself does not matter yet.
    prompts = [Prompt(r.id, "", r.code, r.fallback) for r in prepared.requests]
    answers: dict[str, str] = {}
    fallbacks = 0
    for request, completion in zip(prepared.requests, manager.complete_all(prompts), strict=True):
        text = completion.text if completion.ok else None
        if text is None or not codemod.judge(request, text).ok:
            text = request.fallback
            fallbacks += completion.provider != "template"
        answers[request.id] = text
    return answers, fallbacks


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
        answers, fallbacks = _answer(codemod, prepared, LLMManager(TemplateProvider()))
        outcome = codemod.finish(prepared, answers)
        result = _result(candidate, source, outcome, options, started)
        return replace(
            result, requests=len(prepared.requests), fallbacks=fallbacks, notes=prepared.notes
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

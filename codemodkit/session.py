"""One run of a file-rewriting command: discover, process, then print or write results.

Results arrive in file order. A changed file is printed as a diff (``--dry-run``),
reported (``--check``) or written atomically - after the support files it needs, so
an instrumented file never exists without its helper.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from codemodkit.codemods.base import Codemod
from codemodkit.discovery import Candidate, DiscoveryOptions, discover, display_path
from codemodkit.llm import LLMManager
from codemodkit.output.diff import DiffPrinter, unified_diff
from codemodkit.output.report import build_report, write_report
from codemodkit.output.summary import Summary, print_stats
from codemodkit.runner import FileResult, RunOptions, run, run_with_models
from codemodkit.sourcefile import atomic_write
from codemodkit.support import SupportAction, SupportConflict, SupportFiles

__all__ = ["Session", "SessionOptions"]

#: show a progress bar when at least this many files are processed on a terminal
PROGRESS_MIN_FILES = 50


@dataclass(frozen=True)
class SessionOptions:
    command: str
    dry_run: bool
    check: bool
    verbose: bool
    run: RunOptions
    discovery: DiscoveryOptions
    #: how the summary names changed files and counted constructs
    verb: str = "changed"
    constructs_label: str = "instrumented"
    report: Path | None = None
    #: exit 1 when files were written (pre-commit hooks)
    exit_on_change: bool = False


class Session:
    def __init__(
        self,
        codemod: Codemod,
        options: SessionOptions,
        out: Console | None = None,
        err: Console | None = None,
        manager: LLMManager | None = None,
    ) -> None:
        self.codemod = codemod
        self.options = options
        self.manager = manager or LLMManager()
        self.results: list[FileResult] = []
        self.out = out or Console(file=sys.stdout, highlight=False, soft_wrap=True)
        self.err = err or Console(stderr=True, highlight=False, soft_wrap=True)
        self.summary = Summary(options.command)
        self.support = SupportFiles(write=self.writes)
        self.diffs = DiffPrinter(self.out)
        #: processed files and whether their final text still needs a support file
        self.final_needs: dict[Path, bool] = {}
        self.pending = 0
        #: dry runs print support-file diffs after the code diffs
        self.deferred: list[bytes] = []

    @property
    def writes(self) -> bool:
        return not (self.options.dry_run or self.options.check)

    # -- results -------------------------------------------------------------------
    def support_action(self, action: SupportAction) -> None:
        self.pending += 1
        self.summary.support[
            {"create": "created", "update": "updated", "delete": "deleted"}[action.action]
        ] += 1
        display = display_path(action.path)
        if self.options.dry_run:
            old = action.old.decode("utf-8", "replace") if action.old is not None else None
            new = action.new.decode("utf-8", "replace") if action.new is not None else None
            self.deferred.append(unified_diff(old, new, display))
        elif self.options.check:
            self.out.print(f"would {action.action}: {display}", markup=False)
        else:
            self.summary.support_files.append((action.action, display))

    def handle(self, result: FileResult) -> None:
        if result.status in ("changed", "unchanged"):
            try:
                for needed in result.needs:
                    action = self.support.ensure(needed)
                    if action is not None:
                        self.support_action(action)
            except (SupportConflict, OSError) as exc:
                result = replace(result, status="failed", reason=f"cannot write its helper: {exc}")
            else:
                self.final_needs[result.path] = bool(result.needs)
                for released in result.releases:
                    self.support.release(released)
        if result.status == "changed":
            self.pending += 1
            if self.options.dry_run:
                self.diffs.print(result.diff or b"")
            elif self.options.check:
                self.out.print(f"would change: {result.display}", markup=False)
            else:
                assert result.new_data is not None
                try:
                    atomic_write(result.path, result.new_data)
                except OSError as exc:
                    result = replace(
                        result, status="failed", reason=f"cannot write: {exc.strerror}"
                    )
        self.summary.add(result)
        if self.options.report is not None:
            self.results.append(result)
        if self.options.verbose:
            for note in result.notes:
                self.err.print(f"{result.display}: {note}", markup=False, highlight=False)

    def _progress(self) -> Progress:
        return Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=self.err,
            transient=True,
        )

    def _run_template(self, candidates: Sequence[Candidate]) -> None:
        if not (self.err.is_terminal and len(candidates) >= PROGRESS_MIN_FILES):
            run(self.codemod, candidates, self.options.run, self.handle)
            return
        with self._progress() as progress:
            task = progress.add_task(self.options.command, total=len(candidates))

            def advance(result: FileResult) -> None:
                self.handle(result)
                progress.advance(task)

            run(self.codemod, candidates, self.options.run, advance)

    def _run_with_models(self, candidates: Sequence[Candidate]) -> None:
        """Every request of the run goes to the models at once; files are written
        only once all answers are in (Ctrl-C before then changes nothing)."""
        if not self.err.is_terminal:
            run_with_models(self.codemod, candidates, self.options.run, self.handle, self.manager)
            return
        with self._progress() as progress:
            task = progress.add_task("asking models", total=None)

            def answered(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            run_with_models(
                self.codemod,
                candidates,
                self.options.run,
                self.handle,
                self.manager,
                on_answer=answered,
            )

    # -- the run -------------------------------------------------------------------
    def execute(
        self,
        paths: Sequence[str],
        in_use: Callable[[Path, dict[Path, bool]], bool] | None = None,
    ) -> int:
        """Run over ``paths`` and return the exit status."""
        started = time.perf_counter()
        found = discover(paths, self.options.discovery)
        for problem in found.problems:
            self.summary.add_problem(problem)
        self.summary.add_skips(found.skipped)
        candidates = found.candidates
        if self.manager.uses_models:
            self._run_with_models(candidates)
        else:
            self._run_template(candidates)
        if in_use is not None:
            for action in self.support.remove_unused(lambda path: in_use(path, self.final_needs)):
                self.support_action(action)
        for diff in self.deferred:
            self.diffs.print(diff)
        seconds = time.perf_counter() - started
        stats = self.manager.stats if self.manager.uses_models else None
        if stats is not None:
            self.summary.add_model_stats(stats)
        self.summary.print(
            self.err,
            seconds,
            verb=self.options.verb,
            constructs_label=self.options.constructs_label,
        )
        if stats is not None and self.options.verbose:
            print_stats(self.err, stats)
        if self.options.report is not None:
            report = build_report(self.options.command, seconds, self.results, stats)
            try:
                write_report(self.options.report, report)
            except OSError as exc:
                self.err.print(f"error: cannot write the report: {exc}", markup=False)
                return 1
        if self.summary.failed:
            return 1
        if (self.options.check or self.options.exit_on_change) and self.pending:
            return 1
        return 0

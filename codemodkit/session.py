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
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from codemodkit.codemods.base import Codemod
from codemodkit.discovery import Candidate, DiscoveryOptions, discover, display_path
from codemodkit.gitstate import Changes, GitError, changed_lines, unsafe_to_write
from codemodkit.llm import LLMManager
from codemodkit.output.diff import DiffPrinter, unified_diff
from codemodkit.output.summary import Summary, print_stats
from codemodkit.review import FileChange, Quit, Reviewer, finish, plan
from codemodkit.runner import FileResult, RunOptions, run, run_with_models
from codemodkit.sourcefile import atomic_write
from codemodkit.support import SupportAction, SupportConflict, SupportFiles

if TYPE_CHECKING:
    from rich.progress import Progress

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
    #: ask, construct by construct, which changes to write
    interactive: bool = False
    #: only files (and constructs) changed since this git revision
    only_changed: str | None = None
    #: write files even when their working copy has unstaged changes
    force: bool = False


def _folder(path: str) -> Path:
    candidate = Path(path)
    return candidate if candidate.is_dir() else candidate.parent


class Session:
    def __init__(
        self,
        codemod: Codemod,
        options: SessionOptions,
        out: Console | None = None,
        err: Console | None = None,
        manager: LLMManager | None = None,
        reviewer: Reviewer | None = None,
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
        self.reviewer = reviewer or Reviewer(self.out)
        #: files not to write (unstaged changes, no --force), with why
        self.refused: dict[Path, str] = {}
        self.refusals = 0
        #: results held back until the review (or the --only-changed selection)
        self.held: list[FileResult] | None = None

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

    def receive(self, result: FileResult) -> None:
        if self.held is not None:
            self.held.append(result)
        else:
            self.handle(result)

    def handle(self, result: FileResult) -> None:
        if result.status == "changed" and result.path.resolve() in self.refused:
            why = self.refused[result.path.resolve()]
            self.refusals += 1
            result = replace(
                result,
                status="skipped",
                reason=f"refused: {why} (stage them, or pass --force)",
                counts={},
                needs=(),
            )
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
        # Imported here: only a terminal shows progress (the import costs start-up).
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

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
            run(self.codemod, candidates, self.options.run, self.receive)
            return
        with self._progress() as progress:
            task = progress.add_task(self.options.command, total=len(candidates))

            def advance(result: FileResult) -> None:
                self.receive(result)
                progress.advance(task)

            run(self.codemod, candidates, self.options.run, advance)

    def _run_with_models(self, candidates: Sequence[Candidate], changes: Changes | None) -> None:
        """Every request of the run goes to the models at once; files are written
        only once all answers are in (Ctrl-C before then changes nothing).

        With ``--only-changed``, only the constructs it will keep are asked about."""
        ask = partial(
            run_with_models,
            self.codemod,
            candidates,
            self.options.run,
            self.receive,
            self.manager,
            wanted=None if changes is None else partial(_wanted, changes),
        )
        if not self.err.is_terminal:
            ask()
            return
        with self._progress() as progress:
            task = progress.add_task("asking models", total=None)

            def answered(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            ask(on_answer=answered)

    # -- choosing what is written -------------------------------------------------------
    def _select(self, results: list[FileResult], changes: Changes | None) -> list[FileResult]:
        """Apply --only-changed's construct filter and the interactive review."""
        chosen: list[FileResult] = []
        quit_ = False
        for result in results:
            if (
                result.status != "changed"
                or result.old_text is None
                or result.path.resolve() in self.refused
            ):
                chosen.append(result)
                continue
            change = plan(result)
            allowed = list(range(len(change.groups)))
            ranges = changes.get(result.path.resolve()) if changes is not None else None
            if ranges is not None:
                allowed = _changed_groups(change, ranges)
            if self.options.interactive and allowed and not quit_:
                try:
                    allowed = self.reviewer.review(change, allowed)
                except Quit as stop:
                    allowed = list(stop.args[0])
                    quit_ = True
                    self.out.print(
                        "quit: writing the changes accepted so far, nothing else", markup=False
                    )
            elif quit_:
                allowed = []
            chosen.append(finish(change, allowed))
        return chosen

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
        changes: Changes | None = None
        if self.options.only_changed is not None:
            changes = {}
            try:
                for folder in dict.fromkeys(_folder(p) for p in paths):
                    changes.update(changed_lines(folder, self.options.only_changed))
            except GitError as exc:
                self.err.print(f"error: --only-changed: {exc}", markup=False)
                return 2
            candidates = [c for c in candidates if c.path.resolve() in changes]
        if self.writes and not self.options.force:
            self.refused = unsafe_to_write(c.path for c in candidates)
        if self.options.interactive or changes is not None:
            self.held = []
        if self.manager.uses_models:
            self._run_with_models(candidates, changes)
        else:
            self._run_template(candidates)
        if self.held is not None:
            held, self.held = self.held, None
            for result in self._select(held, changes):
                self.handle(result)
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
            from codemodkit.output.report import build_report, write_report  # only for --report

            report = build_report(self.options.command, seconds, self.results, stats)
            try:
                write_report(self.options.report, report)
            except OSError as exc:
                self.err.print(f"error: cannot write the report: {exc}", markup=False)
                return 1
        if self.summary.failed or any(r.startswith("refused") for r in self.summary.skip_reasons):
            return 1
        if (self.options.check or self.options.exit_on_change) and self.pending:
            return 1
        return 0


def _changed_groups(change: FileChange, ranges: Sequence[tuple[int, int]]) -> list[int]:
    """The groups (by index) of ``change`` whose lines meet a changed line range."""
    return [
        index
        for index, group in enumerate(change.groups)
        if any(a <= group.lines[1] and group.lines[0] <= b for a, b in ranges)
    ]


def _wanted(changes: Changes, template: FileResult) -> set[str] | None:
    """The requests of a file that ``--only-changed`` will keep, judged on its
    template-only result (model answers change what is inserted, not where)."""
    ranges = changes.get(template.path.resolve())
    if ranges is None or template.status != "changed" or template.old_text is None:
        return None
    change = plan(template)
    return {
        record.request_id
        for index in _changed_groups(change, ranges)
        for record in change.groups[index].records
    }

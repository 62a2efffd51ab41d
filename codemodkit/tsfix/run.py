"""One ``codemod tsfix`` run, from the request to the result (no printing of diffs,
no writing: the CLI does that)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from rich.console import Console

from codemodkit.llm.manager import LLMManager

from .backend import OutputOnly, find_tsconfig, open_service
from .engine import Mode, TsfixOptions, TsfixResult, run_rounds
from .summary import build_report, print_summary, write_report
from .tscout import parse_tsc_output
from .types import ServiceError, TsService
from .validate import Policy

__all__ = ["TsfixOutcome", "TsfixRequest", "run_tsfix"]

_NEVER_EDITED = ("node_modules",)


@dataclass(frozen=True)
class TsfixRequest:
    paths: tuple[Path, ...] = ()
    project: Path | None = None
    codes: frozenset[int] | None = None
    max_tier: int = 3
    mode: Mode = "sequential"
    max_rounds: int = 5
    max_attempts: int = 3
    allow_any: bool = False
    allow_non_null: bool = False
    allow_ts_comments: bool = False
    tiers: Mapping[int, int] = field(default_factory=dict)
    #: patterns of files never edited (the configuration's ``exclude``)
    exclude: tuple[str, ...] = ()
    #: tsc's output, when diagnostics come from it instead of a TypeScript service
    tsc_output: str | None = None


@dataclass
class TsfixOutcome:
    error: str | None = None
    result: TsfixResult | None = None
    root: Path | None = None
    manager: LLMManager | None = None

    def print_summary(self, console: Console, *, written: int, pending: int) -> None:
        assert self.result is not None and self.root is not None
        hits = self.manager.stats.total("cache_hits") if self.manager is not None else 0
        print_summary(
            console, self.result, self.root, cache_hits=hits, written=written, pending=pending
        )

    def write_report(self, path: Path) -> None:
        assert self.result is not None and self.root is not None
        stats = self.manager.stats if self.manager is not None else None
        write_report(path, build_report(self.result, self.root, stats))


def _editable(
    paths: tuple[Path, ...], exclude: tuple[str, ...] = (), root: Path | None = None
) -> Callable[[str], bool]:
    roots = [p.resolve() for p in paths]
    # the configuration's `exclude` patterns, relative to the project's folder
    spec = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None

    def editable(file: str) -> bool:
        path = Path(file)
        if any(part in _NEVER_EDITED for part in path.parts) or file.endswith(".d.ts"):
            return False
        if spec is not None and root is not None and root in path.parents:
            excluded = spec.match_file(path.relative_to(root).as_posix())
            return not excluded and (
                not roots or any(r == path or r in path.parents for r in roots)
            )
        return not roots or any(path == r or r in path.parents for r in roots)

    return editable


def run_tsfix(
    request: TsfixRequest,
    manager: LLMManager | None,
    *,
    err: Console,
    say: Callable[[str], None] = lambda line: None,
) -> TsfixOutcome:
    outcome = TsfixOutcome(manager=manager)
    start = request.project or (request.paths[0] if request.paths else Path("."))
    service: TsService | None = None
    try:
        tsconfig = find_tsconfig(start if start.exists() else Path("."))
        root = tsconfig.parent
        outcome.root = root
        if request.tsc_output is not None:
            service = OutputOnly(parse_tsc_output(request.tsc_output, cwd=Path.cwd()))
            err.print(
                "warning: diagnostics from tsc output: tier 0 and model fixes are "
                "unavailable without a TypeScript service (errors are listed only)",
                markup=False,
            )
        else:
            service = open_service(tsconfig, say=say)
            if not service.fixes_available:
                reason = getattr(service, "reason", "")
                err.print(
                    f"warning: TypeScript {service.version}: "
                    + (f"{reason}: " if reason else "")
                    + "code fixes are unavailable, tier 0 is skipped",
                    markup=False,
                )
        checks = getattr(service, "checks_available", True)
        options = TsfixOptions(
            editable=_editable(request.paths, request.exclude, root),
            codes=request.codes,
            max_tier=request.max_tier if checks else 0,
            mode=request.mode,
            max_rounds=request.max_rounds if checks else 1,
            max_attempts=request.max_attempts,
            policy=Policy(
                allow_any=request.allow_any,
                allow_non_null=request.allow_non_null,
                allow_ts_comments=request.allow_ts_comments,
            ),
            tiers=request.tiers,
            root=root,
        )
        outcome.result = run_rounds(service, manager, options, say)
    except ServiceError as exc:
        outcome.error = str(exc)
    finally:
        if service is not None:
            service.close()
    return outcome

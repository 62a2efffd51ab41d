"""``codemod tsfix``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import click
from rich.console import Console

from codemodkit.config import load_config
from codemodkit.gitstate import GitError, changed_lines, unsafe_to_write
from codemodkit.llm.setup import ModelFlags, build_manager
from codemodkit.output.diff import DiffPrinter, unified_diff
from codemodkit.output.hunks import Hunk
from codemodkit.review import Quit, Reviewer, finish, plan_hunks
from codemodkit.sourcefile import atomic_write
from codemodkit.tsfix.engine import FixRecord, Mode, TsfixResult, relative

from .errors import EXIT_INTERNAL, guarded
from .options import (
    ONLY_CHANGED,
    check_review,
    exit_on_change_option,
    model_options,
    only_changed_paths,
)

EPILOG = """\b
Examples:
  codemod tsfix --dry-run                 show the fixes for ./tsconfig.json's project
  codemod tsfix --tier 0                  TypeScript's own safe fixes only, no model
  codemod tsfix -p web/tsconfig.json web/src/a.ts
                                          check the project, edit only a.ts
  codemod tsfix --codes 2304,6133         only missing names and unused declarations
  tsc --noEmit --pretty false | codemod tsfix --from-tsc-output -
                                          list and classify errors (no fixes)

\b
Exit status: 0 no errors left, 1 errors left (or, with --check and --dry-run,
changes pending; with --exit-non-zero-on-change, files written), 2 the tool could
not run (no tsconfig, no typescript, a helper crash).
"""


def _codes(value: str | None) -> frozenset[int] | None:
    if not value:
        return None
    try:
        return frozenset(int(part.strip().upper().removeprefix("TS")) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected codes like 2304,6133") from None


@click.command(epilog=EPILOG)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-p",
    "--project",
    type=click.Path(path_type=Path, dir_okay=True),
    help="The tsconfig.json (or its folder). Default: the nearest one at or above PATH.",
)
@click.option("--dry-run", is_flag=True, help="Print a unified diff and write nothing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything would change.")
@click.option("--force", is_flag=True, help="Also write files that have unstaged changes.")
@click.option("-i", "--interactive", is_flag=True, help="Show each fix and ask which to write.")
@ONLY_CHANGED
@click.option("--codes", metavar="CODES", help="Only these error codes (e.g. 2304,6133).")
@click.option(
    "--tier",
    "max_tier",
    type=click.IntRange(0, 3),
    default=None,
    help="The highest tier used; 0 = TypeScript's own fixes only (no model).  [default: 3]",
)
@click.option(
    "--mode",
    type=click.Choice(["sequential", "parallel", "hybrid"]),
    default=None,
    help="How model tiers run: tier by tier, all at once, or the local tiers alongside "
    "the cloud tiers.  [default: sequential, or [tool.codemod.tsfix] mode]",
)
@click.option("--max-rounds", type=click.IntRange(1, 20), default=None, help="[default: 5]")
@click.option("--allow-any", is_flag=True, help="Accept model fixes that add `any`.")
@click.option("--allow-non-null", is_flag=True, help="Accept fixes that add `!` assertions.")
@click.option(
    "--allow-ts-comments", is_flag=True, help="Accept fixes that add @ts-ignore/@ts-expect-error."
)
@click.option(
    "--from-tsc-output",
    type=click.File("r", encoding="utf-8"),
    help="Read diagnostics from tsc output (a file, or - for stdin) instead of running "
    "TypeScript; errors are listed and classified, nothing is fixed.",
)
@click.option("-v", "--verbose", is_flag=True, help="Say what happens, round by round.")
@exit_on_change_option
@model_options
@guarded
def tsfix(
    paths: tuple[Path, ...],
    project: Path | None,
    dry_run: bool,
    check: bool,
    force: bool,
    interactive: bool,
    only_changed: str | None,
    codes: str | None,
    max_tier: int | None,
    mode: str | None,
    max_rounds: int | None,
    allow_any: bool,
    allow_non_null: bool,
    allow_ts_comments: bool,
    from_tsc_output: Any,
    verbose: bool,
    exit_on_change: bool,
    report: Path | None,
    cache_dir: Path | None,
    **model: Any,
) -> None:
    """Fix a TypeScript project's compiler errors in one batch.

    TypeScript's own code fixes come first (tier 0, an allowlist: missing imports,
    unused declarations, `async` for `await` ...), then the configured model tiers
    by difficulty. Every fix is type-checked in memory before it is kept: the errors
    it targets are gone, no new error appears anywhere, and it adds no `any`, no
    `@ts-` comment, no `!`, no stub. PATHS restrict which files may be edited; the
    whole project is always type-checked.
    """
    from codemodkit.tsfix.run import TsfixRequest, run_tsfix

    check_review(interactive, dry_run, check)
    rev, named = only_changed_paths(only_changed, tuple(str(p) for p in paths), required=False)
    paths = tuple(Path(p) for p in named)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    say = (lambda line: err.print(line, markup=False)) if verbose else (lambda line: None)
    start = (project or (paths[0] if paths else Path("."))).resolve()
    loaded = load_config(start if start.is_dir() else start.parent)
    flags = ModelFlags(cache_dir=cache_dir, **model)
    settings = loaded.config.tsfix
    tier_cap = max_tier if max_tier is not None else 3
    if tier_cap == 0:
        flags = ModelFlags(provider="template")
    manager = build_manager(
        loaded.config,
        flags,
        start=start if start.is_dir() else start.parent,
        say=say,
        warn=lambda line: err.print(f"warning: {line}", markup=False),
    )
    if rev is not None:
        paths = _changed_files(start if start.is_dir() else start.parent, rev, paths, err)
    request = TsfixRequest(
        paths=paths,
        exclude=loaded.config.exclude,
        project=project,
        codes=_codes(codes),
        max_tier=tier_cap,
        mode=cast(Mode, mode or settings.mode),
        max_rounds=max_rounds or settings.max_rounds,
        max_attempts=model.get("max_attempts") or 3,
        allow_any=allow_any or settings.allow_any,
        allow_non_null=allow_non_null or settings.allow_non_null,
        allow_ts_comments=allow_ts_comments or settings.allow_ts_comments,
        tiers=settings.tiers,
        tsc_output=from_tsc_output.read() if from_tsc_output is not None else None,
    )
    try:
        outcome = run_tsfix(request, manager, err=err, say=say)
    finally:
        manager.close()
    if outcome.error is not None:
        err.print(f"codemod tsfix: {outcome.error}", markup=False)
        sys.exit(EXIT_INTERNAL)
    result = outcome.result
    assert result is not None and outcome.root is not None
    writes = not (dry_run or check)
    pending = len(result.changed)
    if dry_run:
        printer = DiffPrinter(Console(highlight=False, soft_wrap=True))
        for file, (old, new) in sorted(result.changed.items()):
            printer.print(unified_diff(old, new, relative(file, outcome.root)))
    written = 0
    refused: dict[Path, str] = {}
    if writes and result.changed:
        if not force:
            refused = unsafe_to_write(Path(f) for f in result.changed)
        chosen = {f: new for f, (_, new) in result.changed.items()}
        if interactive:
            chosen = _review(result, refused, outcome.root)
        for file, new in sorted(chosen.items()):
            if Path(file).resolve() in refused:
                continue
            atomic_write(Path(file), new.encode("utf-8"))
            written += 1
        for path, why in sorted(refused.items()):
            err.print(
                f"{relative(str(path), outcome.root)}: not written: it {why} (use --force)",
                markup=False,
            )
    outcome.print_summary(err, written=written, pending=pending)
    if report is not None:
        outcome.write_report(report)
    if result.after or refused:
        sys.exit(1)
    if (dry_run or check) and pending:
        sys.exit(1)
    if exit_on_change and written:
        sys.exit(1)
    sys.exit(0)


def _review(result: TsfixResult, refused: dict[Path, str], root: Path) -> dict[str, str]:
    """Ask fix by fix (line hunk by line hunk); the new texts of the files to write."""
    reviewer = Reviewer(Console(highlight=False, soft_wrap=True))
    chosen: dict[str, str] = {}
    for file, (old, new) in sorted(result.changed.items()):
        if Path(file).resolve() in refused:
            continue
        fixes = [f for f in result.fixes if f.file == file]

        def label(hunk: Hunk, fixes: list[FixRecord] = fixes) -> str:
            # A fix's line is where its error was reported: name the fixes whose line
            # this hunk rewrites (an added import sits elsewhere and stays unnamed).
            lines = range(hunk.old_start + 1, hunk.old_end + 1)
            near = [f for f in fixes if f.line in lines]
            where = f"line {hunk.old_start + 1}"
            if not near:
                return where
            return (
                where
                + ": "
                + "; ".join(
                    f.construct
                    + (f" (model {f.model}, tier {f.tier})" if f.strategy == "model" else "")
                    for f in near
                )
            )

        change = plan_hunks(relative(file, root), Path(file), old, new, label)
        try:
            accepted = reviewer.review(change, range(len(change.groups)))
        except Quit as stop:
            accepted = list(stop.args[0])
            final = finish(change, accepted)
            if final.status == "changed" and final.new_text is not None:
                chosen[file] = final.new_text
            click.echo("quit: writing the fixes accepted so far, nothing else")
            break
        final = finish(change, accepted)
        if final.status == "failed":
            click.echo(f"{change.result.display}: not written: {final.reason}", err=True)
        elif final.status == "changed" and final.new_text is not None:
            chosen[file] = final.new_text
    return chosen


def _changed_files(
    folder: Path, rev: str, paths: tuple[Path, ...], err: Console
) -> tuple[Path, ...]:
    """--only-changed: the TypeScript files changed since ``rev`` (under ``paths``); the
    whole project is still type-checked, only these are edited."""
    try:
        changes = changed_lines(folder, rev)
    except GitError as exc:
        err.print(f"codemod tsfix: --only-changed: {exc}", markup=False)
        sys.exit(EXIT_INTERNAL)
    roots = [p.resolve() for p in paths]
    found = tuple(
        sorted(
            path
            for path in changes
            if path.suffix in _TS_SUFFIXES
            and path.exists()
            and (not roots or any(path == r or r in path.parents for r in roots))
        )
    )
    if not found:
        err.print(f"codemod tsfix: no TypeScript file changed since {rev}", markup=False)
        sys.exit(0)
    return found


_TS_SUFFIXES = frozenset({".ts", ".tsx", ".mts", ".cts"})

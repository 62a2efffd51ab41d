"""Benchmark ``codemod tsfix --tier 0`` on rxjs with seeded errors, against one ``tsc``.

In one run, on a fresh seeded copy of rxjs 7.8.2's ``src/`` (``tsfix_seed.py``; made
again from a manifest's seeds with ``--manifest``, else seeded and calibrated here):

1. ``tsc --noEmit -p tsconfig.tsfix.json`` of the copy, timed: the errors before, which
   must be exactly the manifest's (each matched to the seed kind that caused it);
2. ``python -m codemodkit tsfix --tier 0 --project tsconfig.tsfix.json <copy>``, timed
   (exit 0: no errors left, 1: errors left, 2: the tool could not run);
3. the ratio of the two (target: tsfix <= 3x one tsc);
4. ``tsc`` again: errors fixed and left per kind, left by code, and new errors (errors
   that were not there before - must be 0). Errors are compared by (file, code,
   message), since fixes move lines. Also: lines tsfix added with ``any``, ``@ts-`` or
   ``!`` (the copy is a git repository, so ``git diff`` shows what tsfix wrote).

The copy is committed to a git repository of its own first: tsfix refuses to write over
unstaged changes, as in a real project.

    python benchmarks/tsfix_bench.py [--manifest PATH | --seed 1 --count 80] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tsfix_seed as seeding  # a sibling script, not a package
from npm_pack import fetch_package

TARGET_RATIO = 3.0
_RISKY = re.compile(r"\bany\b|@ts-|\w!(?=[.;,)\]\s])")


@dataclass(frozen=True)
class TsfixRun:
    exit_code: int
    seconds: float
    output: str
    cpu: float = 0.0  # CPU seconds of tsfix and its Node helper


@dataclass(frozen=True)
class Outcome:
    fixed: dict[str, int]  # per kind
    left: dict[str, int]
    left_by_code: Counter[int]
    new: list[seeding.TscError]
    fixed_not_tier0: int  # errors of kinds tier 0 must not fix, fixed anyway


def tsfix_available() -> str | None:
    """None when ``python -m codemodkit tsfix`` exists, else why not (one line)."""
    done = subprocess.run(
        [sys.executable, "-m", "codemodkit", "tsfix", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0:
        return None
    said = (done.stderr or done.stdout).strip().splitlines()
    return (
        f"`python -m codemodkit tsfix --help` exited {done.returncode}: {said[-1] if said else ''}"
    )


def run_tsfix(
    root: Path, tsconfig: Path, extra: Sequence[str], template: str | None = None
) -> TsfixRun:
    """The tier-0 run; ``template`` replaces the command (``{root}``, ``{tsconfig}``)."""
    if template is not None:
        command = shlex.split(template.format(root=root, tsconfig=tsconfig))
    else:
        command = [
            sys.executable, "-m", "codemodkit", "tsfix", "--tier", "0",
            "--project", str(tsconfig), *extra, str(root),
        ]  # fmt: skip
    started, cpu = time.perf_counter(), seeding.child_cpu()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    used = seeding.child_cpu() - cpu
    return TsfixRun(done.returncode, seconds, done.stdout + done.stderr, used)


def commit_copy(root: Path) -> None:
    """Make the copy a git repository with everything committed (node_modules ignored)."""
    (root / ".gitignore").write_text("node_modules\n", "utf-8")
    shutil.rmtree(root / ".git", ignore_errors=True)
    env = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for command in (["init", "-q"], ["add", "-A"], [*env, "commit", "-q", "-m", "seeded"]):
        subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)


def added_lines(root: Path) -> list[str]:
    diff = subprocess.run(
        ["git", "diff", "-U0", "--no-color"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    lines = diff.splitlines()
    return [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]


def compare(
    manifest: dict[str, Any],
    matched: dict[seeding.TscError, str],
    before: Sequence[seeding.TscError],
    after: Sequence[seeding.TscError],
) -> Outcome:
    remaining = Counter(error.key() for error in after)
    fixed: dict[str, int] = defaultdict(int)
    left: dict[str, int] = defaultdict(int)
    left_by_code: Counter[int] = Counter()
    fixed_not_tier0 = 0
    for error in before:
        kind = matched.get(error, "(not seeded)")
        if remaining[error.key()] > 0:
            remaining[error.key()] -= 1
            left[kind] += 1
            left_by_code[error.code] += 1
        else:
            fixed[kind] += 1
            if kind in manifest["kinds"] and manifest["kinds"][kind]["tier0"] == "no":
                fixed_not_tier0 += 1
    new_keys = Counter(error.key() for error in after) - Counter(error.key() for error in before)
    new = [error for error in after if new_keys[error.key()] > 0]
    return Outcome(dict(fixed), dict(left), left_by_code, new, fixed_not_tier0)


def outcome_table(manifest: dict[str, Any], outcome: Outcome) -> str:
    rows = [("kind", "tier0", "seeded errors", "fixed", "left")]
    for kind, info in manifest["kinds"].items():
        rows.append(
            (kind, info["tier0"], str(info["errors"]), str(outcome.fixed.get(kind, 0)),
             str(outcome.left.get(kind, 0)))
        )  # fmt: skip
    total = sum(info["errors"] for info in manifest["kinds"].values())
    rows.append(
        ("total", "", str(total), str(sum(outcome.fixed.values())), str(sum(outcome.left.values())))
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.insert(len(lines) - 1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--manifest", type=Path, help="recreate this manifest's seeding")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=80, help="seeds per kind (default 80)")
    parser.add_argument("--work", type=Path, default=seeding.WORK)
    parser.add_argument("--out", type=Path, help="the copy tsfix works on (replaced)")
    parser.add_argument(
        "--tsfix-arg", action="append", default=[], help="one more argument for tsfix"
    )
    parser.add_argument(
        "--command",
        help="time this command instead of tsfix ({root}, {tsconfig} are filled in;"
        " for another fixer, or to try the benchmark itself)",
    )
    args = parser.parse_args(argv)

    recorded: dict[str, Any] | None = None
    if args.manifest is not None:
        recorded = json.loads(args.manifest.read_text("utf-8"))
    seed = recorded["seed"] if recorded else args.seed
    count = recorded["count_per_kind"] if recorded else args.count
    kinds = list(recorded["kinds"]) if recorded else list(seeding.KINDS)
    only = [entry["candidate"] for entry in recorded["seeds"]] if recorded else None
    dest = (args.out or args.work / "tsfix-bench" / f"rxjs-7.8.2-seed{seed}").resolve()
    made = seeding.make_seeded_rxjs(
        args.work.resolve(), dest, seed=seed, count=count, kinds=kinds,
        manifest_path=dest.with_name(dest.name + ".json"), baseline=False,
        rounds=0 if recorded else 6, only=only,
    )  # fmt: skip
    manifest = made.manifest
    if recorded and [e["candidate"] for e in manifest["seeds"]] != only:
        print("the copy does not match the manifest's seeds (another TypeScript or package?)")
        return 2
    commit_copy(dest)
    tsconfig = made.tsconfig
    print(f"project: {manifest['project']}, TypeScript {manifest['typescript']}, seed {seed}")
    print(f"copy: {dest} (git repository, seeded state committed)")

    before = seeding.run_tsc(dest, tsconfig)
    tsc_cpu = seeding.LAST_CPU
    result = seeding.check(manifest, before.errors, dest, dest)
    print(f"tsc --noEmit before: {len(before.errors)} errors in {before.seconds:.2f}s")
    print(seeding.table(result, manifest))
    print(f"tier-0-fixable errors seeded: {seeding.tier0_errors(manifest)}")
    if result.missing or result.unexpected:
        print("the seeded copy does not give the manifest's errors: see the table")

    missing = tsfix_available() if args.command is None else None
    if missing is not None:
        print(f"codemod tsfix is not available: {missing}")
        print("(the rest of the benchmark needs it; nothing else was run)")
        return 2
    fix = run_tsfix(dest, tsconfig, args.tsfix_arg, args.command)
    name = args.command or "codemod tsfix --tier 0"
    print(f"{name}: exit {fix.exit_code} in {fix.seconds:.2f}s")
    print("\n".join(f"  | {line}" for line in fix.output.rstrip().splitlines()[-25:]))
    if fix.exit_code not in (0, 1):
        print("tsfix could not run (exit 2 means a tool failure); no timing recorded")
        return 2
    ratio = fix.seconds / before.seconds
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(
        f"time: tsfix {fix.seconds:.2f}s / tsc {before.seconds:.2f}s = {ratio:.2f}x"
        f" ({verdict} the {TARGET_RATIO:.0f}x target)"
    )
    cpu_ratio = fix.cpu / tsc_cpu if tsc_cpu else float("nan")
    print(
        f"CPU time: tsfix + its Node helper {fix.cpu:.2f}s / tsc {tsc_cpu:.2f}s = "
        f"{cpu_ratio:.2f}x (steadier than wall time on a shared machine)"
    )

    after = seeding.run_tsc(dest, tsconfig)
    outcome = compare(manifest, result.matched, before.errors, after.errors)
    print(f"tsc --noEmit after: {len(after.errors)} errors in {after.seconds:.2f}s")
    print(outcome_table(manifest, outcome))
    left = ", ".join(f"TS{code}: {n}" for code, n in sorted(outcome.left_by_code.items()))
    print(f"left by code: {left or 'none'}")
    print(f"new errors introduced: {len(outcome.new)}")
    for error in outcome.new[:20]:
        print(f"  {error}")
    if outcome.fixed_not_tier0:
        print(f"fixed errors tier 0 must not fix (spelling): {outcome.fixed_not_tier0}")
    # lines that were in rxjs before seeding (a seed undone) are not tsfix's doing
    original = {
        line.strip()
        for path in (fetch_package(seeding.PACKAGE, args.work.resolve()) / "src").rglob("*.ts")
        for line in path.read_text("utf-8").splitlines()
    }
    risky = [
        line for line in added_lines(dest) if _RISKY.search(line) and line.strip() not in original
    ]
    print(f"added lines with any / @ts- / non-null '!' not in rxjs's own source: {len(risky)}")
    for line in risky[:10]:
        print(f"  {line.strip()}")
    seeded_errors = sum(info["errors"] for info in manifest["kinds"].values())
    print(
        f"summary: seeded {seeded_errors} errors ({seeding.tier0_errors(manifest)} tier-0-fixable),"
        f" fixed {sum(outcome.fixed.values())}, left {sum(outcome.left.values())},"
        f" new {len(outcome.new)}; tsfix {fix.seconds:.1f}s vs tsc {before.seconds:.1f}s"
        f" = {ratio:.2f}x"
    )
    return int(bool(outcome.new) or ratio > TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())

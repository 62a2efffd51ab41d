"""What git says about the files a command is about to write.

A file whose working copy differs from the index has work that git does not hold
yet; overwriting it could lose that work, so commands refuse it without ``--force``.
Staged changes are fine: that is what a pre-commit hook sees. Outside a repository
(or without git) nothing is refused, as there is nothing to compare with.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = ["GitError", "changed_lines", "is_revision", "unsafe_to_write"]


class GitError(Exception):
    """A one-line reason git cannot answer (no repository, unknown revision)."""


def _toplevel(folder: Path) -> Path | None:
    git = shutil.which("git")
    if git is None:
        return None
    result = subprocess.run(
        [git, "-C", str(folder), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return None
    return Path(result.stdout.strip()).resolve()


def _worktree_status(root: Path) -> dict[Path, str]:
    """Files whose working copy differs from the index, with why (porcelain v1)."""
    result = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        return {}
    found: dict[Path, str] = {}
    entries = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        staged, unstaged, name = entry[0], entry[1], entry[3:]
        if staged in "RC":
            index += 1  # a rename's source path follows; the entry names the target
        if entry.startswith("??"):
            found[(root / name).resolve()] = "is not tracked by git"
        elif unstaged != " ":
            found[(root / name).resolve()] = "has unstaged changes"
    return found


def unsafe_to_write(paths: Iterable[Path]) -> dict[Path, str]:
    """The paths (resolved) that must not be overwritten without ``--force``, with why.

    New files (not on disk yet) are always fine: they hold no one's work.
    """
    refused: dict[Path, str] = {}
    statuses: dict[Path, dict[Path, str]] = {}
    for path in paths:
        resolved = path.resolve()
        if not resolved.exists():
            continue
        root = _toplevel(resolved.parent)
        if root is None:
            continue
        if root not in statuses:
            statuses[root] = _worktree_status(root)
        reason = statuses[root].get(resolved)
        if reason is not None:
            refused[resolved] = reason
    return refused


_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)

#: a file's changed lines (1-based, inclusive ranges); None: the whole file is new
Changes = dict[Path, list[tuple[int, int]] | None]


def is_revision(folder: Path, rev: str) -> bool:
    """Does ``rev`` name a commit in ``folder``'s repository?"""
    git = shutil.which("git")
    if git is None or _toplevel(folder) is None:
        return False
    verify = subprocess.run(
        [git, "-C", str(folder), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        capture_output=True,
        check=False,
    )
    return verify.returncode == 0


def changed_lines(folder: Path, rev: str) -> Changes:
    """Files of ``folder``'s repository changed since ``rev`` (committed, staged or not)
    and untracked files, with the working-copy lines that changed.

    A pure deletion counts for the line before it (the construct that lost lines).
    """
    git = shutil.which("git")
    root = _toplevel(folder) if git is not None else None
    if git is None or root is None:
        raise GitError(f"{folder} is not in a git repository (--only-changed needs one)")
    if not is_revision(root, rev):
        raise GitError(f"unknown revision {rev!r}")
    diff = subprocess.run(
        [
            git,
            "-C",
            str(root),
            "-c",
            "core.quotePath=off",
            "diff",
            "-U0",
            "--no-color",
            "--no-ext-diff",
            "--no-renames",
            rev,
            "--",
        ],
        capture_output=True,
        check=False,
    )
    if diff.returncode != 0:
        raise GitError(diff.stderr.decode("utf-8", "replace").strip() or "git diff failed")
    found: Changes = {}
    for block in re.split(rb"^diff --git ", diff.stdout, flags=re.MULTILINE)[1:]:
        name = re.search(rb"^\+\+\+ b/(.*)$", block, re.MULTILINE)
        if name is None:  # deleted, or binary
            continue
        current: list[tuple[int, int]] = []
        for match in _HUNK.finditer(block):
            start = int(match.group(1))
            count = 1 if match.group(2) is None else int(match.group(2))
            current.append((max(1, start), max(1, start + count - 1, start)))
        path = (root / name.group(1).decode("utf-8", "surrogateescape")).resolve()
        found[path] = current
    others = subprocess.run(
        [git, "-C", str(root), "ls-files", "-z", "--others", "--exclude-standard"],
        capture_output=True,
        check=False,
    )
    for other in others.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if other:
            found[(root / other).resolve()] = None
    return found

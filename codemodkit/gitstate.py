"""What git says about the files a command is about to write.

A file whose working copy differs from the index has work that git does not hold
yet; overwriting it could lose that work, so commands refuse it without ``--force``.
Staged changes are fine: that is what a pre-commit hook sees. Outside a repository
(or without git) nothing is refused, as there is nothing to compare with.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

__all__ = ["unsafe_to_write"]


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

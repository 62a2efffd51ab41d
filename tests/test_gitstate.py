"""Refusing to overwrite work that git does not hold yet (real git, temporary repos)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemodkit.gitstate import unsafe_to_write


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    for name in ("clean.ts", "staged.ts", "dirty.ts", "both.ts"):
        (tmp_path / name).write_text("let a = 1;\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "init")
    (tmp_path / "staged.ts").write_text("let a = 2;\n")
    git(tmp_path, "add", "staged.ts")
    (tmp_path / "dirty.ts").write_text("let a = 3;\n")
    (tmp_path / "both.ts").write_text("let a = 4;\n")
    git(tmp_path, "add", "both.ts")
    (tmp_path / "both.ts").write_text("let a = 5;\n")
    (tmp_path / "new.ts").write_text("let a = 6;\n")
    return tmp_path


def test_only_files_whose_working_copy_differs_from_the_index_are_refused(repo: Path) -> None:
    names = ["clean.ts", "staged.ts", "dirty.ts", "both.ts", "new.ts", "sub/absent.ts"]
    refused = unsafe_to_write(repo / name for name in names)
    assert {p.name: why for p, why in refused.items()} == {
        "dirty.ts": "has unstaged changes",
        "both.ts": "has unstaged changes",
        "new.ts": "is not tracked by git",
    }


def test_outside_a_repository_nothing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.ts").write_text("x\n")
    assert unsafe_to_write([tmp_path / "a.ts"]) == {}


def test_paths_with_spaces_and_renames_are_read_right(repo: Path) -> None:
    git(repo, "mv", "clean.ts", "re named.ts")
    (repo / "re named.ts").write_text("changed\n")
    refused = unsafe_to_write([repo / "re named.ts", repo / "staged.ts"])
    assert {p.name for p in refused} == {"re named.ts"}

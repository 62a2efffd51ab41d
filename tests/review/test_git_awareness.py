"""``--only-changed [REV]`` and the unstaged-changes guard, in real temporary git repos."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import run_codemod

from review.sample import APP

TOOLS = """\
def double(x):
    return x * 2
"""

REFUSED = "skipped: app.py: refused: has unstaged changes (stage them, or pass --force)"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "tools.py").write_text(TOOLS)
    (tmp_path / ".gitignore").write_text("*.jsonl\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "init")
    return tmp_path


def instrumented(text: str) -> list[str]:
    """The functions of ``text`` that carry instrumentation, by the site they report."""
    return [
        line.split('enter("')[1].split('"')[0] for line in text.splitlines() if 'enter("' in line
    ]


def edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / name
    path.write_text(path.read_text().replace(old, new))


def test_only_changed_instruments_only_the_changed_function_of_changed_files(repo: Path) -> None:
    edit(repo, "app.py", "item * factor", "item * factor + 1")
    git(repo, "add", "app.py")  # staged: what a pre-commit hook sees
    done = run_codemod("telemetry", "-j1", ".", "--only-changed", cwd=repo)
    assert done.returncode == 0, done.stderr
    app = (repo / "app.py").read_text()
    assert instrumented(app) == ["app.py:9:app.scale"]
    assert "_codemod_tel.counted" in app  # scale's loop goes with it
    assert "def add(a, b):\n    total = a + b\n    return total\n" in app
    assert app.startswith("if globals().get(")  # the helper import came along
    assert (repo / "tools.py").read_text() == TOOLS
    compile(app, "app.py", "exec")


def test_only_changed_since_a_revision(repo: Path) -> None:
    edit(repo, "app.py", '"hello "', '"hi "')
    edit(repo, "tools.py", "x * 2", "x + x")
    git(repo, "commit", "-qam", "two edits")
    edit(repo, "app.py", "a + b", "b + a")
    git(repo, "add", "app.py")
    done = run_codemod("telemetry", "-j1", ".", "--only-changed=HEAD~1", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert instrumented((repo / "app.py").read_text()) == [
        "app.py:4:app.add",
        "app.py:16:app.greet",
    ]
    assert instrumented((repo / "tools.py").read_text()) == ["tools.py:1:tools.double"]

    # Since HEAD only the staged edit of add counts (greet's commit is older).
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "reset", "-q", "--hard")
    edit(repo, "app.py", "a + b", "b + a")
    git(repo, "add", "app.py")
    done = run_codemod("telemetry", "-j1", ".", "--only-changed", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert instrumented((repo / "app.py").read_text()) == ["app.py:4:app.add"]
    assert "_codemod_" not in (repo / "tools.py").read_text()


def test_only_changed_with_nothing_changed_does_nothing(repo: Path) -> None:
    done = run_codemod("telemetry", "-j1", ".", "--only-changed", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (repo / "app.py").read_text() == APP
    assert git(repo, "status", "--porcelain") == ""


def test_only_changed_with_an_unknown_revision_says_so(repo: Path) -> None:
    done = run_codemod("telemetry", ".", "--only-changed=no-such-rev", cwd=repo)
    assert done.returncode == 2
    assert "error: --only-changed: unknown revision 'no-such-rev'" in done.stderr


def test_only_changed_outside_a_repository_says_so(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    done = run_codemod("telemetry", ".", "--only-changed", cwd=tmp_path)
    assert done.returncode == 2
    assert "is not in a git repository (--only-changed needs one)" in done.stderr
    assert (tmp_path / "app.py").read_text() == APP


def test_a_file_with_unstaged_changes_is_refused_and_the_rest_written(repo: Path) -> None:
    edit(repo, "app.py", "a + b", "b + a")  # not staged
    done = run_codemod("telemetry", "-j1", ".", cwd=repo)
    assert done.returncode == 1
    assert REFUSED in done.stderr.splitlines()
    assert "_codemod_" not in (repo / "app.py").read_text()
    assert instrumented((repo / "tools.py").read_text()) == ["tools.py:1:tools.double"]

    done = run_codemod("telemetry", "-j1", ".", "--force", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "refused" not in done.stderr
    assert len(instrumented((repo / "app.py").read_text())) == 3


def test_staged_changes_are_fine(repo: Path) -> None:
    edit(repo, "app.py", "a + b", "b + a")
    git(repo, "add", "app.py")
    done = run_codemod("telemetry", "-j1", ".", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert len(instrumented((repo / "app.py").read_text())) == 3


def test_an_untracked_file_is_refused_without_force(repo: Path) -> None:
    (repo / "new.py").write_text(TOOLS)
    done = run_codemod("telemetry", "-j1", ".", "--only-changed", cwd=repo)
    assert done.returncode == 1
    assert (
        "skipped: new.py: refused: is not tracked by git (stage them, or pass --force)"
        in done.stderr.splitlines()
    )
    assert (repo / "new.py").read_text() == TOOLS
    done = run_codemod("telemetry", "-j1", ".", "--only-changed", "--force", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert instrumented((repo / "new.py").read_text()) == ["new.py:1:new.double"]
    assert (repo / "tools.py").read_text() == TOOLS  # unchanged since HEAD


def test_a_dry_run_never_writes_and_refuses_nothing(repo: Path) -> None:
    edit(repo, "app.py", "a + b", "b + a")
    for extra in ((), ("--force",), ("--only-changed",)):
        done = run_codemod("telemetry", "-j1", "--dry-run", *extra, ".", cwd=repo)
        assert done.returncode == 0, done.stderr
        assert "refused" not in done.stderr
        assert "+++ b/app.py" in done.stdout
    assert git(repo, "status", "--porcelain") == " M app.py\n"


def test_a_dry_run_with_only_changed_shows_only_the_changed_function(repo: Path) -> None:
    edit(repo, "app.py", '"hello "', '"hi "')
    done = run_codemod("telemetry", "-j1", "--dry-run", ".", "--only-changed", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "app.py:16:app.greet" in done.stdout
    assert "app.add" not in done.stdout
    assert "tools.py" not in done.stdout


def test_a_path_right_after_only_changed_is_a_path(repo: Path) -> None:
    edit(repo, "app.py", "a + b", "b + a")
    git(repo, "add", "app.py")
    done = run_codemod("telemetry", "-j1", "--only-changed", "app.py", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert instrumented((repo / "app.py").read_text()) == ["app.py:4:app.add"]

"""The hooks of ``.pre-commit-hooks.yaml`` run by the real ``pre-commit`` tool.

A user's repository names this project as a remote hook repository (``repo:`` and
``rev:``), exactly as the README's snippet does; pre-commit clones it at that commit
and builds the hook's virtualenv with pip. The clone source is a snapshot of this
working tree (its tracked files plus the manifest, committed in a temporary repository),
so uncommitted changes are what is tested. Building that environment takes about a
minute; it is built once per module (a shared ``PRE_COMMIT_HOME``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_codemod
from js_support import NodeTools, link_node_modules, node_tools

__all__ = ["node_tools"]

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

UNINSTRUMENTED = "def add(a, b):\n    total = a + b\n    return total\n"


def _git_env(home: Path) -> dict[str, str]:
    """Our environment without the user's git configuration (signing, hooks paths)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CODEMOD_", "GIT_"))}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        PRE_COMMIT_HOME=str(home),
        PRE_COMMIT_COLOR="never",
    )
    return env


def _run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``args``; stdout and stderr together (git prints its hook's output on stderr)."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def _git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = _run(["git", *args], repo, env)
    assert result.returncode == 0, result.stdout
    return result


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, str]]]:
    """(hook repository, its commit, environment) with the hook envs built."""
    base = tmp_path_factory.mktemp("precommit")
    env = _git_env(base / "home")
    source = base / "codemodkit-src"
    listed = _run(["git", "ls-files", "-z", "-co", "--exclude-standard"], ROOT, env)
    tracked = listed.stdout.split("\0")
    # What pip needs to install codemodkit, and the manifest (maybe not committed yet).
    wanted = [
        n for n in tracked if n == "pyproject.toml" or n.startswith(("codemodkit/", "README"))
    ]
    for name in [*wanted, MANIFEST.name]:
        if not (ROOT / name).is_file():  # deleted in the working tree
            continue
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    _git(source, env, "init", "-q")
    _git(source, env, "add", "-A")
    _git(source, env, "commit", "-q", "-m", "snapshot")
    rev = _git(source, env, "rev-parse", "HEAD").stdout.strip()
    # Build the hook environment once, in a throwaway repository.
    warm = base / "warm"
    _git(warm.parent, env, "init", "-q", str(warm))
    _write_config(warm, source, rev, ["codemod-telemetry", "codemod-tsfix"])
    built = _run([sys.executable, "-m", "pre_commit", "install-hooks"], warm, env, timeout=900)
    if built.returncode != 0:
        pytest.fail(f"pre-commit could not build the hook environment:\n{built.stdout}")
    yield source, rev, env


def _write_config(repo: Path, source: Path, rev: str, ids: list[str]) -> None:
    hooks = "".join(f"      - id: {hook_id}\n" for hook_id in ids)
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {source}\n    rev: {rev}\n    hooks:\n{hooks}", encoding="utf-8"
    )


def _user_repo(path: Path, hooks: tuple[Path, str, dict[str, str]], ids: list[str]) -> Path:
    source, rev, env = hooks
    _git(path.parent, env, "init", "-q", str(path))
    _write_config(path, source, rev, ids)
    installed = _run([sys.executable, "-m", "pre_commit", "install"], path, env)
    assert installed.returncode == 0, installed.stdout
    return path


def _commit(repo: Path, env: dict[str, str], message: str) -> subprocess.CompletedProcess[str]:
    """``git commit`` through the installed pre-commit hook."""
    return _run(["git", "commit", "-m", message], repo, env, timeout=300)


def test_manifest_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_exit_non_zero_on_change_and_helpers_named(tmp_path: Path) -> None:
    """What the hook's entry does, without pre-commit: exit 1 only when files were
    written, and every helper file written or deleted is named for staging."""
    (tmp_path / "calc.py").write_text(UNINSTRUMENTED, encoding="utf-8")
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "page.cts").write_text(
        "export function f() {\n  return 1;\n}\n", encoding="utf-8"
    )
    files = ["calc.py", "web/page.cts"]

    plain = run_codemod("telemetry", "--check", *files, cwd=tmp_path)
    assert plain.returncode == 1 and not (tmp_path / "_telemetry_utils.py").exists()

    first = run_codemod("telemetry", "--exit-non-zero-on-change", *files, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    assert "created _telemetry_utils.py: stage it with your change (git add)" in first.stderr
    assert "created web/_telemetry_utils.ts: stage it with your change (git add)" in first.stderr

    again = run_codemod("telemetry", "--exit-non-zero-on-change", *files, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "stage" not in again.stderr

    removed = run_codemod(
        "telemetry", "--remove", "--exit-non-zero-on-change", *files, cwd=tmp_path
    )
    assert removed.returncode == 1, removed.stderr
    assert "deleted _telemetry_utils.py: stage the deletion with your change" in removed.stderr
    assert (tmp_path / "calc.py").read_text(encoding="utf-8") == UNINSTRUMENTED


def test_telemetry_hook_instruments_then_passes(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]]
) -> None:
    env = hooks[2]
    repo = _user_repo(tmp_path / "app", hooks, ["codemod-telemetry"])
    (repo / "calc.py").write_text(UNINSTRUMENTED, encoding="utf-8")
    (repo / "web").mkdir()
    (repo / "web" / "page.mts").write_text(
        "export function double(x: number): number {\n  return x * 2;\n}\n", encoding="utf-8"
    )
    _git(repo, env, "add", "-A")

    first = _commit(repo, env, "add calc")
    assert first.returncode == 1, first.stdout
    assert "codemod telemetry" in first.stdout and "Failed" in first.stdout
    # The files were instrumented in place, and the helpers they import are named.
    calc = (repo / "calc.py").read_text(encoding="utf-8")
    assert "_telemetry_utils" in calc and calc != UNINSTRUMENTED
    assert "_telemetry_utils" in (repo / "web" / "page.mts").read_text(encoding="utf-8")
    assert "created _telemetry_utils.py: stage it with your change" in first.stdout
    assert "created web/_telemetry_utils.ts: stage it with your change" in first.stdout
    assert (repo / "_telemetry_utils.py").is_file()
    # Nothing was committed.
    assert _run(["git", "rev-parse", "HEAD"], repo, env).returncode != 0

    _git(repo, env, "add", "-A")
    second = _commit(repo, env, "add calc, instrumented")
    assert second.returncode == 0, second.stdout
    assert "Passed" in second.stdout
    committed = _git(repo, env, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert sorted(committed) == [
        ".pre-commit-config.yaml",
        "_telemetry_utils.py",
        "calc.py",
        "web/_telemetry_utils.ts",
        "web/page.mts",
    ]

    again = _run([sys.executable, "-m", "pre_commit", "run", "--all-files"], repo, env)
    assert again.returncode == 0, again.stdout
    assert _git(repo, env, "status", "--porcelain").stdout == ""


def _ts_project(repo: Path, tools: NodeTools) -> None:
    options = {"strict": True, "noEmit": True, "noUnusedLocals": True, "types": []}
    (repo / "tsconfig.json").write_text(
        json.dumps({"compilerOptions": options, "include": ["src", "lib"]}), encoding="utf-8"
    )
    (repo / ".gitignore").write_text("node_modules\n", encoding="utf-8")
    link_node_modules(repo, tools)
    for folder in ("src", "lib"):
        (repo / folder).mkdir()
    (repo / "lib" / "util.ts").write_text(
        "export function scale(x: number): number {\n  return x * 10;\n}\nexport const unit = 1;\n",
        encoding="utf-8",
    )


def test_tsfix_hook_fixes_staged_files_then_passes(
    tmp_path: Path, hooks: tuple[Path, str, dict[str, str]], node_tools: NodeTools
) -> None:
    env = hooks[2]
    repo = _user_repo(tmp_path / "web", hooks, ["codemod-tsfix"])
    _ts_project(repo, node_tools)
    _git(repo, env, "add", "-A")
    assert _commit(repo, env, "project").returncode == 0
    # Two staged files in different folders, each with an unused import.
    (repo / "src" / "main.ts").write_text(
        'import { scale, unit } from "../lib/util";\n\nexport const big = scale(3);\n',
        encoding="utf-8",
    )
    (repo / "lib" / "more.mts").write_text(
        'import { unit } from "./util";\n\nexport const two = 2;\n', encoding="utf-8"
    )
    _git(repo, env, "add", "-A")

    first = _commit(repo, env, "main")
    assert first.returncode == 1, first.stdout
    assert "codemod tsfix" in first.stdout and "Failed" in first.stdout
    assert (repo / "src" / "main.ts").read_text(encoding="utf-8") == (
        'import { scale } from "../lib/util";\n\nexport const big = scale(3);\n'
    )
    assert "import" not in (repo / "lib" / "more.mts").read_text(encoding="utf-8")

    _git(repo, env, "add", "-A")
    second = _commit(repo, env, "main, fixed")
    assert second.returncode == 0, second.stdout
    again = _run([sys.executable, "-m", "pre_commit", "run", "--all-files"], repo, env)
    assert again.returncode == 0, again.stdout
    assert _git(repo, env, "status", "--porcelain").stdout == ""

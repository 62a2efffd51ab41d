"""``codemod telemetry --interactive`` answered through a real pseudo-terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import run_codemod

from review.sample import APP

HELPER = "_telemetry_utils.py"
PROMPT = r"\[q\]uit\? "
ASKED = re.compile(r"change \d+/\d+: (.*)")

TOOLS = """\
def double(x):
    return x * 2


def halve(x):
    return x / 2
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "tools.py").write_text(TOOLS)
    return tmp_path


def full_instrumentation(project: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What a plain (non-interactive) run writes, on a copy of the project."""
    copy = tmp_path_factory.mktemp("full")
    for name in ("app.py", "tools.py"):
        shutil.copy(project / name, copy / name)
    done = run_codemod("telemetry", "-j1", ".", cwd=copy)
    assert done.returncode == 0, done.stderr
    return {name: (copy / name).read_text() for name in ("app.py", "tools.py")}


def spawn(project: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    return pexpect.spawn(
        sys.executable,
        ["-m", "codemodkit", "telemetry", "--interactive", "-j1", *args, "."],
        cwd=str(project),
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(60, 200),
    )


def answer(child: pexpect.spawn, answers: dict[str, str]) -> list[str]:
    """Answer each change by the first key its label contains; return those keys."""
    asked = []
    while True:
        index = child.expect([PROMPT, pexpect.EOF])
        if index == 1:
            return asked
        plain = re.sub(r"\x1b\[[0-9;]*m", "", child.before)
        label = ASKED.findall(plain)[-1]
        name = next(key for key in answers if key in label)
        asked.append(name)
        child.send(answers[name])


def chunks(text: str) -> list[str]:
    """Top-level blocks (the fixtures separate them by two blank lines)."""
    return text.split("\n\n\n")


def composed(old: str, full: str, accepted: set[int]) -> str:
    """``old`` with the functions numbered in ``accepted`` (1 = the first) taken from
    the fully instrumented text, and the helper import when any is accepted."""
    old_blocks, new_blocks = chunks(old), chunks(full)
    assert len(old_blocks) == len(new_blocks)
    # The helper import: the lines the full text has before the file's first line.
    header = new_blocks[0][: new_blocks[0].index(old_blocks[0].splitlines()[0])]
    new_blocks[0] = new_blocks[0][len(header) :]
    functions = [i for i, block in enumerate(old_blocks) if block.lstrip().startswith("def ")]
    out = [
        new_blocks[i] if i in functions and functions.index(i) + 1 in accepted else block
        for i, block in enumerate(old_blocks)
    ]
    return (header if accepted else "") + "\n\n\n".join(out)


def test_accepting_some_constructs_writes_exactly_those(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    full = full_instrumentation(project, tmp_path_factory)
    child = spawn(project)
    asked = answer(
        child,
        {
            "app.add": "a",
            "app.scale": "r",
            "app.greet": "a",
            "tools.double": "r",
            "tools.halve": "a",
        },
    )
    child.close()
    assert asked == ["app.add", "app.scale", "app.greet", "tools.double", "tools.halve"]
    assert child.exitstatus == 0, child.before
    app = (project / "app.py").read_text()
    tools = (project / "tools.py").read_text()
    assert app == composed(APP, full["app.py"], {1, 3})
    assert tools == composed(TOOLS, full["tools.py"], {2})
    # The rejected functions are untouched, byte for byte; the rest still runs.
    assert "def scale(items, factor):\n    out = []\n    for item in items:\n" in app
    assert tools.startswith("import") or "_codemod_tel" in tools.split("def halve")[0]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import app, tools; print(app.add(1, 2), app.scale([1], 3), tools.halve(4))",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "CODEMOD_TELEMETRY_FILE": str(project / "t.jsonl")},
    )
    assert result.stdout.split() == ["3", "[3]", "2.0"], result.stderr
    assert (project / HELPER).exists()


def test_accept_all_in_file_and_accept_all(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    full = full_instrumentation(project, tmp_path_factory)
    child = spawn(project)
    asked = answer(
        child, {"app.add": "r", "app.scale": "f", "tools.double": "r", "tools.halve": "r"}
    )
    child.close()
    # f: the rest of app.py without asking; tools.py is asked about again.
    assert asked == ["app.add", "app.scale", "tools.double", "tools.halve"]
    assert (project / "app.py").read_text() == composed(APP, full["app.py"], {2, 3})
    assert (project / "tools.py").read_text() == TOOLS

    (project / "app.py").write_text(APP)
    (project / "tools.py").write_text(TOOLS)
    child = spawn(project)
    asked = answer(child, {"app.add": "A"})
    child.close()
    assert asked == ["app.add"]
    assert (project / "app.py").read_text() == full["app.py"]
    assert (project / "tools.py").read_text() == full["tools.py"]


def test_quitting_writes_what_was_accepted_so_far_and_nothing_else(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    full = full_instrumentation(project, tmp_path_factory)
    child = spawn(project)
    asked = answer(child, {"app.add": "a", "app.scale": "q"})
    child.close()
    assert asked == ["app.add", "app.scale"]
    assert child.exitstatus == 0
    assert (project / "app.py").read_text() == composed(APP, full["app.py"], {1})
    assert (project / "tools.py").read_text() == TOOLS


def test_rejecting_everything_changes_nothing(project: Path) -> None:
    child = spawn(project)
    answer(
        child,
        {
            name: "r"
            for name in ("app.add", "app.scale", "app.greet", "tools.double", "tools.halve")
        },
    )
    child.close()
    assert child.exitstatus == 0
    assert (project / "app.py").read_text() == APP
    assert (project / "tools.py").read_text() == TOOLS
    assert not (project / HELPER).exists()  # no file needs it


def test_without_a_terminal_it_refuses_in_one_line(project: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codemodkit", "telemetry", "--interactive", "."],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "codemod: --interactive needs a terminal to answer on (stdin is not a TTY); "
        "use --dry-run to see the changes instead\n"
    )
    assert (project / "app.py").read_text() == APP
    assert not (project / HELPER).exists()


def test_interactive_with_dry_run_is_a_usage_error(project: Path) -> None:
    done = run_codemod("telemetry", "--interactive", "--dry-run", ".", cwd=project)
    assert done.returncode == 2
    assert "--interactive cannot be combined with --dry-run or --check" in done.stderr


def test_a_file_instrumented_before_is_reviewed_as_one_change(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    full = full_instrumentation(project, tmp_path_factory)
    child = spawn(project)
    answer(child, {"app.add": "a", "app.scale": "r", "app.greet": "r", "tools.": "a"})
    child.close()
    assert (project / "tools.py").read_text() == full["tools.py"]
    child = spawn(project)
    asked = answer(child, {"the whole file": "a"})
    child.close()
    assert child.exitstatus == 0
    assert asked == ["the whole file"]  # tools.py has nothing left to change
    assert (project / "app.py").read_text() == full["app.py"]

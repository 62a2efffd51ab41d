"""``codemod telemetry`` end to end: the real command line in subprocesses, on small projects."""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from conftest import run_codemod

from codemodkit import __version__

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
HELPER = "_telemetry_utils.py"
SUMMARY = re.compile(
    r"^codemod telemetry: (?P<changed>\d+) (?P<verb>[a-z ]+), (?P<unchanged>\d+) unchanged, "
    r"(?P<skipped>\d+) skipped(?: \((?P<reasons>[^)]*(?:\([^)]*\)[^)]*)*)\))?, "
    r"(?P<failed>\d+) failed in \d+\.\d\ds$"
)

PYPROJECT = '[project]\nname = "shop"\nversion = "0.1"\n'

PRICING = '''\
"""Prices."""


def apply_discount(price, percent):
    discounted = round(price * (100 - percent) / 100, 2)
    return discounted


def total(prices):
    result = 0
    for price in prices:
        result += price
    return result
'''

SUMMARY_MODULE = """\
from ..pricing import apply_discount, total


def summarize(prices):
    header = f"{len(prices)} items"
    return header, apply_discount(total(prices), 10)
"""

SCRIPT = '''\
#!/usr/bin/env python3
"""A loose script."""
import sys
import time


def main(argv):
    count = len(argv)
    print("args", count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''

# CRLF line ends and no newline at the end: both must survive every round trip.
CRLF_MODULE = b"def legacy(a, b):\r\n    return a + b\r\n\r\n\r\ndef other():\r\n    pass"


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make_project(root: Path) -> Path:
    """A src-layout package with a sub-package, an executable loose script and a CRLF module."""
    write_tree(
        root,
        {
            "pyproject.toml": PYPROJECT,
            "src/shop/__init__.py": "",
            "src/shop/pricing.py": PRICING,
            "src/shop/legacy.py": CRLF_MODULE,
            "src/shop/reports/__init__.py": '"""Reports."""\n',
            "src/shop/reports/summary.py": SUMMARY_MODULE,
            "scripts/tool.py": SCRIPT,
        },
    )
    (root / "scripts" / "tool.py").chmod(0o755)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (outside .git) and its bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def summary(stderr: str) -> re.Match[str]:
    lines = [line for line in stderr.splitlines() if line.startswith("codemod telemetry: ")]
    assert len(lines) == 1, stderr
    match = SUMMARY.match(lines[0])
    assert match is not None, lines[0]
    return match


def counts(stderr: str) -> tuple[int, int, int, int]:
    m = summary(stderr)
    return int(m["changed"]), int(m["unchanged"]), int(m["skipped"]), int(m["failed"])


def diffed_files(diff: str) -> list[str]:
    """Existing files a dry-run diff changes (``--- a/<path>`` headers)."""
    return re.findall(r"^--- a/(.*)$", diff, flags=re.MULTILINE)


def run_codemod_bytes(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Like ``run_codemod`` but with undecoded output (text mode would turn CRLF into LF)."""
    return subprocess.run(
        [sys.executable, "-m", "codemodkit", *args],
        cwd=cwd,
        capture_output=True,
        timeout=300,
    )


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.com",
            "-c",
            "core.autocrlf=false",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )


def git_repo(root: Path) -> None:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")


# -- the command line itself ---------------------------------------------------------


def test_version_help_and_usage_error() -> None:
    version = run_codemod("--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"codemod, version {__version__}"

    help_ = run_codemod("telemetry", "--help")
    assert help_.returncode == 0
    assert "Examples:" in help_.stdout
    for example in ("--dry-run ./project", "--check ./project", "--remove ./project"):
        assert f"codemod telemetry {example}" in help_.stdout
    for option in ("--exclude", "--include-tests", "--include-generated", "--max-file-size"):
        assert option in help_.stdout

    no_paths = run_codemod("telemetry")
    assert no_paths.returncode == 2
    assert "Usage:" in no_paths.stderr
    assert "Missing argument" in no_paths.stderr
    assert no_paths.stdout == ""


# -- dry run, check, real run, rerun, remove ------------------------------------------


def test_check_and_dry_run_write_nothing_and_the_diff_applies_with_git(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    git_repo(project)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, symlinks=True)
    before = snapshot(project)

    check = run_codemod("telemetry", "--check", ".", cwd=project)
    assert check.returncode == 1, check.stderr
    assert "would change: src/shop/pricing.py" in check.stdout.splitlines()
    assert "would create: src/shop/_telemetry_utils.py" in check.stdout.splitlines()
    assert snapshot(project) == before

    dry = run_codemod_bytes("telemetry", "--dry-run", ".", cwd=project)
    diff, stderr = dry.stdout.decode(), dry.stderr.decode()
    assert dry.returncode == 0, stderr
    assert diff.startswith("--- a/")
    assert "\r\n" in diff  # the CRLF module's lines keep their ends in the diff
    assert diffed_files(diff) == [
        "scripts/tool.py",
        "src/shop/legacy.py",
        "src/shop/pricing.py",
        "src/shop/reports/summary.py",
    ]
    assert "+++ b/src/shop/_telemetry_utils.py" in diff
    assert "+++ b/scripts/_telemetry_utils.py" in diff
    assert "\x1b[" not in diff  # no colours when not on a terminal
    assert snapshot(project) == before
    assert counts(stderr) == (4, 2, 1, 0)  # .git is the one skipped folder
    assert summary(stderr)["verb"] == "would change"

    (tmp_path / "change.diff").write_bytes(dry.stdout)
    git(clone, "apply", "--whitespace=nowarn", str(tmp_path / "change.diff"))

    real = run_codemod("telemetry", ".", cwd=project)
    assert real.returncode == 0, real.stderr
    assert real.stdout == ""
    assert snapshot(clone) == snapshot(project)
    assert snapshot(project) != before


def test_run_rerun_check_and_remove(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    before = snapshot(project)

    first = run_codemod("telemetry", str(project))
    assert first.returncode == 0, first.stderr
    assert first.stdout == ""
    assert counts(first.stderr) == (4, 2, 0, 0)
    assert summary(first.stderr)["verb"] == "instrumented"
    assert "constructs: 6 functions, 1 loop, 3 variables" in first.stderr
    assert "helper files: 2 created" in first.stderr

    after = snapshot(project)
    # the helper: in the top-level package for package modules, beside the loose script
    assert set(after) - set(before) == {
        "src/shop/_telemetry_utils.py",
        "scripts/_telemetry_utils.py",
    }
    changed = sorted(name for name in before if after[name] != before[name])
    assert changed == [
        "scripts/tool.py",
        "src/shop/legacy.py",
        "src/shop/pricing.py",
        "src/shop/reports/summary.py",
    ]
    assert (
        b"from .. import _telemetry_utils as _codemod_tel" in after["src/shop/reports/summary.py"]
    )
    assert b"from . import _telemetry_utils as _codemod_tel" in after["src/shop/pricing.py"]
    assert after["src/shop/legacy.py"].count(b"\r\n") == after["src/shop/legacy.py"].count(b"\n")
    assert not after["src/shop/legacy.py"].endswith(b"\n")
    assert mode_of(project / "scripts" / "tool.py") == 0o755

    # the instrumented code runs: as an installed-style package and as a script
    telemetry_file = tmp_path / "telemetry.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": str(project / "src"),
        "PYTHONDONTWRITEBYTECODE": "1",
        "CODEMOD_TELEMETRY_FILE": str(telemetry_file),
    }
    used = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shop.reports.summary import summarize; print(summarize([10, 20]))",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert used.returncode == 0, used.stderr
    assert used.stdout == "('2 items', 27.0)\n"
    script = subprocess.run(
        [sys.executable, str(project / "scripts" / "tool.py"), "a", "b"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert script.returncode == 0, script.stderr
    assert script.stdout == "args 2\n"
    records = telemetry_file.read_text(encoding="utf-8")
    assert '"name":"shop.pricing.total"' in records
    assert '"name":"scripts.tool.main"' in records
    assert snapshot(project) == after

    second = run_codemod("telemetry", str(project))
    assert second.returncode == 0, second.stderr
    assert second.stdout == ""
    assert counts(second.stderr)[0] == 0
    assert "helper files" not in second.stderr
    assert snapshot(project) == after

    check = run_codemod("telemetry", "--check", str(project))
    assert check.returncode == 0, check.stderr
    assert check.stdout == ""
    assert counts(check.stderr)[0] == 0

    removed = run_codemod("telemetry", "--remove", str(project))
    assert removed.returncode == 0, removed.stderr
    assert counts(removed.stderr) == (4, 2, 2, 0)
    assert summary(removed.stderr)["verb"] == "restored"
    assert "removed: 6 functions, 1 loop, 3 variables" in removed.stderr.splitlines()
    assert "helper files: 2 deleted" in removed.stderr
    assert snapshot(project) == before
    assert mode_of(project / "scripts" / "tool.py") == 0o755


def test_remove_keeps_a_helper_still_used_outside_the_run(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    write_tree(project, {"scripts/other.py": "def other(x):\n    return x\n"})
    before = snapshot(project)
    assert run_codemod("telemetry", str(project)).returncode == 0
    instrumented = snapshot(project)

    partial = run_codemod(
        "telemetry",
        "--remove",
        str(project / "src" / "shop" / "pricing.py"),
        str(project / "scripts" / "tool.py"),
    )

    assert partial.returncode == 0, partial.stderr
    assert counts(partial.stderr) == (2, 0, 0, 0)
    assert "deleted" not in partial.stderr
    now = snapshot(project)
    assert now["src/shop/pricing.py"] == before["src/shop/pricing.py"]
    assert now["scripts/tool.py"] == before["scripts/tool.py"]
    # still used by reports/summary.py, legacy.py and scripts/other.py
    assert now["src/shop/_telemetry_utils.py"] == instrumented["src/shop/_telemetry_utils.py"]
    assert now["scripts/_telemetry_utils.py"] == instrumented["scripts/_telemetry_utils.py"]
    assert now["src/shop/reports/summary.py"] == instrumented["src/shop/reports/summary.py"]

    rest = run_codemod(
        "telemetry", "--remove", str(project / "src"), str(project / "scripts" / "other.py")
    )
    assert rest.returncode == 0, rest.stderr
    assert "helper files: 2 deleted" in rest.stderr
    assert snapshot(project) == before


# -- bad input -----------------------------------------------------------------------


def test_bad_files_get_one_line_each_and_the_good_ones_are_processed(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (tmp_path / "outside.py").write_text("def elsewhere():\n    return 1\n", encoding="utf-8")
    write_tree(
        project,
        {
            "pyproject.toml": PYPROJECT,
            "app/good.py": "def good(x):\n    return x + 1\n",
            "app/syntax.py": "def broken(:\n    return 1\n",
            "app/latin.py": b"x = 1\ns = 'caf\xe9'\n\ndef f():\n    return s\n",
            "app/binary.py": b"x = 1\n\x00\x01\x02\n",
            "app/big.py": "def big():\n    return 1\n" + "# padding\n" * 20,
            "app/locked.py": "def locked():\n    return 1\n",
            "app/zz_good.py": "def also_good():\n    return 2\n",
        },
    )
    (project / "app" / "escape.py").symlink_to(tmp_path / "outside.py")
    expected = {
        "app/syntax.py": ("failed", "syntax error"),
        "app/latin.py": ("failed", "not valid utf-8 (byte 0xe9 at offset 14)"),
        "app/binary.py": ("failed", "binary file"),
        "app/big.py": ("skipped", "larger than --max-file-size ("),
        "app/escape.py": ("skipped", "symlink pointing outside the tree"),
        "missing.py": ("failed", "does not exist"),
    }
    if not IS_ROOT:
        (project / "app" / "locked.py").chmod(0)
        expected["app/locked.py"] = ("failed", "permission denied")
    bad_before = {
        name: (project / name).read_bytes()
        for name in expected
        if name not in ("missing.py", "app/locked.py")
    }

    try:
        result = run_codemod("telemetry", "--max-file-size", "100", ".", "missing.py", cwd=project)
    finally:
        (project / "app" / "locked.py").chmod(0o644)

    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    for name, (kind, reason) in expected.items():
        mentions = [line for line in lines if name in line]
        assert len(mentions) == 1, (name, result.stderr)
        assert mentions[0].startswith(f"{kind}: {name}: "), mentions[0]
        assert reason in mentions[0]
    for name, data in bad_before.items():
        assert (project / name).read_bytes() == data, name
    assert b"_codemod_tel" in (project / "app" / "good.py").read_bytes()
    assert b"_codemod_tel" in (project / "app" / "zz_good.py").read_bytes()
    assert (project / "app" / HELPER).is_file()
    outside = (tmp_path / "outside.py").read_text(encoding="utf-8")
    assert outside == "def elsewhere():\n    return 1\n"
    # good.py and zz_good.py (and locked.py when root can read it) are instrumented;
    # big.py and escape.py are skipped; the rest failed
    assert counts(result.stderr) == ((3, 0, 2, 4) if IS_ROOT else (2, 0, 2, 5))


def test_a_foreign_helper_file_is_never_overwritten(tmp_path: Path) -> None:
    project = tmp_path / "project"
    foreign = "# our own telemetry utilities\ndef record():\n    pass\n"
    write_tree(
        project,
        {
            "pyproject.toml": PYPROJECT,
            "pkg/__init__.py": "",
            f"pkg/{HELPER}": foreign,
            "pkg/a.py": "def a():\n    return 1\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/b.py": "def b():\n    return 2\n",
            "tools/c.py": "def c():\n    return 3\n",
        },
    )
    before = snapshot(project)

    result = run_codemod("telemetry", ".", cwd=project)

    assert result.returncode == 1
    for name in ("pkg/a.py", "pkg/sub/b.py"):
        reason = f"cannot write its helper: {HELPER} exists and was not written by codemod"
        assert f"failed: {name}: {reason}" in result.stderr.splitlines()
        assert (project / name).read_bytes() == before[name]
    assert (project / "pkg" / HELPER).read_text(encoding="utf-8") == foreign
    # a file served by another helper is still processed
    assert b"_codemod_tel" in (project / "tools" / "c.py").read_bytes()
    assert (project / "tools" / HELPER).is_file()
    assert counts(result.stderr) == (1, 2, 1, 2)


# -- parallelism ---------------------------------------------------------------------


def test_jobs_do_not_change_the_result(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"pyproject.toml": PYPROJECT, "pkg/__init__.py": ""}
    for n in range(20):
        folder = f"pkg/sub{n % 4}"
        files[f"{folder}/__init__.py"] = ""
        files[f"{folder}/mod{n}.py"] = (
            f"def f{n}(items):\n"
            f"    total = sum(items) * {n}\n"
            "    for item in items:\n"
            "        print(item)\n"
            "    return total\n"
        )
    files["pkg/sub2/broken.py"] = "def broken(:\n"
    one, two = tmp_path / "one", tmp_path / "two"
    write_tree(one, files)
    write_tree(two, files)

    serial = run_codemod("telemetry", "-j", "1", ".", cwd=one)
    parallel = run_codemod("telemetry", "-j", "2", ".", cwd=two)

    assert serial.returncode == parallel.returncode == 1
    assert snapshot(one) == snapshot(two)
    assert snapshot(one) != {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
    strip_time = re.compile(r" in \d+\.\d\ds$", flags=re.MULTILINE)
    assert strip_time.sub("", serial.stderr) == strip_time.sub("", parallel.stderr)
    assert counts(serial.stderr) == (20, 5, 0, 1)


# -- which files ---------------------------------------------------------------------


def test_file_selection_options(tmp_path: Path) -> None:
    project = tmp_path / "project"
    function = "def work(x):\n    return x\n"
    write_tree(
        project,
        {
            "pyproject.toml": PYPROJECT,
            ".gitignore": "ignored.py\n",
            "pkg/__init__.py": "",
            "pkg/core.py": function,
            "pkg/legacy.py": function,
            "pkg/ignored.py": function,
            "pkg/schema_pb2.py": "# @generated by protoc. DO NOT EDIT.\n" + function,
            "tests/test_core.py": "def test_work():\n    assert True\n",
        },
    )
    git_repo(project)
    before = snapshot(project)

    def selected(*options: str) -> list[str]:
        result = run_codemod("telemetry", "--dry-run", *options, ".", cwd=project)
        assert result.returncode == 0, result.stderr
        assert snapshot(project) == before
        return diffed_files(result.stdout)

    default = run_codemod("telemetry", "--dry-run", ".", cwd=project)
    assert diffed_files(default.stdout) == ["pkg/core.py", "pkg/legacy.py"]
    reasons = summary(default.stderr)["reasons"]
    for reason in ("1 .gitignore", "1 test file", "1 generated file"):
        assert reason in reasons
    assert "pkg/schema_pb2.py" not in default.stderr  # generated files are skipped quietly

    assert selected("--exclude", "legacy.py") == ["pkg/core.py"]
    assert selected("--exclude", "pkg/", "--include-tests") == ["tests/test_core.py"]
    assert selected("--include-generated") == [
        "pkg/core.py",
        "pkg/legacy.py",
        "pkg/schema_pb2.py",
    ]
    assert selected("--no-gitignore") == ["pkg/core.py", "pkg/ignored.py", "pkg/legacy.py"]

    # files named on the command line follow the same rules
    named = run_codemod(
        "telemetry", "tests/test_core.py", "pkg/ignored.py", "pkg/core.py", cwd=project
    )
    assert named.returncode == 0, named.stderr
    skips = [line for line in named.stderr.splitlines() if line.startswith("skipped: ")]
    assert len(skips) == 2, named.stderr
    assert skips[0].startswith("skipped: tests/test_core.py: ")
    assert skips[0].endswith("test file")
    assert skips[1].startswith("skipped: pkg/ignored.py: ")
    assert skips[1].endswith(".gitignore")
    changed = {name for name, data in snapshot(project).items() if before.get(name) != data}
    assert changed == {"pkg/core.py", f"pkg/{HELPER}"}


# -- encodings -----------------------------------------------------------------------

ENCODED_FILES: dict[str, str | bytes] = {
    "pyproject.toml": PYPROJECT,
    "tools/latin.py": (
        '# -*- coding: latin-1 -*-\nNAME = "café"\n\n\n'
        'def greet(who):\n    text = NAME + " " + who\n    return text\n'
    ).encode("latin-1"),
    "tools/bom.py": b"\xef\xbb\xbfdef f():\n    return 'caf\xc3\xa9'\n",
}


def test_declared_encodings_and_bom_survive_run_and_remove(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_tree(project, ENCODED_FILES)
    before = snapshot(project)

    run = run_codemod("telemetry", ".", cwd=project)
    assert run.returncode == 0, run.stderr
    assert counts(run.stderr) == (2, 0, 0, 0)
    latin = (project / "tools" / "latin.py").read_bytes()
    assert latin.startswith(b"# -*- coding: latin-1 -*-\n")
    assert b'NAME = "caf\xe9"' in latin and b"_codemod_tel" in latin
    bom = (project / "tools" / "bom.py").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf") and bom.count(b"\xef\xbb\xbf") == 1
    assert b"'caf\xc3\xa9'" in bom

    removed = run_codemod("telemetry", "--remove", ".", cwd=project)
    assert removed.returncode == 0, removed.stderr
    assert snapshot(project) == before


def test_dry_run_diff_of_encoded_files_applies_with_git(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_tree(project, ENCODED_FILES)
    git_repo(project)
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, symlinks=True)

    dry = run_codemod_bytes("telemetry", "--dry-run", ".", cwd=project)
    assert dry.returncode == 0
    (tmp_path / "change.diff").write_bytes(dry.stdout)
    applied = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", str(tmp_path / "change.diff")],
        cwd=clone,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, applied.stderr

    assert run_codemod("telemetry", ".", cwd=project).returncode == 0
    assert snapshot(clone) == snapshot(project)


def test_ctrl_c_leaves_every_file_whole(tmp_path: Path) -> None:
    """Interrupted mid-run: exit 130, and each file is either untouched or complete."""
    project = tmp_path / "many"
    originals = {}
    for index in range(150):
        body = "".join(
            f"def f{index}_{n}(x):\n    y = x * {n}\n    return y\n\n\n" for n in range(40)
        )
        path = project / f"m{index:03}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
        originals[path] = body
    process = subprocess.Popen(
        [sys.executable, "-m", "codemodkit", "telemetry", "-j", "2", str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any("_codemod_tel" in p.read_text(encoding="utf-8") for p in originals):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    if process.returncode != 0:  # it finished first on a fast machine: nothing to check
        assert process.returncode == 130, err
        assert "interrupted" in err
    written = 0
    for path, body in originals.items():
        text = path.read_text(encoding="utf-8")
        if text != body:
            written += 1
            compile(text, str(path), "exec")
            assert text.count("_codemod_tel.enter(") == 40
    assert written >= 1
    assert (project / "_telemetry_utils.py").is_file()  # written before any instrumented file
    assert not list(project.glob(".*codemod-tmp"))

"""STAND-IN for ``tests/js_support.py`` (branch ``js-runtime``): finding Node and tsc.

Swapped for the shared infrastructure once it lands on main. Node comes from PATH;
tsc from ``$CODEMOD_TEST_TSC`` or a ``typescript`` package installed in
``/tmp/jscore-ts`` by hand. Tests that need a tool it cannot find are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("driver.mjs")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("node is not installed")
    return found


def tsc() -> Path:
    candidates = [
        os.environ.get("CODEMOD_TEST_TSC", ""),
        "/tmp/jscore-ts/node_modules/typescript/bin/tsc",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.skip("typescript is not installed")


def run_node(files: list[Path], cwd: Path) -> dict[str, object]:
    """Run every file in one Node process; what each logged, by path."""
    done = subprocess.run(
        [node(), str(DRIVER), *map(str, files)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CODEMOD_TELEMETRY": "1"},
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def run_tsc(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node(), str(tsc()), "-p", str(project), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=300,
    )

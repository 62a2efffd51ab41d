"""Real Node and the pinned ``tsc`` for the tests of JavaScript and TypeScript support.

``tests/node/package.json`` pins the tools (TypeScript, the OpenTelemetry JS API and
SDK, Node's types) and ``tests/node/package-lock.json`` their exact tree. The
``node_tools`` fixture runs ``npm ci`` into ``tests/node/node_modules`` once - under a
file lock, since pytest-xdist workers start together - and skips it while the installed
tree already matches the lock file. Import the fixture from a ``conftest.py``:

    from js_support import node_tools  # noqa: F401  (a fixture)

Test projects live in temporary folders; ``link_node_modules(project, tools)`` gives
one the pinned packages (a ``node_modules`` symlink), so a test decides whether
``@opentelemetry/api`` is there to be found.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
# Variables a test program must not inherit: the Python tests' own telemetry file, and
# anything that changes how Node resolves or loads modules.
_SCRUBBED = ("NODE_OPTIONS", "NODE_PATH", "NODE_NO_WARNINGS", "FORCE_COLOR")


@dataclass(frozen=True)
class NodeTools:
    node: Path
    node_modules: Path
    tsc: Path


def _locked_entries(lock: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    packages = lock.get("packages", {})
    return {name: entry for name, entry in packages.items() if name.startswith("node_modules/")}


def lock_satisfied(folder: Path) -> bool:
    """Does ``folder/node_modules`` hold the tree of ``folder/package-lock.json``? npm
    records what it installed in ``node_modules/.package-lock.json``. Optional packages
    (TypeScript 7's per-platform binaries) are installed only for this machine: every
    installed entry must be the locked one, and every locked entry that is not optional
    must be there."""
    installed = folder / "node_modules" / ".package-lock.json"
    try:
        have = _locked_entries(json.loads(installed.read_text(encoding="utf-8")))
        want = _locked_entries(json.loads((folder / "package-lock.json").read_text("utf-8")))
    except (OSError, ValueError):
        return False

    def pin(entry: Mapping[str, Any]) -> tuple[str, str]:
        return (str(entry.get("version")), str(entry.get("integrity")))

    if any(name not in want or pin(want[name]) != pin(entry) for name, entry in have.items()):
        return False
    return all(name in have for name, entry in want.items() if not entry.get("optional"))


def npm_ci_once(folder: Path, purpose: str) -> None:
    """``npm ci`` into ``folder`` unless its tree already matches the lock file; under a
    file lock, since pytest-xdist workers start together (one installs, the rest wait)."""
    with open(folder / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if lock_satisfied(folder):
                return
            npm = shutil.which("npm")
            if npm is None:
                pytest.fail(f"npm is not on PATH: {purpose} install their tools with `npm ci`")
            command = [npm, "ci", "--prefix", str(folder), "--no-audit", "--no-fund"]
            done = subprocess.run(command, capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not lock_satisfied(folder):
                pytest.fail(
                    f"`{' '.join(command)}` failed ({done.returncode}):\n"
                    f"{done.stdout}\n{done.stderr}"
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_node_tools() -> NodeTools:
    """Node and the pinned packages, installed if needed (fails clearly without Node)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not on PATH: the JavaScript/TypeScript tests need Node.js 20 or later "
            "(and npm, to install the pinned tools in tests/node)"
        )
    npm_ci_once(NODE_DIR, "the JS tests")
    modules = NODE_DIR / "node_modules"
    return NodeTools(node=Path(node), node_modules=modules, tsc=modules / ".bin" / "tsc")


@pytest.fixture(scope="session")
def node_tools() -> Iterator[NodeTools]:
    yield ensure_node_tools()


def link_node_modules(project: Path, tools: NodeTools) -> None:
    """Let ``project`` resolve the pinned packages (``@opentelemetry/*``, ``typescript``)."""
    link = project / "node_modules"
    if not link.exists():
        link.symlink_to(tools.node_modules, target_is_directory=True)


def clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a test program: ours without telemetry or Node settings,
    plus ``env``."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CODEMOD_") and key not in _SCRUBBED
    }
    base.update(env or {})
    return base


def run_node(
    script_or_file: str | Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    esm: bool = False,
    args: Sequence[str] = (),
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run a file (a ``Path``) or a script (a ``str``; CommonJS unless ``esm``) with
    Node in ``cwd``."""
    node = shutil.which("node") or "node"
    if isinstance(script_or_file, Path):
        command = [node, str(script_or_file), *args]
    else:
        mode = ["--input-type=module"] if esm else []
        command = [node, *mode, "-e", script_or_file, *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_tsc(
    project_dir: Path, *args: str, tools: NodeTools | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The pinned ``tsc -p project_dir`` (add ``--noEmit`` etc. through ``args``)."""
    tools = tools or ensure_node_tools()
    command = [str(tools.node), str(tools.tsc), "-p", str(project_dir), "--pretty", "false"]
    return subprocess.run(
        [*command, *args],
        cwd=project_dir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_tsc_build(
    project_dirs: Sequence[Path], tools: NodeTools | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``tsc -b`` over several projects in one process: much cheaper than one ``tsc``
    each. Diagnostics name their files, so a failure still says which project."""
    tools = tools or ensure_node_tools()
    command = [str(tools.node), str(tools.tsc), "-b", *map(str, project_dirs), "--pretty", "false"]
    return subprocess.run(
        command,
        cwd=project_dirs[0].parent if project_dirs else None,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

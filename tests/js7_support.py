"""TypeScript 7 (the native port) for the tests of tsfix's language-server backend.

``tests/node7/package.json`` pins ``typescript@7.0.2`` and ``tests/node7/package-lock.json``
its exact tree. Like ``js_support.node_tools`` for TypeScript 5, the ``node7_tools``
fixture runs ``npm ci`` into ``tests/node7/node_modules`` once, under a file lock (xdist
workers start together), and skips it while the installed tree matches the lock file.
Import the fixture where it is used:

    from js7_support import node7_tools  # noqa: F401  (a fixture)

TypeScript 7's ``tsc`` is a Go binary shipped in a platform package
(``@typescript/typescript-<platform>-<arch>/lib/tsc``, chosen by npm through
``optionalDependencies``); ``node_modules/.bin/tsc`` is a Node script that finds and runs
it. ``tsc --lsp --stdio`` is its language server.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE7_DIR = Path(__file__).resolve().parent / "node7"
_LOCK_FILE = NODE7_DIR / "package-lock.json"
_INSTALL_LOCK = NODE7_DIR / ".install.lock"


@dataclass(frozen=True)
class Node7Tools:
    node_modules: Path
    tsc: Path  # the npm bin script (node_modules/.bin/tsc)
    version: str


def _entries(lock: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    packages = lock.get("packages", {})
    return {name: entry for name, entry in packages.items() if name.startswith("node_modules/")}


def _installed_matches() -> bool:
    """Does ``node_modules`` hold the locked tree? npm records what it installed in
    ``node_modules/.package-lock.json``. TypeScript 7's binaries come as optional
    platform packages, of which npm installs only this machine's: every installed entry
    must be the locked one, and every locked entry that is not optional must be there."""
    installed = NODE7_DIR / "node_modules" / ".package-lock.json"
    try:
        have = _entries(json.loads(installed.read_text(encoding="utf-8")))
        want = _entries(json.loads(_LOCK_FILE.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return False

    def pin(entry: Mapping[str, Any]) -> tuple[str, str]:
        return (str(entry.get("version")), str(entry.get("integrity")))

    if any(name not in want or pin(want[name]) != pin(entry) for name, entry in have.items()):
        return False
    return all(name in have for name, entry in want.items() if not entry.get("optional"))


def _install() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not on PATH: the TypeScript 7 tests install it with `npm ci`")
    command = [npm, "ci", "--prefix", str(NODE7_DIR), "--no-audit", "--no-fund"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 or not _installed_matches():
        pytest.fail(
            f"`{' '.join(command)}` failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


def ensure_node7_tools() -> Node7Tools:
    """The pinned TypeScript 7, installed if needed (fails clearly without Node/npm)."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the TypeScript 7 tests need Node.js and npm")
    with open(_INSTALL_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one xdist worker installs, the rest wait
        try:
            if not _installed_matches():
                _install()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    modules = NODE7_DIR / "node_modules"
    manifest = json.loads((modules / "typescript" / "package.json").read_text(encoding="utf-8"))
    version = str(manifest["version"])
    return Node7Tools(node_modules=modules, tsc=modules / ".bin" / "tsc", version=version)


@pytest.fixture(scope="session")
def node7_tools() -> Iterator[Node7Tools]:
    yield ensure_node7_tools()


def link_node7_modules(project: Path, tools: Node7Tools) -> None:
    """Let ``project`` resolve TypeScript 7 and ``@types/node`` (a ``node_modules`` symlink)."""
    link = project / "node_modules"
    if not link.exists():
        link.symlink_to(tools.node_modules, target_is_directory=True)


def run_tsc7(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The pinned ``tsc -p project --pretty false`` (add ``--noEmit`` etc. with ``args``)."""
    tools = ensure_node7_tools()
    return subprocess.run(
        [str(tools.tsc), "-p", str(project), "--pretty", "false", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

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

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from js_support import npm_ci_once

NODE7_DIR = Path(__file__).resolve().parent / "node7"


@dataclass(frozen=True)
class Node7Tools:
    node_modules: Path
    tsc: Path  # the npm bin script (node_modules/.bin/tsc)
    version: str


def ensure_node7_tools() -> Node7Tools:
    """The pinned TypeScript 7, installed if needed (fails clearly without Node/npm)."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the TypeScript 7 tests need Node.js and npm")
    npm_ci_once(NODE7_DIR, "the TypeScript 7 tests")
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

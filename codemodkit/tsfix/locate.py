"""Find the TypeScript a project compiles with, and Node to run it.

The project's own ``node_modules/typescript`` wins (walking up from the tsconfig's folder,
as Node's ``require`` would), then a global install (``npm root -g``). Nothing found is a
``ServiceError`` that names what to install.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codemodkit.tsfix.types import ServiceError

__all__ = ["INSTALL_HINT", "TypeScriptInstall", "find_node", "find_typescript"]

INSTALL_HINT = "npm install --save-dev typescript@5"


@dataclass(frozen=True)
class TypeScriptInstall:
    package_dir: Path  # the folder holding typescript's package.json
    version: str  # e.g. "5.9.3"
    major: int
    tsc: Path  # the `tsc` bin script of the package (run it with node)
    is_global: bool = False


def find_node() -> Path:
    """The ``node`` executable on PATH, or a ``ServiceError`` saying so."""
    node = shutil.which("node")
    if node is None:
        raise ServiceError(
            "node is not on PATH: codemod tsfix runs TypeScript's language service with "
            "Node.js (18 or later); install it from https://nodejs.org"
        )
    return Path(node)


def _install_at(package_dir: Path, *, is_global: bool) -> TypeScriptInstall | None:
    try:
        meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("name") != "typescript":
        return None
    version = str(meta.get("version") or "")
    try:
        major = int(version.split(".", 1)[0])
    except ValueError:
        return None
    bins = meta.get("bin")
    tsc_rel = bins.get("tsc") if isinstance(bins, dict) else None
    tsc = package_dir / (tsc_rel if isinstance(tsc_rel, str) else "bin/tsc")
    return TypeScriptInstall(
        package_dir=package_dir.resolve(),
        version=version,
        major=major,
        tsc=tsc.resolve(),
        is_global=is_global,
    )


def _npm_global_root() -> Path | None:
    npm = shutil.which("npm")
    if npm is None:
        return None
    try:
        result = subprocess.run(
            [npm, "root", "-g"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    root = result.stdout.strip()
    return Path(root) if result.returncode == 0 and root else None


def find_typescript(start: Path) -> TypeScriptInstall:
    """The ``typescript`` package for the project at ``start`` (a folder or its tsconfig)."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for parent in (folder, *folder.parents):
        found = _install_at(parent / "node_modules" / "typescript", is_global=False)
        if found is not None:
            return found
    root = _npm_global_root()
    if root is not None:
        found = _install_at(root / "typescript", is_global=True)
        if found is not None:
            return found
    raise ServiceError(
        f"TypeScript is not installed for {folder} (no node_modules/typescript in it or "
        f"above, none global): run `{INSTALL_HINT}` in the project"
    )

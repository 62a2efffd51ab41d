"""TypeScript 7's native compiler: its executable, its version, a project's files.

npm's ``typescript@7`` ships ``bin/tsc``, a Node script that finds the Go binary in the
platform package npm chose through ``optionalDependencies``
(``@typescript/typescript-<platform>-<arch>/lib/tsc``) and runs it - as a child process
below Node 22.15 (no ``process.execve``). Running the binary directly saves that
process, and ends the server itself when we end it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from codemodkit.tsfix.tscout import run_tool
from codemodkit.tsfix.types import ServiceError

__all__ = ["SOURCE_SUFFIXES", "native_command", "project_files", "read_text", "typescript_version"]

SOURCE_SUFFIXES = frozenset({".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx"})

_NODE_ARCH = {
    "x86_64": "x64",
    "amd64": "x64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "ppc64le": "ppc64",
    "loongarch64": "loong64",
    "mips64": "mips64el",
}


def _node_platform() -> str:
    """``process.platform-process.arch`` as Node spells them for this machine."""
    system = sys.platform
    for prefix in ("freebsd", "openbsd", "netbsd", "aix", "linux", "darwin", "win32"):
        if system.startswith(prefix):
            system = prefix
    system = {"sunos5": "sunos"}.get(system, system)
    machine = platform.machine().lower()
    return f"{system}-{_NODE_ARCH.get(machine, machine)}"


def native_command(tsc: Path) -> list[str]:
    """The argv that runs TypeScript 7's compiler, given its native executable or the
    npm bin script (``node_modules/.bin/tsc``)."""
    path = Path(tsc)
    if not path.is_file():
        raise ServiceError(f"no TypeScript compiler at {path}")
    real = path.resolve()
    try:
        with real.open("rb") as head:
            if head.read(2) != b"#!":
                return [str(real)]  # the native executable itself
    except OSError as error:
        raise ServiceError(f"cannot read {path}: {error.strerror}") from None
    package = real.parent.parent
    try:
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [str(real)]  # a script outside an npm package: run it as it is
    base = str(manifest.get("name", "")).rsplit("/", 1)[-1]
    binary = ("tsc" if base == "typescript" else "tsgo") + (".exe" if os.name == "nt" else "")
    wanted = f"{base}-{_node_platform()}"
    for folder in (package, *package.parents):  # Node's module resolution, upwards
        scope = folder / "node_modules" / "@typescript"
        candidate = scope / wanted / "lib" / binary
        if candidate.is_file():
            return [str(candidate)]
        # an arch Python names unlike Node: npm installs only one platform anyway
        found = sorted(scope.glob(f"{base}-*/lib/{binary}")) if scope.is_dir() else []
        if len(found) == 1:
            return [str(found[0])]
    node = shutil.which("node")
    if node is None:
        raise ServiceError(f"{path} needs Node.js, which is not on PATH")
    return [node, str(real)]


def _first_line(*texts: str) -> str:
    for text in texts:
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return "no output"


def typescript_version(command: Sequence[str], cwd: Path, timeout: float) -> str:
    """``tsc --version``'s number; a ``ServiceError`` unless it is 7 or later."""
    result = run_tool([*command, "--version"], cwd, timeout, "tsc --version")
    match = re.search(r"Version (\d+)\.(\S+)", result.stdout)
    if result.returncode != 0 or match is None:
        raise ServiceError(
            f"{command[-1]} --version failed: {_first_line(result.stderr, result.stdout)}"
        )
    version = f"{match.group(1)}.{match.group(2)}"
    if int(match.group(1)) < 7:
        raise ServiceError(
            f"TypeScript {version} has no language server mode (`tsc --lsp` is TypeScript 7's)"
        )
    return version


def _config_path(reference: Path) -> Path:
    return reference / "tsconfig.json" if reference.is_dir() else reference


def project_files(
    command: Sequence[str], tsconfig: Path, timeout: float
) -> tuple[list[Path], list[Path]]:
    """The source files of ``tsconfig`` and of the projects it references (``tsc
    --showConfig``'s ``files``), and every config file involved."""
    files: dict[Path, None] = {}
    configs: list[Path] = []
    queue = [tsconfig]
    while queue:
        config = queue.pop(0).resolve()
        if config in configs:
            continue
        configs.append(config)
        result = run_tool(
            [*command, "-p", str(config), "--showConfig"],
            config.parent,
            timeout,
            "tsc --showConfig",
        )
        if result.returncode != 0:
            raise ServiceError(f"cannot read {config}: {_first_line(result.stdout, result.stderr)}")
        try:
            shown = json.loads(result.stdout)
            names = [str(name) for name in shown.get("files", [])]
            references = [str(ref.get("path", "")) for ref in shown.get("references", [])]
        except (ValueError, AttributeError):
            raise ServiceError(
                f"cannot read {config}: --showConfig printed no project "
                f"({_first_line(result.stdout, result.stderr)})"
            ) from None
        for name in names:
            path = (config.parent / name).resolve()  # relative to the config's folder
            if path.suffix in SOURCE_SUFFIXES:
                files.setdefault(path, None)
        queue.extend(_config_path(config.parent / reference) for reference in references)
    return list(files), configs


def read_text(path: Path) -> str:
    """A source file's text. From bytes, not ``read_text()``: no newline translation, so
    offsets are the file's own."""
    return path.read_bytes().decode("utf-8", "replace")

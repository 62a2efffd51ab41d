"""Which TypeScript backend a project gets.

TypeScript 5.x (and 4.x): its JavaScript language service, driven by our Node helper.
TypeScript 7.x (the native port, no JavaScript API): its language server,
``tsc --lsp --stdio``. Where neither can run - or the user hands us ``tsc``'s output
with ``--from-tsc-output`` - diagnostics come from that output alone: the run can
report and classify errors, but nothing can be validated, so nothing is fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from .locate import find_typescript
from .lsp import LspService
from .service import NodeService
from .tscout import run_tsc
from .tsnative import native_command
from .types import CodeFix, Diagnostic, FileChanges, ServiceError, TsService

__all__ = ["OutputOnly", "find_tsconfig", "open_service"]


def find_tsconfig(start: Path) -> Path:
    """``start`` itself if it is a tsconfig file, else the nearest ``tsconfig.json`` in
    ``start`` or a folder above it."""
    start = start.resolve()
    if start.is_file() and start.suffix == ".json":
        return start
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "tsconfig.json").is_file():
            return candidate / "tsconfig.json"
    raise ServiceError(f"no tsconfig.json in {folder} or any folder above it (use --project)")


class OutputOnly:
    """Diagnostics read from ``tsc`` output; no fixes, no checks (tier 0 unavailable)."""

    fixes_available = False
    checks_available = False

    def __init__(
        self, diagnostics: Sequence[Diagnostic], version: str = "unknown", reason: str = ""
    ) -> None:
        self._diagnostics = list(diagnostics)
        self.version = version
        #: why no TypeScript service runs (for the warning)
        self.reason = reason
        self._texts: dict[str, str] = {}

    def files(self) -> Sequence[str]:
        return sorted({d.file for d in self._diagnostics if d.file is not None})

    def text(self, file: str) -> str:
        if file not in self._texts:
            self._texts[file] = Path(file).read_text(encoding="utf-8")
        return self._texts[file]

    def diagnostics(self) -> list[Diagnostic]:
        return list(self._diagnostics)

    def code_fixes(self, diagnostic: Diagnostic) -> list[CodeFix]:
        return []

    def combined_fix(self, file: str, fix_id: str) -> list[FileChanges]:
        raise ServiceError("no TypeScript service: fixes are unavailable")

    def check(self, texts: Mapping[str, str]) -> list[Diagnostic]:
        raise ServiceError("no TypeScript service: fixes cannot be validated")

    def commit(self, texts: Mapping[str, str]) -> None:
        raise ServiceError("no TypeScript service: fixes cannot be validated")

    def type_info(self, file: str, start: int, end: int) -> list[str]:
        return []

    def close(self) -> None:
        pass


def open_service(tsconfig: Path, *, say: Callable[[str], None] = lambda line: None) -> TsService:
    """Start the backend for the project's TypeScript; ``ServiceError`` says why not."""
    install = find_typescript(tsconfig.parent)
    where = "global" if install.is_global else str(install.package_dir)
    if install.major >= 7:
        say(f"TypeScript {install.version} ({where}): its language server, tsc --lsp")
        try:
            return LspService.start(tsconfig, install.tsc)
        except ServiceError as exc:
            # no language server: the compiler's own output still lists the errors
            diagnostics = run_tsc(native_command(install.tsc), tsconfig)
            reason = f"its language server cannot run ({exc}); errors from tsc --noEmit"
            return OutputOnly(diagnostics, install.version, reason)
    say(f"TypeScript {install.version} ({where}): its language service, through Node")
    return NodeService.start(tsconfig, install)

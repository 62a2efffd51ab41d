"""What the tsfix pipeline passes around: diagnostics, text changes, code fixes.

Every offset here is a Python ``str`` index (code points) into the file's current text,
never a UTF-16 or byte offset: the language-service backends convert at their edge, so
the rest of the pipeline can slice texts directly. Paths are absolute and resolved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "CodeFix",
    "Diagnostic",
    "FileChanges",
    "Related",
    "ServiceError",
    "TextChange",
    "TsService",
]

Category = Literal["error", "warning", "suggestion", "message"]

#: codes that are another code plus "Did you mean ...?" -> that other code
_SUGGESTING = {2552: 2304, 2551: 2339, 2833: 2503}


class ServiceError(Exception):
    """The TypeScript backend could not run or answered nonsense (one clear line)."""


@dataclass(frozen=True)
class Related:
    message: str
    file: str | None = None
    start: int | None = None
    length: int | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: int
    message: str  # the flattened message chain, continuation lines indented like tsc's
    category: Category = "error"
    file: str | None = None  # None for global / option diagnostics
    start: int | None = None
    length: int | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based, in UTF-16 units as tsc prints it
    related: tuple[Related, ...] = ()

    @property
    def end(self) -> int | None:
        if self.start is None:
            return None
        return self.start + (self.length or 0)

    def key(self) -> tuple[str | None, int, str]:
        """Identity that survives edits elsewhere in the file (no offsets).

        An error that gains or loses a spelling suggestion is the same error: "Cannot
        find name 'x'." (TS2304) becomes "... Did you mean 'y'?" (TS2552) as soon as a
        similar name comes into scope, e.g. when another fix adds an import."""
        code = _SUGGESTING.get(self.code, self.code)
        message = self.message
        if code != self.code:
            message = message.split(" Did you mean", 1)[0]
        return (self.file, code, message)


@dataclass(frozen=True)
class TextChange:
    start: int
    length: int
    new_text: str

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class FileChanges:
    file: str
    changes: tuple[TextChange, ...]
    is_new_file: bool = False


@dataclass(frozen=True)
class CodeFix:
    fix_name: str  # e.g. "import", "unusedIdentifier", "fixAwaitInSyncFunction"
    description: str
    changes: tuple[FileChanges, ...]
    fix_id: str | None = None  # set when TypeScript can combine it across the file
    fix_all_description: str | None = None


class TsService(Protocol):
    """One TypeScript project held in memory. Nothing here ever writes to disk.

    ``check`` answers "what would the project's diagnostics be if these files had
    these texts?" incrementally; ``commit`` makes such texts the new baseline (the
    caller writes files itself, later, atomically).
    """

    #: the TypeScript version in use, e.g. "5.9.3" or "7.0.2"
    version: str
    #: False where the backend cannot offer code fixes (tier 0 unavailable)
    fixes_available: bool

    def files(self) -> Sequence[str]: ...
    def text(self, file: str) -> str: ...
    def diagnostics(self) -> list[Diagnostic]: ...
    def code_fixes(self, diagnostic: Diagnostic) -> list[CodeFix]: ...
    def combined_fix(self, file: str, fix_id: str) -> list[FileChanges]: ...
    def check(self, texts: Mapping[str, str]) -> list[Diagnostic]: ...
    def commit(self, texts: Mapping[str, str]) -> None: ...
    def type_info(self, file: str, start: int, end: int) -> list[str]: ...
    def close(self) -> None: ...

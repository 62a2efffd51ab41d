"""LSP's shapes as tsfix's: diagnostics, workspace edits, code fixes, hovers.

Pure functions. Positions become ``str`` offsets through a ``LineIndex`` of the text
the server held; ``IndexOf`` finds the index of any other file a message mentions.
TypeScript 7's server names no fix (LSP has no ``fixName``/``fixId``): they are
recovered from the titles, with TypeScript 5's names, so one tier-0 allowlist serves
both backends.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from codemodkit.tsfix.types import Category, Diagnostic, FileChanges, Related, TextChange
from codemodkit.tsfix.utf16 import LineIndex

__all__ = [
    "FIX_ALL_TITLES",
    "IndexOf",
    "classify_fix",
    "diagnostic",
    "hover_text",
    "language_id",
    "lsp_range",
    "offsets",
    "sort_key",
    "text_changes",
    "uri_path",
    "workspace_edit",
]

#: the LineIndex of a file's current text, or None when it cannot be read
IndexOf = Callable[[str], "LineIndex | None"]

_LANGUAGE_IDS = {
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescriptreact",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
}
_SEVERITIES: dict[int, Category] = {1: "error", 2: "warning", 3: "message", 4: "suggestion"}

# Single fixes by title -> (TypeScript 5's fixName, the fixId of its fix-all).
_FIX_TITLES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^(Add|Update) import from |^Add import of "), "import", "fixMissingImport"),
    (
        re.compile(r"^Implement interface "),
        "fixClassIncorrectlyImplementsInterface",
        "fixClassIncorrectlyImplementsInterface",
    ),
    (
        re.compile(
            r"^(Add return type|Add annotation of type|Add satisfies and an inline type"
            r"|Extract .*to variable|Mark array literal as const|Annotate types of properties)"
        ),
        "fixMissingTypeAnnotationOnExports",
        "fixMissingTypeAnnotationOnExports",
    ),
    (
        re.compile(r"^Declare (static )?(method|property) |^Add index signature for property "),
        "fixMissingMember",
        "fixMissingMember",
    ),
    (
        re.compile(r"^Add missing function declaration "),
        "fixMissingFunctionDeclaration",
        "fixMissingFunctionDeclaration",
    ),
    (re.compile(r"^Change spelling to "), "spelling", "fixSpelling"),
    (re.compile(r"^Remove import from "), "unusedIdentifier", "unusedIdentifier_deleteImports"),
    (re.compile(r"^Remove unused declaration"), "unusedIdentifier", "unusedIdentifier_delete"),
    (re.compile(r"^Prefix '.*' with an underscore"), "unusedIdentifier", "unusedIdentifier_prefix"),
    (re.compile(r"^Infer (parameter )?types? "), "inferFromUsage", "inferFromUsage"),
    (
        re.compile(r"^Add async modifier to containing function"),
        "fixAwaitInSyncFunction",
        "fixAwaitInSyncFunction",
    ),
    (re.compile(r"^Add 'override' modifier"), "fixOverrideModifier", "fixAddOverrideModifier"),
]
#: fix-all titles (TypeScript 5's ``fixAllDescription``s) -> fixId
FIX_ALL_TITLES = {
    "Add all missing imports": "fixMissingImport",
    "Implement all unimplemented interfaces": "fixClassIncorrectlyImplementsInterface",
    "Add all missing type annotations": "fixMissingTypeAnnotationOnExports",
    "Add all missing members": "fixMissingMember",
    "Add all missing function declarations": "fixMissingFunctionDeclaration",
    "Fix all detected spelling errors": "fixSpelling",
    "Delete all unused imports": "unusedIdentifier_deleteImports",
    "Delete all unused declarations": "unusedIdentifier_delete",
    "Infer all types from usage": "inferFromUsage",
    "Add all missing 'async' modifiers": "fixAwaitInSyncFunction",
    "Add all missing 'override' modifiers": "fixAddOverrideModifier",
}


def uri_path(uri: str) -> str:
    path = unquote(urlparse(uri).path)
    if os.name == "nt" and re.match(r"^/[A-Za-z]:", path):  # pragma: no cover
        path = path[1:]
    return str(Path(path))


def language_id(path: Path) -> str:
    return _LANGUAGE_IDS.get(path.suffix, "typescript")


def offsets(index: LineIndex, lsp_range: Mapping[str, Any]) -> tuple[int, int]:
    start = index.offset(int(lsp_range["start"]["line"]), int(lsp_range["start"]["character"]))
    end = index.offset(int(lsp_range["end"]["line"]), int(lsp_range["end"]["character"]))
    return start, max(start, end)


def lsp_position(index: LineIndex, offset: int) -> dict[str, int]:
    line, character = index.position(offset)
    return {"line": line, "character": character}


def lsp_range(index: LineIndex, start: int, end: int) -> dict[str, Any]:
    return {"start": lsp_position(index, start), "end": lsp_position(index, end)}


def diagnostic(item: Any, path: str, index: LineIndex, index_of: IndexOf) -> Diagnostic | None:
    """An LSP diagnostic of ``path``; None for a hint (a suggestion tsc never prints)."""
    severity = int(item.get("severity") or 1)
    if severity == 4:
        return None
    code = item.get("code")
    start, end = offsets(index, item["range"])
    line, column = index.tsc_line_column(start)
    return Diagnostic(
        code=int(code) if str(code).isdigit() else 0,
        message=str(item.get("message", "")),
        category=_SEVERITIES.get(severity, "error"),
        file=path,
        start=start,
        length=end - start,
        line=line,
        column=column,
        related=tuple(_related(info, index_of) for info in item.get("relatedInformation") or []),
    )


def _related(info: Any, index_of: IndexOf) -> Related:
    message = str(info.get("message", ""))
    location = info.get("location") or {}
    path = uri_path(str(location.get("uri", "")))
    index = index_of(path)
    if index is None or "range" not in location:
        return Related(message=message, file=path or None)
    start, end = offsets(index, location["range"])
    return Related(message=message, file=path, start=start, length=end - start)


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, int, str]:
    """tsc's order (file, position, code, message); also what makes two the same."""
    d = diagnostic
    return (d.file or "", d.start or 0, d.length or 0, d.code, d.message)


def text_changes(index: LineIndex, edits: Iterable[Any]) -> tuple[TextChange, ...]:
    """LSP text edits as ``TextChange``s in order. Inserts at one position are merged
    into one change: LSP puts them in array order, and one change can't be mistaken for
    two overlapping ones."""
    changes: list[TextChange] = []
    for edit in edits:
        start, end = offsets(index, edit["range"])
        text = str(edit.get("newText", ""))
        last = changes[-1] if changes else None
        if last is not None and last.length == 0 and last.start == start == end:
            changes[-1] = TextChange(start, 0, last.new_text + text)
        else:
            changes.append(TextChange(start, end - start, text))
    return tuple(sorted(changes, key=lambda change: (change.start, change.length)))


def workspace_edit(edit: Any, index_of: IndexOf) -> list[FileChanges]:
    """An LSP ``WorkspaceEdit`` (``changes`` or ``documentChanges``) as ``FileChanges``.
    Raises ``LookupError`` for an edited file that cannot be read."""
    if not isinstance(edit, dict):
        return []
    per_file: dict[str, list[Any]] = {}
    created: set[str] = set()
    for uri, edits in (edit.get("changes") or {}).items():
        per_file.setdefault(uri_path(uri), []).extend(edits or [])
    for entry in edit.get("documentChanges") or []:
        if entry.get("kind") == "create":
            created.add(uri_path(str(entry.get("uri", ""))))
        elif "textDocument" in entry:
            path = uri_path(str(entry["textDocument"].get("uri", "")))
            per_file.setdefault(path, []).extend(entry.get("edits") or [])
    result = []
    for path in {**per_file, **dict.fromkeys(created)}:
        index = LineIndex("") if path in created else index_of(path)
        if index is None:
            raise LookupError(f"a code fix edits {path}, which cannot be read")
        changes = text_changes(index, per_file.get(path, []))
        result.append(FileChanges(path, changes, is_new_file=path in created))
    return result


def classify_fix(title: str) -> tuple[str, str | None]:
    """TypeScript 5's (fixName, fixId) for a quick fix's title; ("unknown", None) for
    a title not in the table, so no allowlist lets it through."""
    for pattern, fix_name, fix_id in _FIX_TITLES:
        if pattern.search(title):
            return fix_name, fix_id
    return "unknown", None


def hover_text(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    contents = answer.get("contents")
    if isinstance(contents, dict):
        text = str(contents.get("value", ""))
    elif isinstance(contents, list):
        text = "\n".join(
            str(part.get("value", "")) if isinstance(part, dict) else str(part) for part in contents
        )
    else:
        text = str(contents or "")
    # markdown hovers wrap the signature in a fenced block
    return re.sub(r"^```\w*\n|\n?```$", "", text.strip()).strip()

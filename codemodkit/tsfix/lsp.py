"""A ``TsService`` over TypeScript 7's language server (``tsc --lsp --stdio``).

TypeScript 7 is the native (Go) port: its npm package has no JavaScript language-service
API, but its ``tsc`` is a language server. What this backend relies on (checked against
typescript 7.0.2):

- The project's files come from ``tsc -p tsconfig --showConfig`` (references followed),
  and every one is opened with ``didOpen``: the server answers pull diagnostics only for
  open documents (an unopened file reports nothing), and then reads them from us, not
  from disk.
- Diagnostics are *pulled* per file (``textDocument/diagnostic``); the server offers no
  ``workspace/diagnostic``, so a project's diagnostics are one request per file, sent
  at once. The server would report style checks (``noUnusedLocals``...) as warnings:
  the client answers ``workspace/configuration`` with ``reportStyleChecksAsWarnings:
  false`` so they are errors, as tsc prints them. Hints (suggestion diagnostics tsc
  never prints) are dropped. Config errors arrive as ``publishDiagnostics`` for the
  config file and are reported against it.
- ``check`` sends the candidate texts with ``didChange``, pulls every file, and sends the
  baseline back. The server rebuilds its program lazily, reusing unchanged files' parse
  trees: a check costs about one type-check of the project, without re-reading it.
- Code fixes are ``textDocument/codeAction`` quick fixes for one diagnostic. 7.0.2 has
  few of TypeScript 5's (missing imports, implement interface, missing type
  annotations for ``isolatedDeclarations``, missing members); none for unused
  declarations, ``async``, ``override``, spelling or implicit ``any``. When a file has
  two or more matching diagnostics a fix-all ("Add all missing imports") comes back
  among the quick fixes, which ``combined_fix`` uses. Unused imports are removed
  through the ``source.removeUnusedImports`` action, which covers the whole file.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemodkit.tsfix import lsp_convert as convert
from codemodkit.tsfix.jsonrpc import JsonRpcProcess, not_handled
from codemodkit.tsfix.tsnative import native_command, project_files, read_text, typescript_version
from codemodkit.tsfix.types import CodeFix, Diagnostic, FileChanges, ServiceError
from codemodkit.tsfix.utf16 import LineIndex

__all__ = ["LspService"]

_CLIENT_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {"configuration": True, "workspaceFolders": True},
    "textDocument": {
        "synchronization": {"dynamicRegistration": False},
        "diagnostic": {"dynamicRegistration": False, "relatedInformation": True},
        "publishDiagnostics": {"relatedInformation": True},
        "hover": {"contentFormat": ["plaintext"]},
        "codeAction": {
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["quickfix", "source", "source.fixAll"]}
            },
        },
    },
}
# Requests the server may send that need no more than an empty answer.
_ACKNOWLEDGED = frozenset(
    {
        "client/registerCapability",
        "client/unregisterCapability",
        "window/workDoneProgress/create",
        "workspace/diagnostic/refresh",
        "workspace/inlayHint/refresh",
        "workspace/semanticTokens/refresh",
        "workspace/codeLens/refresh",
    }
)
# The one fix built from a source action rather than from a quick fix.
_DELETE_IMPORTS = "unusedIdentifier_deleteImports"
_UNUSED_CODES = frozenset({6133, 6192, 6196, 6198})
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_MAX_HOVERS = 12


@dataclass
class _Document:
    path: str
    uri: str
    text: str
    index: LineIndex
    version: int = 1


@contextlib.contextmanager
def _sensible_answers() -> Iterator[None]:
    """An answer of the wrong shape is the server's fault: a ``ServiceError``, not a
    crash of the caller."""
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, LookupError) as error:
        raise ServiceError(f"the TypeScript language server answered nonsense ({error})") from None


class LspService:
    """One TypeScript 7 project held by its language server (see the module's notes).

    Not thread-safe: one caller at a time.
    """

    version: str
    fixes_available: bool

    def __init__(
        self,
        rpc: JsonRpcProcess,
        *,
        version: str,
        documents: Sequence[_Document],
        configs: Sequence[Path],
        timeout: float,
        fixes_available: bool,
    ) -> None:
        self._rpc = rpc
        self.version = version
        self.fixes_available = fixes_available
        self._timeout = timeout
        self._documents = {document.path: document for document in documents}
        self._configs = frozenset(str(config) for config in configs)
        self._published: dict[str, list[Any]] = {}  # config file -> its diagnostics
        self._published_lock = threading.Lock()
        # caches of the baseline, dropped by commit()
        self._baseline: list[Diagnostic] | None = None
        self._fix_alls: dict[tuple[str, str], list[FileChanges]] = {}
        self._unused_imports: dict[str, list[FileChanges]] = {}
        self._closed = False

    @classmethod
    def start(cls, tsconfig: Path, tsc: Path, *, timeout: float = 60.0) -> LspService:
        """Start ``tsc --lsp --stdio`` on the project of ``tsconfig`` and open its files.

        ``tsc`` is TypeScript 7's executable or its npm bin script. ``timeout`` bounds
        every single step (one request, one subprocess). Raises ``ServiceError`` with one
        line when the server cannot work.
        """
        tsconfig = Path(tsconfig).resolve()
        if not tsconfig.is_file():
            raise ServiceError(f"no tsconfig at {tsconfig}")
        command = native_command(Path(tsc))
        version = typescript_version(command, tsconfig.parent, timeout)
        paths, configs = project_files(command, tsconfig, timeout)
        documents = []
        for path in paths:
            try:
                text = read_text(path)
            except OSError as error:
                raise ServiceError(f"cannot read {path}: {error.strerror}") from None
            documents.append(_Document(str(path), path.as_uri(), text, LineIndex(text)))
        services: list[LspService] = []  # the one being started, once it exists

        def forward(method: str, params: Any) -> None:
            for service in services:
                service._notified(method, params)

        rpc = JsonRpcProcess(
            [*command, "--lsp", "--stdio"],
            cwd=tsconfig.parent,
            on_request=lambda method, params: _answer(method, params, tsconfig),
            on_notification=forward,
            name=f"TypeScript {version} language server",
        )
        try:
            with _sensible_answers():
                capabilities = _initialize(rpc, tsconfig.parent, timeout)
            actions = capabilities.get("codeActionProvider")
            kinds = actions.get("codeActionKinds", []) if isinstance(actions, dict) else []
            service = cls(
                rpc,
                version=version,
                documents=documents,
                configs=configs,
                timeout=timeout,
                fixes_available=bool(actions) and (not kinds or "quickfix" in kinds),
            )
            services.append(service)
            service._open_all()
        except ServiceError:
            rpc.close(grace=0.5)
            raise
        return service

    @property
    def pid(self) -> int:
        """The language server's process id."""
        return self._rpc.pid

    # -- the TsService protocol ----------------------------------------------------------

    def files(self) -> Sequence[str]:
        return sorted(self._documents)

    def text(self, file: str) -> str:
        """A project file's baseline text; also a config file's, which diagnostics can
        point into (read from disk: config files are never changed here)."""
        config = str(Path(file).resolve())
        if file not in self._documents and config in self._configs:
            try:
                return read_text(Path(config))
            except OSError as error:
                raise ServiceError(f"cannot read {config}: {error.strerror}") from None
        return self._document(file).text

    def diagnostics(self) -> list[Diagnostic]:
        if self._baseline is None:
            self._baseline = self._pull({})
        return list(self._baseline)

    def check(self, texts: Mapping[str, str]) -> list[Diagnostic]:
        """The project's diagnostics if ``texts`` replaced those files; nothing changes on
        disk or in the baseline."""
        changed = {
            document.path: text
            for file, text in texts.items()
            if (document := self._document(file)).text != text
        }
        if not changed:
            return self.diagnostics()
        for path, text in changed.items():
            self._send_text(self._documents[path], text)
        try:
            return self._pull(changed)
        finally:
            for path in changed:
                with contextlib.suppress(ServiceError):
                    self._send_text(self._documents[path], self._documents[path].text)

    def commit(self, texts: Mapping[str, str]) -> None:
        for file, text in texts.items():
            document = self._document(file)
            if document.text != text:
                self._send_text(document, text)
                document.text = text
                document.index = LineIndex(text)
                self._baseline = None
                self._fix_alls.clear()
                self._unused_imports.clear()

    def code_fixes(self, diagnostic: Diagnostic) -> list[CodeFix]:
        """The server's quick fixes for a baseline diagnostic, named as TypeScript 5
        names them; ``fix_id`` is set only where the server offers a fix-all too."""
        if diagnostic.file is None or diagnostic.start is None:
            return []
        document = self._document(diagnostic.file)
        fixes: list[CodeFix] = []
        fix_alls: dict[str, str] = {}  # fixId -> the fix-all's title
        with _sensible_answers():
            for action in self._quick_fixes(document, diagnostic):
                title = str(action.get("title", ""))
                changes = convert.workspace_edit(action.get("edit"), self._index_of)
                fix_id = convert.FIX_ALL_TITLES.get(title)
                if fix_id is not None and not action.get("diagnostics"):
                    fix_alls[fix_id] = title
                    self._fix_alls[(document.path, fix_id)] = changes
                elif changes:
                    fix_name, fix_id = convert.classify_fix(title)
                    fixes.append(CodeFix(fix_name, title, tuple(changes), fix_id=fix_id))
        fixes = [
            CodeFix(
                fix.fix_name,
                fix.description,
                fix.changes,
                fix_id=fix.fix_id if fix.fix_id in fix_alls else None,
                fix_all_description=fix_alls.get(fix.fix_id or ""),
            )
            for fix in fixes
        ]
        if diagnostic.code in _UNUSED_CODES:
            fixes.extend(self._unused_import_fix(document, diagnostic))
        return fixes

    def combined_fix(self, file: str, fix_id: str) -> list[FileChanges]:
        """Every fix ``fix_id`` makes in ``file``, from the server's fix-all quick fix
        (or the one fix there is, when a single diagnostic has it)."""
        document = self._document(file)
        if fix_id == _DELETE_IMPORTS:
            changes = self._removed_unused_imports(document)
            if changes:
                return changes
        else:
            firsts: list[CodeFix] = []  # the first fix-id fix of each diagnostic
            for diagnostic in self.diagnostics():
                if (document.path, fix_id) in self._fix_alls:
                    return list(self._fix_alls[(document.path, fix_id)])
                if diagnostic.file == document.path:
                    fixes = self.code_fixes(diagnostic)
                    same = [
                        fix for fix in fixes if convert.classify_fix(fix.description)[1] == fix_id
                    ]
                    firsts.extend(same[:1])
            if (document.path, fix_id) in self._fix_alls:
                return list(self._fix_alls[(document.path, fix_id)])
            if len(firsts) == 1:
                return list(firsts[0].changes)
        raise ServiceError(
            f"TypeScript {self.version}'s language server offers no combined fix "
            f"{fix_id} in {document.path}"
        )

    def type_info(self, file: str, start: int, end: int) -> list[str]:
        """What the server's hover says about the identifiers in ``[start, end)`` (the
        first few distinct ones)."""
        document = self._document(file)
        names: dict[str, int] = {}
        for match in _IDENTIFIER.finditer(document.text, start, max(start, end)):
            names.setdefault(match.group(), match.start())
            if len(names) >= _MAX_HOVERS:
                break
        calls = [
            (
                "textDocument/hover",
                {
                    "textDocument": {"uri": document.uri},
                    "position": convert.lsp_position(document.index, offset),
                },
            )
            for offset in names.values()
        ]
        answers = self._request_many(calls) if calls else []
        infos = dict.fromkeys(text for text in map(convert.hover_text, answers) if text)
        return list(infos)

    def close(self) -> None:
        """End the server (politely, then for sure). Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._rpc.close()

    def __enter__(self) -> LspService:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- talking to the server -----------------------------------------------------------

    def _open_all(self) -> None:
        self._rpc.notify("initialized", {})
        for document in self._documents.values():
            item = {
                "uri": document.uri,
                "languageId": convert.language_id(Path(document.path)),
                "version": document.version,
                "text": document.text,
            }
            self._rpc.notify("textDocument/didOpen", {"textDocument": item})
        if self._documents:  # one answer proves the project loaded (and warms it up)
            first = next(iter(self._documents.values()))
            self._request_many([_diagnostic_request(first)])

    def _notified(self, method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics" and isinstance(params, dict):
            path = convert.uri_path(str(params.get("uri", "")))
            if path in self._configs:
                with self._published_lock:
                    self._published[path] = list(params.get("diagnostics") or [])

    def _document(self, file: str) -> _Document:
        document = self._documents.get(file) or self._documents.get(str(Path(file).resolve()))
        if document is None:
            raise ServiceError(f"{file} is not a file of this TypeScript project")
        return document

    def _index_of(self, path: str) -> LineIndex | None:
        document = self._documents.get(path)
        if document is not None:
            return document.index
        try:
            return LineIndex(read_text(Path(path)))
        except OSError:
            return None

    def _request_many(self, calls: Sequence[tuple[str, Any]]) -> list[Any]:
        if self._closed:
            raise ServiceError("the TypeScript language server was closed")
        return self._rpc.request_many(calls, timeout=self._timeout)

    def _send_text(self, document: _Document, text: str) -> None:
        document.version += 1
        self._rpc.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": document.uri, "version": document.version},
                "contentChanges": [{"text": text}],
            },
        )

    def _pull(self, texts: Mapping[str, str]) -> list[Diagnostic]:
        """Every file's diagnostics; ``texts`` are the temporary texts the server holds
        for some files, which their positions refer to."""
        documents = list(self._documents.values())
        reports = self._request_many([_diagnostic_request(d) for d in documents])
        indexes = {path: LineIndex(text) for path, text in texts.items()}

        def index_of(path: str) -> LineIndex | None:
            return indexes.get(path) or self._index_of(path)

        found: dict[tuple[str, int, int, int, str], Diagnostic] = {}
        with _sensible_answers():
            for document, report in zip(documents, reports, strict=True):
                if report.get("kind") != "full":
                    raise ValueError(f"no full report for {document.path}")
                index = indexes.get(document.path, document.index)
                for item in report.get("items") or []:
                    diagnostic = convert.diagnostic(item, document.path, index, index_of)
                    if diagnostic is not None:
                        found.setdefault(convert.sort_key(diagnostic), diagnostic)
            with self._published_lock:
                published = dict(self._published)
            for path, items in published.items():
                config_index = self._index_of(path)
                if config_index is None:
                    continue
                for item in items:
                    diagnostic = convert.diagnostic(item, path, config_index, index_of)
                    if diagnostic is not None:
                        found.setdefault(convert.sort_key(diagnostic), diagnostic)
        return [found[key] for key in sorted(found)]

    def _quick_fixes(self, document: _Document, diagnostic: Diagnostic) -> list[dict[str, Any]]:
        start = diagnostic.start or 0
        where = convert.lsp_range(document.index, start, start + (diagnostic.length or 0))
        # the server reads a diagnostic's code and range only
        lsp_diagnostic = {"range": where, "code": diagnostic.code, "message": diagnostic.message}
        params = {
            "textDocument": {"uri": document.uri},
            "range": where,
            "context": {"diagnostics": [lsp_diagnostic], "only": ["quickfix"]},
        }
        [answer] = self._request_many([("textDocument/codeAction", params)])
        return [
            action
            for action in answer or []
            if isinstance(action, dict) and action.get("kind", "quickfix") == "quickfix"
        ]

    def _removed_unused_imports(self, document: _Document) -> list[FileChanges]:
        """The server's "remove unused imports" for a whole file (cached per baseline)."""
        if document.path not in self._unused_imports:
            params = {
                "textDocument": {"uri": document.uri},
                "range": convert.lsp_range(document.index, 0, 0),
                "context": {"diagnostics": [], "only": ["source.removeUnusedImports"]},
            }
            [answer] = self._request_many([("textDocument/codeAction", params)])
            with _sensible_answers():
                changes = [
                    file_changes
                    for action in answer or []
                    for file_changes in convert.workspace_edit(action.get("edit"), self._index_of)
                    if file_changes.changes
                ]
            self._unused_imports[document.path] = changes
        return list(self._unused_imports[document.path])

    def _unused_import_fix(self, document: _Document, diagnostic: Diagnostic) -> list[CodeFix]:
        """An unused import's fix: the server has none of its own, but its "remove unused
        imports" action does it (for every unused import of the file at once)."""
        changes = self._removed_unused_imports(document)
        start, end = diagnostic.start or 0, diagnostic.end or 0
        touched = any(
            change.start <= start and end <= change.end
            for file_changes in changes
            if file_changes.file == document.path
            for change in file_changes.changes
        )
        if not touched:
            return []
        return [
            CodeFix(
                "unusedIdentifier",
                "Remove unused imports (every unused import in this file)",
                tuple(changes),
                fix_id=_DELETE_IMPORTS,
                fix_all_description="Delete all unused imports",
            )
        ]


def _initialize(rpc: JsonRpcProcess, root: Path, timeout: float) -> dict[str, Any]:
    """The LSP handshake; the server's capabilities, checked for what we need."""
    answer = rpc.request(
        "initialize",
        {
            "processId": os.getpid(),
            "clientInfo": {"name": "codemodkit-tsfix"},
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": _CLIENT_CAPABILITIES,
        },
        timeout=timeout,
    )
    capabilities = answer.get("capabilities")
    if not isinstance(capabilities, dict):
        raise ServiceError("the language server's initialize answer has no capabilities")
    if not capabilities.get("diagnosticProvider"):
        raise ServiceError("the language server offers no pull diagnostics")
    encoding = capabilities.get("positionEncoding", "utf-16")
    if encoding != "utf-16":
        raise ServiceError(f"the language server counts positions in {encoding}")
    return capabilities


def _answer(method: str, params: Any, tsconfig: Path) -> Any:
    """Our answers to the server's own requests."""
    if method == "workspace/configuration":
        settings: dict[str, Any] = {"reportStyleChecksAsWarnings": False}
        if tsconfig.name != "tsconfig.json":  # the server looks for tsconfig.json
            settings["customConfigFileName"] = tsconfig.name
        items = params.get("items", []) if isinstance(params, dict) else []
        return [
            settings if item.get("section") in ("js/ts", "typescript", "javascript") else None
            for item in items
        ]
    if method in _ACKNOWLEDGED:
        return None
    if method == "workspace/applyEdit":
        return {"applied": False, "failureReason": "tsfix applies edits itself"}
    raise not_handled(method)


def _diagnostic_request(document: _Document) -> tuple[str, Any]:
    return ("textDocument/diagnostic", {"textDocument": {"uri": document.uri}})

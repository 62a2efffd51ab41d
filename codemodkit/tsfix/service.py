"""``NodeService``: a ``TsService`` backed by TypeScript 5.x's language service in Node.

One helper process (``node/ts_service.js``, shipped with the package) per run, spoken to
in JSON lines over stdio. The helper converts TypeScript's UTF-16 offsets to code-point
offsets, so everything that comes out of here slices Python strings directly.

``diagnostics``, ``code_fixes``, ``combined_fix``, ``type_info`` and ``text`` answer for
the baseline (the files on disk, then whatever was committed); ``check`` answers for the
texts it is given (its offsets point into them) and leaves the baseline as it was. The
helper's ``check`` rechecks only the files an edit can reach, so checking many files in
one call is far cheaper than one call per file.

Failures are ``ServiceError``: a helper that dies, hangs past the timeout or answers
garbage is killed, and the error gives its exit status and the last lines of its stderr;
after that every call raises the same error. A request the helper merely refuses (say,
a combined fix whose changes overlap) is a ``HelperRequestError`` and the helper stays
usable.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from codemodkit.tsfix.locate import TypeScriptInstall, find_node
from codemodkit.tsfix.types import (
    CodeFix,
    Diagnostic,
    FileChanges,
    Related,
    ServiceError,
    TextChange,
    TsService,
)

__all__ = ["DEFAULT_TIMEOUT", "HelperRequestError", "NodeService", "helper_script"]

#: seconds one request may take (loading or checking a big project is the slow part)
DEFAULT_TIMEOUT = 300.0
_STDERR_LINES = 20
_EOF = None  # what the reader thread queues when stdout closes


class HelperRequestError(ServiceError):
    """The helper refused one request (it is still running and usable)."""


def helper_script() -> Path:
    """Where ``ts_service.js`` is installed (package data; a plain file on disk)."""
    script = resources.files("codemodkit.tsfix.node").joinpath("ts_service.js")
    path = Path(str(script))
    if not path.is_file():  # a zipped install: not supported, say so plainly
        raise ServiceError(f"the TypeScript helper is missing from the installation: {script}")
    return path


def _pump_lines(stream: IO[str], sink: queue.Queue[str | None]) -> None:
    for line in stream:
        sink.put(line)
    sink.put(_EOF)


def _keep_tail(stream: IO[str], tail: collections.deque[str]) -> None:
    for line in stream:
        tail.append(line.rstrip("\n"))


class NodeService:
    """The TypeScript project behind ``tsconfig``, held in memory by the Node helper."""

    fixes_available: bool = True

    def __init__(
        self,
        process: subprocess.Popen[str],
        *,
        tsconfig: Path,
        install: TypeScriptInstall,
        timeout: float,
    ) -> None:
        self._process = process
        self.tsconfig = tsconfig
        self.install = install
        self.timeout = timeout
        self.version = install.version
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._failure: ServiceError | None = None
        self._closed = False
        self._files: tuple[str, ...] = ()
        self._texts: dict[str, str] = {}
        #: the config diagnostics found at load (also part of ``diagnostics()``)
        self.config_diagnostics: tuple[Diagnostic, ...] = ()
        #: (tsconfig, number of files) per project loaded, references included
        self.projects: tuple[tuple[str, int], ...] = ()
        #: files the last ``check``/``commit`` re-type-checked; None when all of them
        self.last_rechecked: int | None = None
        assert process.stdout is not None and process.stderr is not None
        self._threads = [
            threading.Thread(target=_pump_lines, args=(process.stdout, self._lines), daemon=True),
            threading.Thread(target=_keep_tail, args=(process.stderr, self._stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- life cycle ------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        tsconfig: Path,
        install: TypeScriptInstall,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        node: Path | None = None,
    ) -> NodeService:
        """Start the helper and load ``tsconfig`` (with the projects it references)."""
        if install.major >= 7:
            raise ServiceError(
                f"TypeScript {install.version} has no JavaScript language-service API: "
                "7.x projects go through the LSP backend (codemodkit.tsfix.lsp), not NodeService"
            )
        tsconfig = tsconfig.resolve()
        if not tsconfig.is_file():
            raise ServiceError(f"no tsconfig at {tsconfig}")
        command = [str(node or find_node()), str(helper_script()), str(install.package_dir)]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                cwd=tsconfig.parent,
                env={**os.environ, "CODEMOD_TSFIX_TYPESCRIPT": str(install.package_dir)},
                # its own process group: stopping it stops anything it started too
                start_new_session=True,
            )
        except OSError as error:
            raise ServiceError(f"cannot start the TypeScript helper: {error}") from error
        service = cls(process, tsconfig=tsconfig, install=install, timeout=timeout)
        try:
            service.version = str(service._request("version", {})["typescript"])
            loaded = service._request("load", {"tsconfig": str(tsconfig)})
        except BaseException:
            service.close()
            raise
        service._files = tuple(str(f) for f in loaded["files"])
        service.projects = tuple((str(p["tsconfig"]), int(p["files"])) for p in loaded["projects"])
        service.config_diagnostics = tuple(_diagnostic(d) for d in loaded["configDiagnostics"])
        return service

    def close(self) -> None:
        """Stop the helper (end of stdin, then terminate, then kill)."""
        if self._closed:
            return
        self._closed = True
        process = self._process
        with contextlib.suppress(OSError):
            if process.stdin is not None:
                process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                process.wait()
        self._signal(signal.SIGKILL)  # whatever else of the group still holds the pipes
        for thread, stream in zip(self._threads, (process.stdout, process.stderr), strict=True):
            thread.join(timeout=5)
            # closing a pipe a thread still reads would block until that read returns
            if stream is not None and not thread.is_alive():
                with contextlib.suppress(OSError):
                    stream.close()

    def _signal(self, signum: int) -> None:
        """Signal the helper's process group (the helper alone where there are none)."""
        with contextlib.suppress(OSError):
            if hasattr(os, "killpg"):
                os.killpg(self._process.pid, signum)
            else:  # pragma: no cover - Windows
                self._process.send_signal(signum)

    def __enter__(self) -> NodeService:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def pid(self) -> int:
        return self._process.pid

    # -- the wire --------------------------------------------------------------------

    def _fail(self, summary: str) -> ServiceError:
        """Kill the helper and remember why: every later call raises the same error."""
        process = self._process
        self._signal(signal.SIGKILL)
        try:
            status: int | None = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = None
        self._threads[1].join(timeout=2)  # let the stderr tail catch up
        detail = "\n".join(self._stderr)
        line = f"{summary} (exit status {status})"
        self._failure = ServiceError(f"{line}\n{detail}" if detail else line)
        return self._failure

    def _request(self, method: str, params: Mapping[str, Any]) -> Any:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._closed:
                raise ServiceError("the TypeScript helper was closed")
            request_id = next(self._ids)
            line = json.dumps({"id": request_id, "method": method, "params": params})
            stdin = self._process.stdin
            assert stdin is not None
            try:
                stdin.write(line + "\n")
                stdin.flush()
            except (OSError, ValueError) as error:
                raise self._fail(f"the TypeScript helper died before `{method}`") from error
            deadline = time.monotonic() + self.timeout
            while True:
                remaining = deadline - time.monotonic()
                try:
                    answer = self._lines.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    raise self._fail(
                        f"the TypeScript helper did not answer `{method}` within "
                        f"{self.timeout:g} s and was stopped"
                    ) from None
                if answer is _EOF:
                    raise self._fail(f"the TypeScript helper exited during `{method}`")
                try:
                    response = json.loads(answer)
                except ValueError:
                    raise self._fail(
                        f"the TypeScript helper answered garbage to `{method}`: {answer[:200]!r}"
                    ) from None
                if not isinstance(response, dict) or response.get("id") != request_id:
                    raise self._fail(
                        f"the TypeScript helper answered out of turn to `{method}`: "
                        f"{answer[:200]!r}"
                    )
                break
        refusal = response.get("error")
        if refusal is not None:
            message = refusal.get("message") if isinstance(refusal, dict) else refusal
            raise HelperRequestError(f"TypeScript helper: `{method}` failed: {message}")
        return response.get("result")

    # -- TsService ---------------------------------------------------------------------

    def files(self) -> Sequence[str]:
        return list(self._files)

    def text(self, file: str) -> str:
        cached = self._texts.get(file)
        if cached is None:
            cached = str(self._request("text", {"file": file}))
            self._texts[file] = cached
        return cached

    def diagnostics(self) -> list[Diagnostic]:
        return [_diagnostic(d) for d in self._request("diagnostics", {})]

    def code_fixes(self, diagnostic: Diagnostic) -> list[CodeFix]:
        if diagnostic.file is None or diagnostic.start is None:
            return []
        params = {
            "file": diagnostic.file,
            "start": diagnostic.start,
            "length": diagnostic.length or 0,
            "code": diagnostic.code,
        }
        return [_code_fix(f) for f in self._request("codeFixes", params)]

    def combined_fix(self, file: str, fix_id: str) -> list[FileChanges]:
        answer = self._request("combinedFix", {"file": file, "fixId": fix_id})
        return [_file_changes(c) for c in answer]

    def check(self, texts: Mapping[str, str], *, full: bool = False) -> list[Diagnostic]:
        """The project's diagnostics were ``texts`` the files' texts (nothing is written).

        Only the files that can see the edit are re-type-checked (see the rule in
        ts_service.js); ``full=True`` re-checks every file, as the reference.
        """
        answer = self._request("check", {"texts": dict(texts), "full": full})
        self._note_rechecked(answer["rechecked"])
        return [_diagnostic(d) for d in answer["diagnostics"]]

    def commit(self, texts: Mapping[str, str]) -> None:
        answer = self._request("commit", {"texts": dict(texts)})
        self._note_rechecked(answer.get("rechecked"))
        self._texts.update(texts)

    def type_info(self, file: str, start: int, end: int, *, limit: int = 20) -> list[str]:
        params = {"file": file, "start": start, "end": end, "limit": limit}
        return [str(s) for s in self._request("typeInfo", params)]

    def _note_rechecked(self, rechecked: object) -> None:
        self.last_rechecked = rechecked if isinstance(rechecked, int) else None


# -- wire -> types.py ------------------------------------------------------------------


def _opt_int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _diagnostic(d: Mapping[str, Any]) -> Diagnostic:
    return Diagnostic(
        code=int(d["code"]),
        message=str(d["message"]),
        category=d.get("category", "error"),
        file=d.get("file"),
        start=_opt_int(d.get("start")),
        length=_opt_int(d.get("length")),
        line=_opt_int(d.get("line")),
        column=_opt_int(d.get("column")),
        related=tuple(
            Related(
                message=str(r["message"]),
                file=r.get("file"),
                start=_opt_int(r.get("start")),
                length=_opt_int(r.get("length")),
            )
            for r in d.get("related", ())
        ),
    )


def _file_changes(c: Mapping[str, Any]) -> FileChanges:
    return FileChanges(
        file=str(c["file"]),
        changes=tuple(
            TextChange(start=int(t["start"]), length=int(t["length"]), new_text=str(t["newText"]))
            for t in c["changes"]
        ),
        is_new_file=bool(c.get("isNewFile", False)),
    )


def _code_fix(f: Mapping[str, Any]) -> CodeFix:
    return CodeFix(
        fix_name=str(f["fixName"]),
        description=str(f["description"]),
        changes=tuple(_file_changes(c) for c in f["changes"]),
        fix_id=f.get("fixId"),
        fix_all_description=f.get("fixAllDescription"),
    )


if TYPE_CHECKING:  # mypy checks that NodeService is a TsService
    _IS_A_TS_SERVICE: type[TsService] = NodeService

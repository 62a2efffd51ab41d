"""JSON-RPC 2.0 with LSP's ``Content-Length`` framing, to a child process over stdio.

Small on purpose (the framing is a header and a body): one thread reads the server's
stdout, one writes its stdin, one keeps the tail of its stderr. Every request waits
with a timeout, so a server that hangs costs a ``ServiceError``, never a hung run; a
server that dies wakes every waiting request at once with its last stderr line.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from codemodkit.tsfix.types import ServiceError

__all__ = ["JsonRpcProcess", "NotificationHandler", "RequestHandler", "not_handled"]

#: answers a request the server sends us (``workspace/configuration``, ...)
RequestHandler = Callable[[str, Any], Any]
NotificationHandler = Callable[[str, Any], None]

_METHOD_NOT_FOUND = -32601
_INTERNAL_ERROR = -32603
_STDERR_LINES = 40


class _NotHandled(Exception):
    """Raised by a request handler for a method it does not know."""


class _Pending:
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: str | None = None


class JsonRpcProcess:
    """A child process spoken to in framed JSON-RPC. Thread-safe for requests."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        on_request: RequestHandler | None = None,
        on_notification: NotificationHandler | None = None,
        env: Mapping[str, str] | None = None,
        name: str = "server",
    ) -> None:
        self.name = name
        self._on_request = on_request
        self._on_notification = on_notification
        self._pending: dict[int, _Pending] = {}
        self._lock = threading.Lock()
        self._next_id = 0
        self._dead: str | None = None  # why the connection ended
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        try:
            self._process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                # its own process group: close() can end it and anything it started
                # (npm's bin script runs the native binary as a child under Node 20)
                start_new_session=True,
            )
        except OSError as error:
            raise ServiceError(f"cannot start {name} ({argv[0]}): {error.strerror}") from None
        assert self._process.stdin and self._process.stdout and self._process.stderr
        self._stderr_reader = threading.Thread(
            target=self._stderr_loop, args=(self._process.stderr,), daemon=True
        )
        self._threads = [  # stderr's first: the others wait for it when the server ends
            self._stderr_reader,
            threading.Thread(target=self._read_loop, args=(self._process.stdout,), daemon=True),
            threading.Thread(target=self._write_loop, args=(self._process.stdin,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- public API ---------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._process.pid

    def stderr_tail(self) -> str:
        """The last non-empty line the server wrote to stderr ("" if none)."""
        for line in reversed(self._stderr):
            if line.strip():
                return line.strip()
        return ""

    def notify(self, method: str, params: Any) -> None:
        self._check_alive(method)
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, *, timeout: float) -> Any:
        return self.request_many([(method, params)], timeout=timeout)[0]

    def request_many(self, calls: Sequence[tuple[str, Any]], *, timeout: float) -> list[Any]:
        """Send every request at once (the server may answer them in parallel), then
        wait for all answers; ``timeout`` bounds each wait, not the whole batch."""
        self._check_alive(calls[0][0] if calls else "request")
        waits: list[tuple[str, int, _Pending]] = []
        frames: list[dict[str, Any]] = []
        with self._lock:
            if self._dead is not None:  # (checked again: it may have died meanwhile)
                raise ServiceError(f"{self.name}: cannot send {calls[0][0]}: {self._dead}")
            for method, params in calls:
                self._next_id += 1
                pending = _Pending()
                self._pending[self._next_id] = pending
                waits.append((method, self._next_id, pending))
                frames.append(
                    {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}
                )
        for frame in frames:
            self._send(frame)
        results: list[Any] = []
        try:
            for method, _ident, pending in waits:
                if not pending.done.wait(timeout):
                    raise ServiceError(f"{self.name}: {method} got no answer in {timeout:g}s")
                if pending.error is not None:
                    raise ServiceError(f"{self.name}: {method} failed: {pending.error}")
                results.append(pending.result)
        except ServiceError:
            self._cancel([ident for _, ident, pending in waits if not pending.done.is_set()])
            raise
        finally:
            with self._lock:
                for _, ident, _ in waits:
                    self._pending.pop(ident, None)
        return results

    def close(self, *, grace: float = 2.0, shutdown: bool = True) -> None:
        """Ask the server to shut down, then end its process group whatever it says."""
        if shutdown and self._dead is None:
            with contextlib.suppress(ServiceError):
                self.request("shutdown", None, timeout=grace)
                self.notify("exit", None)
        self._mark_dead("closed")
        self._outbox.put(None)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=grace if shutdown else 0)
        self._kill_group()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=grace)
        # the pipes reach end of file once the process group is gone
        for thread in self._threads:
            thread.join(timeout=grace)
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    # -- plumbing -----------------------------------------------------------------

    def _kill_group(self) -> None:
        if os.name == "posix":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._process.pid, signal.SIGKILL)
        else:  # pragma: no cover - no process groups to end
            with contextlib.suppress(OSError):
                self._process.kill()

    def _check_alive(self, method: str) -> None:
        if self._dead is not None:
            raise ServiceError(f"{self.name}: cannot send {method}: {self._dead}")

    def _send(self, message: Mapping[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._outbox.put(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _cancel(self, idents: Sequence[int]) -> None:
        for ident in idents:
            with contextlib.suppress(ServiceError):
                self.notify("$/cancelRequest", {"id": ident})

    def _mark_dead(self, reason: str) -> None:
        with self._lock:
            if self._dead is None:
                self._dead = reason
            waiting = list(self._pending.values())
        for pending in waiting:
            if not pending.done.is_set():
                pending.error = reason
                pending.done.set()

    def _exit_reason(self) -> str:
        code = self._process.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self._process.wait(timeout=1)
        status = "ended" if code is None else f"exited with status {code}"
        if code is not None:  # its stderr is at end of file too: let it be read
            self._stderr_reader.join(timeout=1)
        tail = self.stderr_tail()
        return status + (f": {tail}" if tail else "")

    def _write_loop(self, stream: IO[bytes]) -> None:
        try:
            while (frame := self._outbox.get()) is not None:
                stream.write(frame)
                stream.flush()
        except (OSError, ValueError):
            self._mark_dead(self._exit_reason())
        finally:
            with contextlib.suppress(OSError, ValueError):
                stream.close()

    def _stderr_loop(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def _read_loop(self, stream: IO[bytes]) -> None:
        try:
            while (message := _read_message(stream)) is not None:
                self._dispatch(message)
        except Exception as error:  # unreadable, or shaped wrong: the server is no use now
            self._mark_dead(f"answered nonsense ({error})")
            return
        self._mark_dead(self._exit_reason())

    def _dispatch(self, message: Any) -> None:
        if not isinstance(message, dict):
            raise ValueError("a message that is not a JSON object")
        method = message.get("method")
        if method is None:  # a response to one of ours
            with self._lock:
                pending = self._pending.get(message.get("id", -1))
            if pending is not None:
                error = message.get("error")
                if error is not None:
                    detail = error.get("message") if isinstance(error, dict) else None
                    pending.error = str(detail or error)
                else:
                    pending.result = message.get("result")
                pending.done.set()
        elif "id" in message:  # a request from the server
            self._answer(message["id"], str(method), message.get("params"))
        elif self._on_notification is not None:
            with contextlib.suppress(Exception):  # as above: keep reading whatever happens
                self._on_notification(str(method), message.get("params"))

    def _answer(self, ident: Any, method: str, params: Any) -> None:
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": ident}
        try:
            if self._on_request is None:
                raise _NotHandled(method)
            reply["result"] = self._on_request(method, params)
        except _NotHandled:
            reply["error"] = {"code": _METHOD_NOT_FOUND, "message": f"unhandled: {method}"}
        except Exception as error:  # a handler's bug must not stop the reader thread
            reply["error"] = {"code": _INTERNAL_ERROR, "message": f"{method}: {error!r}"}
        self._send(reply)


def not_handled(method: str) -> _NotHandled:
    """What a request handler raises for a method it does not answer."""
    return _NotHandled(method)


def _read_message(stream: IO[bytes]) -> Any:
    """One framed message, or None at end of stream."""
    length: int | None = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, colon, value = line.partition(b":")
        if not colon:
            raise ValueError(f"not an LSP header: {line[:60]!r}")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("a message without Content-Length")
    body = stream.read(length)
    if len(body) < length:
        return None
    return json.loads(body)

"""A simulated LLM server: real HTTP on 127.0.0.1, three wire protocols, faults on demand.

Used by the pytest fixtures in ``tests/llm/conftest.py`` and by the benchmarks (which put
``tests/`` on ``sys.path`` and ``import llm_server``), so it imports nothing from pytest
and nothing from ``codemodkit``: it checks the providers from the outside, as a server would.

Usage::

    with SimServer(ServerConfig(latency=0.02, slots=2, rpm=60, window=1.0)) as server:
        httpx.post(f"{server.url}/api/chat", json={...})
        server.config.fault_rate = 0.5          # the config is read per request
        server.script(["first answer", Fault("503"), Fault("timeout")])
        server.stats.max_concurrent, server.stats.max_in_window(1.0)

API:

- ``ServerConfig`` (dataclass) - latency, slots, queue, rpm, window, retry_after_ms,
  fault_rate, faults, seed, api_key, models (name -> size in bytes, or a ``ModelSpec``
  for ``/api/show``'s layers, KV heads and context), responder, timeout_seconds.
- ``SimServer(config=None, *, host="127.0.0.1", port=0)`` - ``start()`` / ``stop()`` or
  ``with``; ``url``; ``config`` (live); ``stats``; ``script(answers)`` queues content
  strings and ``Fault``s that the next chat requests consume in order; ``scripted_left``.
- ``Fault(kind, retry_after=None, headers={}, body=None)``.
- ``SimRequest`` - protocol, path, model, messages, system, schema, options, headers
  (lower-cased), body; ``text`` joins system and message contents.
- ``ServerStats`` - total, connections, by_path, by_protocol, statuses (``count_429``,
  ``count_503``), faults, auth_failures, in_flight / max_in_flight, processing /
  max_concurrent (slots in use), queued / max_queued, accepted_times, requests
  (``last_request``), ``max_in_window(seconds)``, ``snapshot()``, ``reset()``.

Endpoints (``protocol`` in brackets):

- [ollama] ``POST /api/chat`` (``stream`` must be present and false), ``GET /api/tags``,
  ``POST /api/show``, ``GET /api/version``;
- [openai] ``POST /v1/chat/completions``, ``GET /v1/models``;
- [anthropic] ``GET /v1/models`` when the request has an ``anthropic-version`` header;
- [anthropic] ``POST /v1/messages`` (needs the ``anthropic-version`` header and
  ``max_tokens``).

The order of checks for a chat request: auth (401) -> request shape (400) -> model (404)
-> rate limit (429) -> queue (503; 529 on the Anthropic path when the queue is full) ->
a slot, where ``latency`` is spent -> the next scripted item, else a random fault
(``fault_rate``), else ``responder``. Only chat requests count against ``rpm``, take a slot
and can fault; the metadata endpoints answer at once.

Fault kinds (``Fault.kind``): any three-digit status (``"500"``, ``"503"``, ``"429"``,
``"529"``, ...) answers with that status and a protocol-shaped error body; ``"timeout"``
hangs for ``timeout_seconds`` while holding its slot (it gives up early once the client
disconnects) and then closes the connection; ``"drop"`` closes the connection with no
response; ``"malformed"`` is a 200 whose body is not JSON; ``"truncated"`` is a 200 whose
JSON is cut in half (with a Content-Length that matches the cut body, so the HTTP layer is
fine and only the JSON is broken); ``"schema"`` is a 200 with valid protocol JSON whose
content does not match the requested schema.

Deviations from a real server, on purpose: the rate limit is a sliding window log (the
strictest reading of "N per window"); the OpenAI ``x-ratelimit-*`` and Anthropic
``anthropic-ratelimit-*`` headers (sent on every chat response when ``rpm`` is set) cover
requests only, not tokens; token counts are ``ceil(characters / 4)``; a 401 echoes the
presented key back in full (real servers mask it) so tests can prove clients redact it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import selectors
import socket
import socketserver
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "BUSY_MESSAGE",
    "DEFAULT_FAULTS",
    "Fault",
    "ModelSpec",
    "ServerConfig",
    "ServerStats",
    "SimRequest",
    "SimServer",
]

#: Ollama's text when its queue (OLLAMA_MAX_QUEUE) is full
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
DEFAULT_FAULTS = ("500", "503", "timeout", "drop", "malformed", "truncated", "schema")
#: what a "schema" fault answers instead of JSON matching the schema
SCHEMA_BREAKERS = ("not json at all", '{"unexpected": 1}')

_CHAT_PATHS = {
    "/api/chat": "ollama",
    "/v1/chat/completions": "openai",
    "/v1/messages": "anthropic",
}
_META_PATHS = {
    ("GET", "/api/tags"): "ollama",
    ("POST", "/api/show"): "ollama",
    ("GET", "/api/version"): "ollama",
    ("GET", "/v1/models"): "openai",
}


@dataclass(frozen=True)
class ModelSpec:
    """What ``/api/tags`` and ``/api/show`` say about a model (llama-3-8B-like defaults)."""

    size: int
    architecture: str = "llama"
    parameter_count: int | None = None  # default: size * 2 (about 4 bits per weight)
    block_count: int = 32
    head_count: int = 32
    head_count_kv: int = 8
    context_length: int = 131072
    embedding_length: int = 4096
    quantization_level: str = "Q4_K_M"

    @property
    def parameters(self) -> int:
        return self.parameter_count if self.parameter_count is not None else self.size * 2


@dataclass(frozen=True)
class Fault:
    """A scripted or random failure. ``kind`` is a fault kind or a three-digit status."""

    kind: str
    #: sent as ``Retry-After`` (integer seconds, rounded up) on an HTTP-status fault
    retry_after: float | None = None
    #: extra response headers, e.g. ``{"retry-after-ms": "1500"}``
    headers: Mapping[str, str] = field(default_factory=dict)
    #: replaces the default error body of an HTTP-status fault
    body: str | None = None


@dataclass
class ServerConfig:
    """How the server behaves; fields are read per request, so tests may change them live."""

    #: seconds spent per chat request while holding a slot; a tuple is a uniform range
    latency: float | tuple[float, float] = 0.0
    #: chat requests processed at once (Ollama's OLLAMA_NUM_PARALLEL); others queue
    slots: int = 4
    #: requests allowed to wait for a slot (OLLAMA_MAX_QUEUE); beyond it -> 503
    queue: int = 512
    #: chat requests accepted per ``window`` seconds; beyond it -> 429 with Retry-After
    rpm: int | None = None
    window: float = 60.0
    #: also send ``retry-after-ms`` (exact) on the 429s of the rate limit
    retry_after_ms: bool = False
    #: probability that a chat request gets a random fault from ``faults``
    fault_rate: float = 0.0
    faults: tuple[str, ...] = DEFAULT_FAULTS
    #: seeds the random latency and faults (read at construction)
    seed: int = 0
    #: when set, requests need it (Bearer; ``x-api-key`` on the Anthropic path) or get 401
    api_key: str | None = None
    #: model name -> size in bytes or a full ModelSpec; other models get 404
    models: dict[str, int | ModelSpec] = field(default_factory=lambda: {"sim-model": 4_000_000_000})
    #: the assistant's content for a request; default ``"{}"``
    responder: Callable[[SimRequest], str] | None = None
    #: how long a "timeout" fault hangs (the client's timeout should fire first)
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class SimRequest:
    """A chat request as the server understood it."""

    protocol: str  # "ollama" | "openai" | "anthropic"
    path: str
    model: str
    #: [{"role", "content"}], content flattened to text
    messages: list[dict[str, Any]]
    #: Anthropic's top-level system prompt (text), else None
    system: str | None
    #: Ollama ``format`` (a schema or "json"), OpenAI ``response_format.json_schema.schema``
    schema: Any
    #: Ollama ``options``; for OpenAI/Anthropic every top-level field but model and messages
    options: dict[str, Any]
    #: request headers, names lower-cased
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def text(self) -> str:
        """System prompt and every message's content, for responders that pattern-match."""
        parts = [self.system or ""] + [str(m.get("content", "")) for m in self.messages]
        return "\n".join(p for p in parts if p)


class ServerStats:
    """Thread-safe counters. Read them when the traffic has settled (or use ``snapshot``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # gauges describe requests in progress and survive reset()
        self.in_flight = 0  # received and not yet answered (queued or processing)
        self.processing = 0  # holding a slot
        self.queued = 0  # waiting for a slot
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.connections = 0  # TCP connections accepted (keep-alive reuses them)
            self.by_path: Counter[str] = Counter()
            self.by_protocol: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.faults: Counter[str] = Counter()
            self.auth_failures = 0
            self.max_in_flight = self.in_flight
            self.max_concurrent = self.processing
            self.max_queued = self.queued
            #: time.monotonic() of every chat request that passed the rate limit
            self.accepted_times: list[float] = []
            #: every well-formed chat request, in arrival order
            self.requests: list[SimRequest] = []

    @property
    def count_429(self) -> int:
        return self.statuses[429]

    @property
    def count_503(self) -> int:
        return self.statuses[503]

    @property
    def last_request(self) -> SimRequest:
        with self._lock:
            return self.requests[-1]

    def max_in_window(self, seconds: float) -> int:
        """The most accepted requests that fall within ``seconds`` of each other."""
        with self._lock:
            times = sorted(self.accepted_times)
        best = start = 0
        for end, t in enumerate(times):
            while t - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "connections": self.connections,
                "by_path": dict(self.by_path),
                "by_protocol": dict(self.by_protocol),
                "statuses": dict(self.statuses),
                "faults": dict(self.faults),
                "auth_failures": self.auth_failures,
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "processing": self.processing,
                "max_concurrent": self.max_concurrent,
                "max_queued": self.max_queued,
                "accepted": len(self.accepted_times),
            }

    # -- updates, called by the server ------------------------------------------------

    def _begin(self, path: str, protocol: str) -> None:
        with self._lock:
            self.total += 1
            self.by_path[path] += 1
            self.by_protocol[protocol] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _connected(self) -> None:
        with self._lock:
            self.connections += 1

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _count(self, *, status: int | None = None, fault: str | None = None) -> None:
        with self._lock:
            if status is not None:
                self.statuses[status] += 1
                if status == 401:
                    self.auth_failures += 1
            if fault is not None:
                self.faults[fault] += 1

    def _seen(self, request: SimRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _accept(self, now: float) -> None:
        with self._lock:
            self.accepted_times.append(now)

    def _slots(self, *, processing: int, queued: int) -> None:
        with self._lock:
            self.processing, self.queued = processing, queued
            self.max_concurrent = max(self.max_concurrent, processing)
            self.max_queued = max(self.max_queued, queued)


class SimServer:
    """The server: a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self, config: ServerConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or ServerConfig()
        self.stats = ServerStats()
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._serve_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # script, rng, connections
        self._rng = random.Random(self.config.seed)
        self._script: deque[str | Fault] = deque()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._slot_cond = threading.Condition()
        self._busy = 0
        self._waiting = 0
        self._rate_lock = threading.Lock()
        self._rate_log: deque[float] = deque()
        self._ids = iter(range(1, 1 << 62))

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SimServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer(self._address, self)
        self._serve_thread = threading.Thread(
            target=self._accept_loop,
            args=(self._httpd,),
            name=f"sim-llm-{self._httpd.server_address[1]}",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake every waiting or hanging request, close every connection."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        with self._slot_cond:
            self._slot_cond.notify_all()
        # a connection wakes the accept loop at once, which then sees _stopping
        with contextlib.suppress(OSError), socket.create_connection(httpd.server_address[:2], 1):
            pass
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=5)
        httpd.server_close()
        with self._lock:
            connections = list(self._connections.items())
        for sock, _ in connections:
            # wakes a handler blocked reading the next keep-alive request; it closes the socket
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for _, thread in connections:
            thread.join(timeout=5)

    def _accept_loop(self, httpd: _HTTPServer) -> None:
        """serve_forever, minus its poll interval: stop() costs no wait."""
        httpd.socket.setblocking(False)  # a client gone between select and accept
        with selectors.DefaultSelector() as selector:
            selector.register(httpd.socket, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not selector.select(timeout=1.0) or self._stopping.is_set():
                    continue
                try:
                    request, address = httpd.get_request()
                except OSError:
                    continue
                request.setblocking(True)
                httpd.process_request(request, address)

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test controls -----------------------------------------------------------------

    def script(self, answers: Iterable[str | Fault]) -> None:
        """Queue answers (content text) or faults; chat requests consume them in order."""
        with self._lock:
            self._script.extend(answers)

    @property
    def scripted_left(self) -> int:
        with self._lock:
            return len(self._script)

    # -- internals used by the handler --------------------------------------------------

    def _track(self, sock: socket.socket, thread: threading.Thread) -> None:
        with self._lock:
            self._connections[sock] = thread

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(sock, None)

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _latency(self) -> float:
        latency = self.config.latency
        if isinstance(latency, tuple):
            with self._lock:
                return self._rng.uniform(*latency)
        return latency

    def _outcome(self, request: SimRequest) -> str | Fault:
        config = self.config
        with self._lock:
            if self._script:
                return self._script.popleft()
            if config.fault_rate > 0 and config.faults and self._rng.random() < config.fault_rate:
                return Fault(self._rng.choice(config.faults))
        return config.responder(request) if config.responder is not None else "{}"

    def _schema_breaker(self) -> str:
        with self._lock:
            return self._rng.choice(SCHEMA_BREAKERS)

    def _acquire_slot(self) -> bool:
        """Wait for a slot; False when the queue is full or the server is stopping."""
        with self._slot_cond:
            if self._busy >= self.config.slots or self._waiting:
                if self._waiting >= self.config.queue:
                    return False
                self._waiting += 1
                self.stats._slots(processing=self._busy, queued=self._waiting)
                while self._busy >= self.config.slots and not self._stopping.is_set():
                    self._slot_cond.wait()
                self._waiting -= 1
                if self._stopping.is_set():
                    self.stats._slots(processing=self._busy, queued=self._waiting)
                    return False
            self._busy += 1
            self.stats._slots(processing=self._busy, queued=self._waiting)
            return True

    def _release_slot(self) -> None:
        with self._slot_cond:
            self._busy -= 1
            self.stats._slots(processing=self._busy, queued=self._waiting)
            self._slot_cond.notify()

    def _rate_gate(self, protocol: str) -> tuple[bool, float, dict[str, str]]:
        """(accepted, seconds until one more request fits, rate-limit headers)."""
        config = self.config
        now = time.monotonic()
        with self._rate_lock:
            if config.rpm is None:
                self.stats._accept(now)
                return True, 0.0, {}
            log = self._rate_log
            while log and log[0] <= now - config.window:
                log.popleft()
            accepted = len(log) < config.rpm
            if accepted:
                log.append(now)
                self.stats._accept(now)
            remaining = config.rpm - len(log)
            next_free = log[0] + config.window - now if log else 0.0
            full_reset = log[-1] + config.window - now if log else 0.0
        return accepted, next_free, _rate_headers(protocol, config.rpm, remaining, full_reset)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # SimServer.stop() closes connections and joins threads itself
    request_queue_size = 1024  # listen backlog: bursts of hundreds of clients connect at once

    def __init__(self, address: tuple[str, int], sim: SimServer) -> None:
        self.sim = sim
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can take seconds
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True
        )
        self.sim._track(request, thread)
        self.sim.stats._connected()
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            pass  # a client that vanished mid-exchange is not the server's problem
        finally:
            self.shutdown_request(request)
            self.sim._untrack(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response carries Content-Length
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._exchange("GET")

    def do_POST(self) -> None:
        self._exchange("POST")

    # -- one request -------------------------------------------------------------------

    def _exchange(self, method: str) -> None:
        sim = self.server.sim
        path = urlsplit(self.path).path
        protocol = _CHAT_PATHS.get(path) or _META_PATHS.get((method, path)) or "unknown"
        if path == "/v1/models" and self.headers.get("anthropic-version"):
            protocol = "anthropic"  # Anthropic's model list: x-api-key, its own shape
        sim.stats._begin(path, protocol)
        self._extra: dict[str, str] = {"x-request-id": f"sim-{sim._next_id()}"}
        try:
            self._route(sim, method, path, protocol)
        except OSError:
            self.close_connection = True  # the client went away while we wrote
        except Exception as exc:  # a responder or a bug: say so instead of hanging up
            self._error(protocol, 500, f"simulator error: {type(exc).__name__}: {exc}")
        finally:
            sim.stats._end()

    def _route(self, sim: SimServer, method: str, path: str, protocol: str) -> None:
        raw = self._read_body()
        if raw is None:
            return
        if protocol == "unknown" or (path in _CHAT_PATHS and method != "POST"):
            self._error("ollama", 404, f"{method} {path} not found")
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        if not self._authorized(sim.config.api_key, protocol, headers):
            return
        body: Any = {}
        if method == "POST":
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                self._error(protocol, 400, "the request body is not JSON")
                return
            if not isinstance(body, dict):
                self._error(protocol, 400, "the request body must be a JSON object")
                return
        if path in _CHAT_PATHS:
            self._chat(sim, protocol, path, body, headers)
        elif path == "/api/tags":
            self._json(200, {"models": [_tag(n, s) for n, s in _specs(sim.config).items()]})
        elif path == "/api/show":
            self._show(sim, body)
        elif path == "/api/version":
            self._json(200, {"version": "0.0.0-sim"})
        elif protocol == "anthropic":  # GET /v1/models with an anthropic-version header
            names = list(_specs(sim.config))
            listed = [
                {"type": "model", "id": n, "display_name": n, "created_at": "2026-01-01T00:00:00Z"}
                for n in names
            ]
            first, last = (names[0], names[-1]) if names else (None, None)
            self._json(200, {"data": listed, "has_more": False, "first_id": first, "last_id": last})
        else:  # /v1/models
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "sim"}
                for name in _specs(sim.config)
            ]
            self._json(200, {"object": "list", "data": data})

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._error("ollama", 411, "chunked request bodies are not supported", close=True)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._error("ollama", 400, "bad Content-Length", close=True)
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _authorized(self, api_key: str | None, protocol: str, headers: dict[str, str]) -> bool:
        if api_key is None:
            return True
        if protocol == "anthropic":
            presented = headers.get("x-api-key")
        else:
            auth = headers.get("authorization", "")
            presented = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if presented == api_key:
            return True
        # echoed in full on purpose: clients must redact what a server sends back
        message = f"Incorrect API key provided: {presented}" if presented else "no API key provided"
        self._error(protocol, 401, message)
        return False

    def _chat(
        self,
        sim: SimServer,
        protocol: str,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        started = time.monotonic()
        request, problem = _parse_chat(protocol, path, body, headers)
        if request is None:
            self._error(protocol, 400, problem)
            return
        sim.stats._seen(request)
        if _find_model(sim.config, request.model) is None:
            self._model_not_found(protocol, request.model)
            return
        accepted, wait, rate_headers = sim._rate_gate(protocol)
        self._extra.update(rate_headers)
        if not accepted:
            self._extra["retry-after"] = str(math.ceil(wait))
            if sim.config.retry_after_ms:
                self._extra["retry-after-ms"] = str(math.ceil(wait * 1000))
            limit = sim.config.rpm
            self._error(protocol, 429, f"rate limit reached: {limit} requests per window")
            return
        if not sim._acquire_slot():
            if sim._stopping.is_set():
                self.close_connection = True
            elif protocol == "anthropic":
                self._error(protocol, 529, "Overloaded")
            else:
                self._error(protocol, 503, BUSY_MESSAGE)
            return
        try:
            latency = sim._latency()
            if latency > 0 and sim._stopping.wait(latency):
                self.close_connection = True
                return
            outcome = sim._outcome(request)
            if isinstance(outcome, Fault) and outcome.kind == "timeout":
                sim.stats._count(fault="timeout")
                self._hang(sim, sim.config.timeout_seconds)
                self.close_connection = True
                return
        finally:
            sim._release_slot()
        if isinstance(outcome, str):
            self._json(200, _chat_reply(request, outcome, started))
        else:
            self._fault(sim, request, outcome, started)

    def _fault(self, sim: SimServer, request: SimRequest, fault: Fault, started: float) -> None:
        sim.stats._count(fault=fault.kind)
        self._extra.update(fault.headers)
        if fault.kind.isdigit():
            status = int(fault.kind)
            if fault.retry_after is not None:
                self._extra["retry-after"] = str(math.ceil(fault.retry_after))
            if fault.body is not None:
                self._send(status, fault.body.encode())
            else:
                self._error(request.protocol, status, _fault_message(status))
        elif fault.kind == "drop":
            self.close_connection = True
        elif fault.kind == "malformed":
            self._send(200, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
        elif fault.kind == "truncated":
            whole = json.dumps(_chat_reply(request, "{}", started)).encode()
            self._send(200, whole[: len(whole) // 2])
        elif fault.kind == "schema":
            self._json(200, _chat_reply(request, sim._schema_breaker(), started))
        else:
            self._error(request.protocol, 500, f"simulator: unknown fault kind {fault.kind!r}")

    def _hang(self, sim: SimServer, seconds: float) -> None:
        """Sit on the request; give up early when the client disconnects or we stop."""
        deadline = time.monotonic() + seconds
        sock = self.connection
        try:
            while not sim._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                sock.settimeout(min(0.02, left))
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        return  # the client closed its end
                    sim._stopping.wait(min(0.02, left))  # bytes waiting: don't spin
                except TimeoutError:
                    continue
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(None)

    def _show(self, sim: SimServer, body: dict[str, Any]) -> None:
        name = body.get("model") or body.get("name")
        if not isinstance(name, str) or not name:
            self._error("ollama", 400, "model is required")
            return
        found = _find_model(sim.config, name)
        if found is None:
            self._model_not_found("ollama", name)
            return
        spec = found[1]
        arch = spec.architecture
        model_info = {
            "general.architecture": arch,
            "general.parameter_count": spec.parameters,
            f"{arch}.block_count": spec.block_count,
            f"{arch}.attention.head_count": spec.head_count,
            f"{arch}.attention.head_count_kv": spec.head_count_kv,
            f"{arch}.context_length": spec.context_length,
            f"{arch}.embedding_length": spec.embedding_length,
        }
        self._json(
            200,
            {
                "modelfile": f"FROM {found[0]}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": _details(spec),
                "model_info": model_info,
                "capabilities": ["completion"],
            },
        )

    def _model_not_found(self, protocol: str, model: str) -> None:
        if protocol == "ollama":
            self._error(protocol, 404, f"model '{model}' not found")
        elif protocol == "openai":
            self._error(protocol, 404, f"The model `{model}` does not exist")
        else:
            self._error(protocol, 404, f"model: {model}")

    # -- writing -------------------------------------------------------------------------

    def _error(self, protocol: str, status: int, message: str, *, close: bool = False) -> None:
        self._json(status, _error_body(protocol, status, message), close=close)

    def _json(self, status: int, payload: Any, *, close: bool = False) -> None:
        self._send(status, json.dumps(payload).encode(), close=close)

    def _send(self, status: int, body: bytes, *, close: bool = False) -> None:
        """One write per response: status line, headers and body (no Nagle stalls)."""
        self.server.sim.stats._count(status=status)
        close = close or self.close_connection
        lines = [
            f"HTTP/1.1 {status} {_phrase(status)}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            f"Date: {self.date_time_string()}",
            f"Connection: {'close' if close else 'keep-alive'}",
        ]
        lines += [f"{name}: {value}" for name, value in self._extra.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if close:
            self.close_connection = True
        self.wfile.write(head + body)


# -- protocol shapes --------------------------------------------------------------------


def _parse_chat(
    protocol: str, path: str, body: dict[str, Any], headers: dict[str, str]
) -> tuple[SimRequest | None, str]:
    """The request, or (None, why it is a 400)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return None, "model is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        return None, "messages must be a list of objects"
    flat = [{**m, "content": _text_of(m.get("content"))} for m in messages]
    system: str | None = None
    schema: Any = None
    if protocol == "ollama":
        if body.get("stream", True) is not False:
            return None, "stream must be false: the simulator never streams"
        options = body.get("options") or {}
        if not isinstance(options, dict):
            return None, "options must be an object"
        schema = body.get("format")
    else:
        if body.get("stream") is True:
            return None, "stream is not supported by the simulator"
        options = {k: v for k, v in body.items() if k not in ("model", "messages")}
        if protocol == "openai":
            response_format = body.get("response_format") or {}
            if response_format.get("type") == "json_schema":
                schema = (response_format.get("json_schema") or {}).get("schema")
        else:
            if "anthropic-version" not in headers:
                return None, "anthropic-version: header is required"
            if not isinstance(body.get("max_tokens"), int):
                return None, "max_tokens: Field required"
            if "system" in body:
                system = _text_of(body["system"])
    request = SimRequest(
        protocol=protocol,
        path=path,
        model=model,
        messages=flat,
        system=system,
        schema=schema,
        options=options,
        headers=headers,
        body=body,
    )
    return request, ""


def _text_of(content: Any) -> str:
    """Message content as text: a string, or Anthropic/OpenAI content blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
    return "" if content is None else str(content)


def _tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _chat_reply(request: SimRequest, text: str, started: float) -> dict[str, Any]:
    tokens_in, tokens_out = _tokens(request.text), _tokens(text)
    if request.protocol == "ollama":
        elapsed = int((time.monotonic() - started) * 1e9)
        return {
            "model": request.model,
            "created_at": _now().isoformat().replace("+00:00", "Z"),
            "message": {"role": "assistant", "content": text},
            "done": True,
            "done_reason": "stop",
            "total_duration": elapsed,
            "load_duration": 0,
            "prompt_eval_count": tokens_in,
            "prompt_eval_duration": elapsed // 4,
            "eval_count": tokens_out,
            "eval_duration": elapsed - elapsed // 4,
        }
    if request.protocol == "openai":
        return {
            "id": "chatcmpl-sim",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": tokens_in,
                "completion_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            },
        }
    return {
        "id": "msg_sim",
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out},
    }


_OPENAI_ERROR_TYPES = {401: "invalid_request_error", 404: "invalid_request_error", 429: "requests"}
_OPENAI_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def _error_body(protocol: str, status: int, message: str) -> dict[str, Any]:
    if protocol == "openai":
        kind = _OPENAI_ERROR_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        error = {"message": message, "type": kind, "param": None}
        return {"error": {**error, "code": _OPENAI_ERROR_CODES.get(status)}}
    if protocol == "anthropic":
        kind = _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": message}


def _fault_message(status: int) -> str:
    return {
        429: "rate limit exceeded",
        500: "internal server error",
        503: BUSY_MESSAGE,
        529: "Overloaded",
    }.get(status, f"simulated HTTP {status}")


def _rate_headers(protocol: str, limit: int, remaining: int, reset: float) -> dict[str, str]:
    if protocol == "openai":
        return {
            "x-ratelimit-limit-requests": str(limit),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": _go_duration(reset),
        }
    if protocol == "anthropic":
        at = (_now() + timedelta(seconds=reset)).replace(microsecond=0)
        return {
            "anthropic-ratelimit-requests-limit": str(limit),
            "anthropic-ratelimit-requests-remaining": str(remaining),
            "anthropic-ratelimit-requests-reset": at.isoformat().replace("+00:00", "Z"),
        }
    return {}


def _go_duration(seconds: float) -> str:
    """OpenAI's reset format: ``20ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    rest_text = f"{rest:.3f}".rstrip("0").rstrip(".")
    return f"{int(minutes)}m{rest_text}s" if minutes else f"{rest_text}s"


def _phrase(status: int) -> str:
    if status == 529:
        return "Site Overloaded"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _specs(config: ServerConfig) -> dict[str, ModelSpec]:
    return {
        name: spec if isinstance(spec, ModelSpec) else ModelSpec(size=spec)
        for name, spec in config.models.items()
    }


def _find_model(config: ServerConfig, name: str) -> tuple[str, ModelSpec] | None:
    """Ollama's naming: ``name`` and ``name:latest`` are the same model."""
    specs = _specs(config)
    for candidate in (name, f"{name}:latest", name.removesuffix(":latest")):
        if candidate in specs:
            return candidate, specs[candidate]
    return None


def _details(spec: ModelSpec) -> dict[str, Any]:
    return {
        "format": "gguf",
        "family": spec.architecture,
        "families": [spec.architecture],
        "parameter_size": f"{spec.parameters / 1e9:.1f}B",
        "quantization_level": spec.quantization_level,
    }


def _tag(name: str, spec: ModelSpec) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2026-01-01T00:00:00Z",
        "size": spec.size,
        "digest": "sha256:" + hashlib.sha256(name.encode()).hexdigest(),
        "details": _details(spec),
    }

"""What the HTTP providers share: a pooled client, one POST, failures as ``ProviderError``.

Every failure is classified once, here, so the manager can decide on retries from
``kind``, ``retryable``, ``status`` and ``retry_after`` alone. Every message goes through
the redactor, and quotes at most 200 characters of what the server said.
"""

from __future__ import annotations

import functools
import json
import os
import re
import ssl
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import certifi
import httpx

from ... import __version__
from ..base import Answer, ErrorKind, Prompt, ProviderError
from ..secrets import redact, register_secret

__all__ = [
    "HTTPProvider",
    "as_count",
    "error_excerpt",
    "is_retryable_status",
    "join_url",
    "new_client",
    "parse_retry_after",
    "system_with_schema",
]

EXCERPT_CHARS = 200
#: generous: the manager's own caps decide how many calls run at once
POOL_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One CA bundle for every pool: loading it costs about 0.1 s per client otherwise."""
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile or capath:  # honoured like httpx does
        return ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    return ssl.create_default_context(cafile=certifi.where())


def new_client() -> httpx.Client:
    """The connection pool a provider uses when it is not given one."""
    return httpx.Client(
        verify=_tls_context(),
        limits=POOL_LIMITS,
        # per-call timeouts are passed to every request; this is only the fallback
        timeout=httpx.Timeout(600.0, connect=5.0),
        headers={"user-agent": f"codemodkit/{__version__}"},
    )


def join_url(endpoint: str, path: str, *, strip_v1: bool = False) -> str:
    """``endpoint`` + ``path``; with ``strip_v1`` an endpoint given as ``…/v1`` works too."""
    base = endpoint.rstrip("/")
    if strip_v1 and base.endswith("/v1") and path.startswith("/v1/"):
        base = base[: -len("/v1")]
    return base + path


def is_retryable_status(status: int, headers: Mapping[str, str]) -> bool:
    """Stainless SDK rules: the server's ``x-should-retry`` wins, else 408/409/429/5xx."""
    should = headers.get("x-should-retry", "").lower()
    if should in ("true", "false"):
        return should == "true"
    return status in (408, 409, 429) or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait: ``retry-after-ms`` first, then ``retry-after`` (seconds or a date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_excerpt(text: str) -> str:
    """The server's own error message if the body has one, else the body: short, redacted."""
    message = text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            error = error.get("message")
        if not isinstance(error, str):
            error = data.get("message")
        if isinstance(error, str) and error:
            message = error
    # redact before cutting, so a cut never leaves the front half of a key behind
    message = redact(" ".join(message.split()))
    if len(message) > EXCERPT_CHARS:
        message = message[: EXCERPT_CHARS - 1] + "…"
    return message


def system_with_schema(system: str, schema: Mapping[str, Any] | None) -> str:
    """The system prompt, plus the schema as an instruction for APIs that cannot take one."""
    if schema is None:
        return system
    instruction = (
        "Answer with one JSON value, valid against this JSON schema, and nothing else "
        "(no prose, no code fences):\n" + json.dumps(schema, sort_keys=True)
    )
    return f"{system}\n\n{instruction}" if system else instruction


_USERINFO = re.compile(r"//[^/@]*@")


def _shown(url: str) -> str:
    """A URL fit for a message: no ``user:password@``."""
    return _USERINFO.sub("//", url, count=1)


class HTTPProvider:
    """Base of the HTTP providers: one ``httpx.Client`` (thread-safe) per provider."""

    name: str = "http"
    #: where the user puts this provider's key, named in 401/403 messages
    key_variable: str | None = None

    def __init__(self, model: str, *, api_key: str | None, client: httpx.Client | None) -> None:
        self.model = model
        self._api_key = api_key or None
        register_secret(self._api_key)
        self._owns_client = client is None
        self._client = client if client is not None else new_client()

    def close(self) -> None:
        """Close the connection pool, unless the caller passed in (and owns) the client."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HTTPProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(model={self.model!r})"

    def call(self, endpoint: str, prompt: Prompt, timeout: float) -> Answer:
        """One request to ``endpoint``; the subclasses speak the wire protocols."""
        raise NotImplementedError

    # -- one HTTP exchange -------------------------------------------------------------

    def _post(
        self, url: str, body: Mapping[str, Any], headers: Mapping[str, str], timeout: float
    ) -> tuple[Any, dict[str, str]]:
        """POST ``body`` as JSON; the decoded JSON answer and the lower-cased headers."""
        limits = httpx.Timeout(timeout, connect=min(5.0, timeout))
        try:
            response = self._client.post(url, json=body, headers=dict(headers), timeout=limits)
        except httpx.ConnectTimeout as exc:
            self._fail(f"could not connect to {_shown(url)} within {limits.connect:g}s", exc)
        except httpx.TimeoutException as exc:
            self._fail(f"no answer from {_shown(url)} within {timeout:g}s", exc, kind="timeout")
        except httpx.ConnectError as exc:
            self._fail(f"could not connect to {_shown(url)} ({exc})", exc)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            self._fail(f"bad endpoint URL {_shown(url)}: {exc}", exc, kind="config", retry=False)
        except httpx.DecodingError as exc:
            self._fail(f"undecodable answer from {_shown(url)}: {exc}", exc, kind="malformed")
        except httpx.TransportError as exc:
            # the server closed the connection (or it broke) before a complete answer
            self._fail(f"connection to {_shown(url)} failed mid-request ({exc})", exc)
        response_headers = {k.lower(): v for k, v in response.headers.items()}
        if not response.is_success:
            raise self._status_error(url, response.status_code, response.text, response_headers)
        try:
            return response.json(), response_headers
        except ValueError:
            excerpt = error_excerpt(response.text)
            what = f"a body that is not JSON: {excerpt!r}"
            raise self._malformed(url, what, response_headers, response.status_code) from None

    def _fail(
        self,
        message: str,
        exc: Exception,
        *,
        kind: ErrorKind = "connect",
        retry: bool = True,
    ) -> NoReturn:
        raise ProviderError(redact(f"{self.name}: {message}"), kind=kind, retryable=retry) from exc

    def _status_error(
        self, url: str, status: int, text: str, headers: dict[str, str]
    ) -> ProviderError:
        excerpt = error_excerpt(text)
        retry_after = parse_retry_after(headers)
        message = f"{self.name}: {self._status_message(url, status, excerpt, retry_after)}"
        return ProviderError(
            redact(message),
            kind="http",
            retryable=is_retryable_status(status, headers),
            status=status,
            retry_after=retry_after,
            headers=headers,
        )

    def _status_message(
        self, url: str, status: int, excerpt: str, retry_after: float | None
    ) -> str:
        """One clear line per failure class; subclasses specialise 404."""
        where = _shown(url)
        said = f": {excerpt}" if excerpt else ""
        if status in (401, 403):
            where_key = f"{self.key_variable} or --api-key" if self.key_variable else "--api-key"
            if self._api_key is None:
                return f"{where} needs an API key (HTTP {status}); set {where_key}{said}"
            return f"the API key was rejected by {where} (HTTP {status}); check {where_key}{said}"
        if status == 404:
            return (
                f"model '{self.model}' not found at {where} (HTTP 404), "
                f"or the endpoint is not a {self.name} server{said}"
            )
        if status == 429:
            wait = f", retry after {retry_after:g}s" if retry_after is not None else ""
            return f"rate limited by {where} (HTTP 429){wait}{said}"
        return f"{where} answered HTTP {status}{said}"

    def _malformed(
        self, url: str, what: str, headers: Mapping[str, str], status: int = 200
    ) -> ProviderError:
        return ProviderError(
            redact(f"{self.name}: {_shown(url)} sent {what}"),
            kind="malformed",
            retryable=True,
            status=status,
            headers=headers,
        )

    def _bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}


def as_count(value: object) -> int:
    """A token count from an answer; anything odd counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

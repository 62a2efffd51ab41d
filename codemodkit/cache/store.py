"""The answer cache: model answers on disk, keyed by everything that shapes them.

A key is the sha256 of a canonical JSON document holding the provider, the model,
the messages, the generation parameters, the structured-output schema and the
prompt template's version. Endpoints and API keys are deliberately absent: the same
model behind two endpoints gives interchangeable answers, and a secret has no
business in a file that outlives the run.

Values are JSON text written by this module (never pickles of our classes), so a
newer or older codemodkit reads what another wrote, and anything it cannot read is a
miss. The store is ``diskcache.Cache`` (SQLite in WAL mode): safe for many threads
of one process and for several processes at once. ``FanoutCache`` is avoided on
purpose: its ``set`` returns False instead of raising when the database is busy, so
an answer could vanish without anyone noticing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeGuard

import diskcache
import platformdirs
from diskcache.core import MODE_PICKLE

__all__ = [
    "AnswerCache",
    "CacheError",
    "CacheStats",
    "CachedAnswer",
    "cache_key",
    "cache_stats",
    "clear_cache",
    "default_cache_dir",
]

#: bump when the key document changes shape: old entries then simply stop matching
KEY_VERSION = 1
#: bump when the stored value changes shape: entries of another format read as misses
VALUE_FORMAT = 1

#: seconds SQLite waits for another writer before giving up on one attempt
DEFAULT_TIMEOUT = 30.0
_PUT_ATTEMPTS = 4

#: the file diskcache keeps its index in; its absence means "no cache here yet"
_DB_NAME: str = diskcache.core.DBNAME

# Parameters that say where or how to send a request, not what to answer. A caller
# that passes its whole call configuration as ``params`` must neither split the
# cache by endpoint nor make answers depend on a credential.
_NOT_ANSWER_SHAPING = frozenset(
    {
        "api_base",
        "api_key",
        "base_url",
        "endpoint",
        "extra_headers",
        "headers",
        "organization",
        "timeout",
    }
)


class CacheError(Exception):
    """The cache cannot be used; the message is one line naming the path.

    Callers report it ("cache disabled: …") and carry on without a cache.
    """


@dataclass(frozen=True)
class CachedAnswer:
    """A well-formed model answer as stored: no endpoint, no key, no headers."""

    text: str
    tokens_in: int
    tokens_out: int
    model: str
    provider: str
    #: when the answer was produced (seconds since the epoch)
    created: float = field(default_factory=time.time)


@dataclass(frozen=True)
class CacheStats:
    entries: int
    size_bytes: int
    directory: Path
    #: lookups answered from the cache by this process (this ``AnswerCache``)
    hits: int = 0
    #: lookups that found nothing usable, unreadable entries included
    misses: int = 0


def default_cache_dir() -> Path:
    """``$CODEMOD_CACHE_DIR`` if set, else ``<user cache dir>/codemodkit/answers``."""
    override = os.environ.get("CODEMOD_CACHE_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir("codemodkit")) / "answers"


def cache_key(
    *,
    provider: str,
    model: str,
    messages: Sequence[Mapping[str, str]],
    params: Mapping[str, Any],
    schema: Mapping[str, Any] | None,
    template_version: str,
) -> str:
    """The hex sha256 naming the answer to this exact request.

    ``params`` are the generation parameters (temperature, ``num_ctx``, max tokens,
    seed …) and must be JSON-serialisable; transport settings that may slip in
    (``api_key``, ``base_url``, ``endpoint``, ``headers``, ``timeout`` …) are
    dropped. Dict order never matters; ``1`` and ``1.0`` are different values.
    """
    document = {
        "key_version": KEY_VERSION,
        "provider": provider,
        "model": model,
        "messages": [dict(message) for message in messages],
        "params": {k: v for k, v in params.items() if k.lower() not in _NOT_ANSWER_SHAPING},
        "schema": schema,
        "template_version": template_version,
    }
    canonical = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _TextOnlyDisk(diskcache.Disk):  # type: ignore[misc]
    """Reads back only what this module writes: refuses pickles instead of loading them.

    Unpickling runs code; a cache entry (or a foreign file in a shared cache folder)
    must never be able to do that.
    """

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode == MODE_PICKLE:
            raise ValueError("pickled entry: not written by codemodkit")
        return super().fetch(mode, filename, value, read)


def _one_line(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def _encode(answer: CachedAnswer) -> str:
    return json.dumps(
        {
            "format": VALUE_FORMAT,
            "text": answer.text,
            "tokens_in": answer.tokens_in,
            "tokens_out": answer.tokens_out,
            "model": answer.model,
            "provider": answer.provider,
            "created": answer.created,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _is_count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode(raw: object) -> CachedAnswer | None:
    """The answer in ``raw``, or None for anything this version did not write."""
    if not isinstance(raw, str):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("format") != VALUE_FORMAT:
        return None
    text, model, provider = data.get("text"), data.get("model"), data.get("provider")
    tokens_in, tokens_out = data.get("tokens_in"), data.get("tokens_out")
    created = data.get("created")
    if not (isinstance(text, str) and isinstance(model, str) and isinstance(provider, str)):
        return None
    if not (_is_count(tokens_in) and _is_count(tokens_out)):
        return None
    if not isinstance(created, (int, float)) or isinstance(created, bool):
        return None
    return CachedAnswer(text, tokens_in, tokens_out, model, provider, float(created))


class AnswerCache:
    """Model answers on disk, shared by threads and processes.

    Store only answers that passed validation: the cache cannot tell a good answer
    from a bad one, and whatever it holds is replayed on every later run without a
    model call. That decision belongs to the caller.

    ``get`` never raises: an unreadable entry or a busy database is a miss. ``put``
    retries a busy database a few times and then raises ``CacheError``, which the
    caller may report and ignore.

    One object serves every thread; diskcache gives each thread its own SQLite
    connection, which ``close`` closes for the calling thread only. A worker thread
    should call ``close`` when it is done (Python 3.13 warns about connections left
    to the garbage collector).
    """

    def __init__(self, directory: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.directory = Path(directory)
        # Built in two steps so that a failed open can still be closed: diskcache's
        # __init__ leaves its SQLite connection open when it raises.
        self._cache = diskcache.Cache.__new__(diskcache.Cache)
        try:
            self._cache.__init__(str(self.directory), timeout=timeout, disk=_TextOnlyDisk)
        except (OSError, sqlite3.Error, diskcache.Timeout) as exc:
            with contextlib.suppress(Exception):
                self._cache.close()
            raise CacheError(f"cannot open cache at {self.directory}: {_one_line(exc)}") from None
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    def get(self, key: str) -> CachedAnswer | None:
        try:
            raw = self._cache.get(key, default=None)
        except (diskcache.Timeout, sqlite3.Error, OSError, ValueError):
            raw = None
        answer = _decode(raw)
        with self._lock:
            if answer is None:
                self._misses += 1
            else:
                self._hits += 1
        return answer

    def put(self, key: str, answer: CachedAnswer) -> None:
        payload = _encode(answer)
        for attempt in range(_PUT_ATTEMPTS):
            try:
                self._cache.set(key, payload)
                return
            except (diskcache.Timeout, sqlite3.OperationalError) as exc:
                # Another writer held the database past the SQLite timeout: back off
                # with jitter so the waiting processes do not retry in lock-step.
                if attempt == _PUT_ATTEMPTS - 1:
                    reason = _one_line(exc) if str(exc) else "database busy"
                    raise CacheError(
                        f"cannot write to cache at {self.directory}: {reason}"
                    ) from None
                time.sleep(0.05 * 2**attempt * (0.5 + random.random()))
            except (OSError, sqlite3.Error) as exc:
                raise CacheError(
                    f"cannot write to cache at {self.directory}: {_one_line(exc)}"
                ) from None

    def stats(self) -> CacheStats:
        try:
            entries, size = len(self._cache), self._cache.volume()
        except (diskcache.Timeout, sqlite3.Error, OSError) as exc:
            raise CacheError(f"cannot read cache at {self.directory}: {_one_line(exc)}") from None
        with self._lock:
            return CacheStats(int(entries), int(size), self.directory, self._hits, self._misses)

    def clear(self) -> int:
        """Remove every entry; the number removed."""
        try:
            return int(self._cache.clear(retry=True))
        except (sqlite3.Error, OSError) as exc:
            raise CacheError(f"cannot clear cache at {self.directory}: {_one_line(exc)}") from None

    def close(self) -> None:
        """Close this thread's connection (diskcache keeps one per thread)."""
        self._cache.close()

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _exists(directory: Path) -> bool:
    """Whether a cache lives at ``directory``, without creating anything."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise CacheError(f"cannot open cache at {directory}: not a directory")
    return (directory / _DB_NAME).is_file()


def cache_stats(directory: Path) -> CacheStats:
    """Stats of the cache at ``directory``; zero entries, creating nothing, if there is none."""
    if not _exists(directory):
        return CacheStats(0, 0, Path(directory))
    with AnswerCache(directory) as cache:
        return cache.stats()


def clear_cache(directory: Path) -> int:
    """Empty the cache at ``directory``; 0, creating nothing, if there is none."""
    if not _exists(directory):
        return 0
    with AnswerCache(directory) as cache:
        return cache.clear()

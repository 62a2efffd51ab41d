"""Reading, decoding and atomically writing source files.

A file is decoded with the encoding it declares (PEP 263 cookie or BOM for Python,
UTF-8 with optional BOM otherwise) and is only ever written back if encoding the
decoded text reproduces the original bytes exactly, so nothing outside an edit can
change: not the BOM, not CRLF line ends, not an unusual codec.
"""

from __future__ import annotations

import codecs
import contextlib
import io
import os
import re
import signal
import stat
import tempfile
import threading
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DecodedSource", "SourceError", "atomic_write", "decode_source", "read_source"]

DEFAULT_MAX_FILE_SIZE = 1024 * 1024
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=]", re.MULTILINE)


class SourceError(Exception):
    """A file that cannot be processed; the message is one line for the summary."""


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str
    data: bytes

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode_source(data: bytes, language: str) -> DecodedSource:
    """Decode ``data``; raise SourceError for binary or undecodable input."""
    if b"\0" in data:
        raise SourceError("binary file (contains NUL bytes)")
    if language == "python":
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as exc:
            if _COOKIE.search(b"\n".join(data.splitlines()[:2])):
                raise SourceError(f"bad encoding declaration: {exc.msg}") from None
            # No declaration, just bytes that are not UTF-8 on the first lines: let
            # the decoder below say where.
            encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    else:
        encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        declared = "declared " if language == "python" and encoding != "utf-8" else ""
        raise SourceError(
            f"not valid {declared}{encoding} (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r}") from None
    if text.encode(encoding) != data:
        raise SourceError(f"{encoding} does not round-trip this file byte for byte")
    return DecodedSource(text=text, encoding=encoding, data=data)


def read_source(path: Path, language: str, max_size: int = DEFAULT_MAX_FILE_SIZE) -> DecodedSource:
    try:
        size = path.stat().st_size
        if size > max_size:
            raise SourceError(f"larger than --max-file-size ({size} > {max_size} bytes)")
        data = path.read_bytes()
    except PermissionError:
        raise SourceError("permission denied") from None
    except FileNotFoundError:
        raise SourceError("does not exist") from None
    except IsADirectoryError:
        raise SourceError("is a directory") from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}") from None
    return decode_source(data, language)


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, so it can never land between creating
    the temporary file and renaming or removing it (the main thread only; signals are
    delivered there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            raise KeyboardInterrupt


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` via a temporary file in the same folder.

    The file mode of an existing file is kept; a reader sees either the old or the
    new content, never a half-written file, and Ctrl-C waits for the rename.
    """
    with _ctrl_c_deferred():
        _atomic_write(path, data)


def _atomic_write(path: Path, data: bytes) -> None:
    try:
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".codemod-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

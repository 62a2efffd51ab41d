"""Splicing edits into a text in one pass (the way ast-grep applies rewrites).

An edit replaces ``[start, end)`` of the original with ``text``; an insertion has
``start == end``. Edits are applied in order of position; several insertions at one
offset keep the order of their ``key``. Overlapping edits are a bug in the caller and
raise, so a file is never written with two snippets fighting over the same bytes.

A codemod that only inserts, and inserts a lot (one indentation unit per re-indented
line), can hand ``apply_insertions`` plain tuples instead: the same splice, without an
object per insertion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Edit", "Insertion", "OverlapError", "apply_edits", "apply_insertions", "utf8_offsets"]

T = TypeVar("T", str, bytes)
#: ``(offset, phase, rank, seq, text)``: ``text`` goes in at ``offset``; insertions
#: that share an offset are ordered by ``(phase, rank, seq)``, which must be unique
Insertion = tuple[int, int, float, int, T]


class OverlapError(ValueError):
    """Two edits claim the same part of the text."""


@dataclass(frozen=True)
class Edit(Generic[T]):
    start: int
    end: int
    text: T
    #: orders insertions that share an offset (smaller first)
    key: tuple[int | float, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad edit span [{self.start}, {self.end})")


def apply_edits(source: T, edits: Iterable[Edit[T]]) -> T:
    """Return ``source`` with every edit applied; bytes outside the edits are untouched."""
    ordered: Sequence[Edit[T]] = sorted(edits, key=lambda e: (e.start, e.end, e.key))
    if not ordered:
        return source
    pieces: list[T] = []
    cursor = 0
    for edit in ordered:
        if edit.end > len(source):
            raise OverlapError(f"edit [{edit.start}, {edit.end}) runs past the end")
        if edit.start < cursor:
            raise OverlapError(
                f"edit at {edit.start} overlaps the previous edit ending at {cursor}"
            )
        pieces.append(source[cursor : edit.start])
        pieces.append(edit.text)
        cursor = edit.end
    pieces.append(source[cursor:])
    return source[:0].join(pieces)


def apply_insertions(source: T, insertions: Iterable[Insertion[T]]) -> T:
    """``source`` with every insertion made; the result of ``apply_edits`` with
    ``Edit(offset, offset, text, key)`` for each, in one sort and one join."""
    ordered = sorted(insertions)  # unique keys: the texts are never compared
    if not ordered:
        return source
    offsets: list[int] = [item[0] for item in ordered]
    if offsets[0] < 0 or offsets[-1] > len(source):
        raise OverlapError(f"an insertion at {offsets[0]} or {offsets[-1]} is out of range")
    # The source between consecutive offsets, interleaved with the inserted texts.
    pieces: list[T] = [source[:0]] * (2 * len(ordered) + 1)
    ends: list[int | None] = [*offsets, None]
    pieces[0::2] = map(source.__getitem__, map(slice, [0, *offsets], ends))
    pieces[1::2] = [item[4] for item in ordered]
    return source[:0].join(pieces)


def utf8_offsets(text: str) -> Callable[[int], int]:
    """Map character offsets of ``text`` to byte offsets of ``text.encode('utf-8')``."""
    if text.isascii():
        return lambda offset: offset
    prefix = [0]
    # Byte length of each 4096-character chunk, so a lookup encodes < 4096 characters.
    for start in range(0, len(text), 4096):
        prefix.append(prefix[-1] + len(text[start : start + 4096].encode("utf-8", "surrogatepass")))

    def convert(offset: int) -> int:
        chunk, rest = divmod(offset, 4096)
        base = chunk * 4096
        return prefix[chunk] + len(text[base : base + rest].encode("utf-8", "surrogatepass"))

    return convert

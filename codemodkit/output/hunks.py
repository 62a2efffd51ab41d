"""Split an old -> new change into line hunks and rebuild a text from any subset of them.

Hunks come from a line diff without context, so they never overlap in the old text
and each applies on its own: the rebuilt text takes, between hunks, the old lines, and
at each hunk either its new lines (accepted) or its old lines (rejected).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from codemodkit.output.diff import _lines, _merged

__all__ = ["Hunk", "rebuild", "revert", "split_hunks"]


@dataclass(frozen=True)
class Hunk:
    """Old lines ``[old_start, old_end)`` become new lines ``[new_start, new_end)``
    (0-based line indexes; an empty old range is an insertion before ``old_start``)."""

    old_start: int
    old_end: int
    new_start: int
    new_end: int
    old_lines: tuple[str, ...]
    new_lines: tuple[str, ...]


def split_hunks(old: str, new: str) -> list[Hunk]:
    """The changes from ``old`` to ``new``, in file order."""
    a, b = _lines(old), _lines(new)
    return [
        Hunk(i1, i2, j1, j2, tuple(a[i1:i2]), tuple(b[j1:j2]))
        for tag, i1, i2, j1, j2 in _merged(Indel.opcodes(a, b))
        if tag != "equal"
    ]


def rebuild(old: str, hunks: Sequence[Hunk], accepted: Iterable[int]) -> str:
    """``old`` with the hunks whose indexes are in ``accepted`` applied."""
    chosen = set(accepted)
    a = _lines(old)
    out: list[str] = []
    at = 0
    for index, hunk in enumerate(hunks):
        out.extend(a[at : hunk.old_start])
        out.extend(hunk.new_lines if index in chosen else hunk.old_lines)
        at = hunk.old_end
    out.extend(a[at:])
    return "".join(out)


def revert(new: str, hunks: Sequence[Hunk], rejected: Iterable[int]) -> str:
    """``new`` with the hunks whose indexes are in ``rejected`` taken back."""
    chosen = set(rejected)
    b = _lines(new)
    out: list[str] = []
    at = 0
    for index, hunk in enumerate(hunks):
        out.extend(b[at : hunk.new_start])
        out.extend(hunk.old_lines if index in chosen else hunk.new_lines)
        at = hunk.new_end
    out.extend(b[at:])
    return "".join(out)

"""Files that changed code depends on, such as the telemetry helper.

A support file is written before the first file that needs it, so no instrumented
file ever exists without its helper; it is updated when this tool's version of it
differs, never overwritten if it is not ours, and removed when nothing uses it any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codemodkit.codemods.base import SupportFile
from codemodkit.sourcefile import atomic_write

__all__ = ["SupportAction", "SupportConflict", "SupportFiles"]


class SupportConflict(Exception):
    """A file of the same name exists and was not written by this tool."""


@dataclass(frozen=True)
class SupportAction:
    path: Path
    action: Literal["create", "update", "delete"]
    old: bytes | None
    new: bytes | None


class SupportFiles:
    def __init__(self, write: bool) -> None:
        self.write = write
        self._ensured: dict[Path, SupportAction | None] = {}
        self._released: dict[Path, SupportFile] = {}

    def ensure(self, support: SupportFile) -> SupportAction | None:
        """Make ``support`` exist with its content; the action taken, once per path."""
        if support.path in self._ensured:
            return None
        try:
            old: bytes | None = support.path.read_bytes()
        except FileNotFoundError:
            old = None
        except OSError as exc:
            raise SupportConflict(f"cannot read {support.path.name}: {exc.strerror}") from None
        action: SupportAction | None = None
        if old is None:
            action = SupportAction(support.path, "create", None, support.content)
        elif old != support.content:
            if support.marker not in old:
                raise SupportConflict(f"{support.path.name} exists and was not written by codemod")
            action = SupportAction(support.path, "update", old, support.content)
        if action is not None and self.write:
            atomic_write(support.path, support.content)
        self._ensured[support.path] = action
        return action

    def release(self, support: SupportFile) -> None:
        self._released[support.path] = support

    def remove_unused(self, in_use: Callable[[Path], bool]) -> Iterable[SupportAction]:
        """Delete released support files that are ours and that ``in_use`` says nothing needs."""
        for path, support in sorted(self._released.items()):
            try:
                old = path.read_bytes()
            except OSError:
                continue
            if support.marker not in old or in_use(path):
                continue
            if self.write:
                path.unlink()
            yield SupportAction(path, "delete", old, None)

"""Where the helper lives, how a module imports it, and what the module is called.

Rule (README: "Where the helper goes"):

* a module inside a regular package (its folder has ``__init__.py``) imports the
  helper from the *top-level* package of that chain with a relative import, so the
  helper ships with the package and works however the package is installed or run;
* any other file (loose script, module of a namespace package, top-level module)
  gets the helper beside it: ``from . import`` works when it is imported as part of
  a namespace package, and the ``import _telemetry_utils`` fallback works when it is
  run as a script (its folder is ``sys.path[0]``).

Module names and the paths recorded in telemetry are relative to the project root
(the nearest folder with ``pyproject.toml``, ``setup.py``, ``setup.cfg`` or ``.git``)
so they do not depend on how the tool was invoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .sites import HELPER_MODULE

__all__ = ["Placement", "PlacementResolver"]

_PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", ".git")
_PACKAGING = ("pyproject.toml", "setup.py", "setup.cfg")


@dataclass(frozen=True)
class Placement:
    #: the helper file this module imports
    helper: Path
    #: leading dots of ``from <dots> import _telemetry_utils``
    dots: str
    #: dotted module name used in qualified names
    module: str
    #: path recorded as ``code.file.path`` (POSIX, relative to the project root)
    relpath: str
    #: set for a top-level module of a packaged project: setuptools does not ship
    #: ``_*`` modules, so the helper beside it will not be installed with it
    warning: str | None = None


class PlacementResolver:
    """Answers placement questions for one run, caching what it learns about folders."""

    def __init__(self) -> None:
        self._roots: dict[Path, Path | None] = {}
        self._packages: dict[Path, bool] = {}

    def project_root(self, folder: Path) -> Path | None:
        if folder not in self._roots:
            found = None
            for candidate in (folder, *folder.parents):
                if any((candidate / marker).exists() for marker in _PROJECT_MARKERS):
                    found = candidate
                    break
                # Inside a package, a file called setup.py is just a module.
                if (candidate / "setup.py").is_file() and not self.is_package(candidate):
                    found = candidate
                    break
            self._roots[folder] = found
        return self._roots[folder]

    def is_package(self, folder: Path) -> bool:
        if folder not in self._packages:
            self._packages[folder] = (folder / "__init__.py").is_file()
        return self._packages[folder]

    def placement(self, path: Path, fallback_root: Path) -> Placement:
        """Placement for the (absolute) Python file ``path``; ``fallback_root`` is used
        for files outside any project."""
        folder = path.parent
        root = self.project_root(folder) or fallback_root
        chain: list[Path] = []
        current = folder
        # A stray __init__.py in the project root or in src/ does not make them part of
        # the installed package: the chain of packages stops there.
        boundary = {root, root / "src"} if self.project_root(folder) else set()
        while current != current.parent and current not in boundary and self.is_package(current):
            chain.append(current)
            current = current.parent
        helper_dir = chain[-1] if chain else folder
        dots = "." * len(chain) if chain else "."
        source_root = root / "src" if (root / "src") in path.parents else root
        try:
            parts = list(path.relative_to(source_root).with_suffix("").parts)
        except ValueError:
            parts = [p.name for p in reversed(chain)] + [path.stem]
        if parts and parts[-1] == "__init__":
            parts.pop()
        try:
            relpath = path.relative_to(root).as_posix()
        except ValueError:
            relpath = path.name
        warning = None
        packaged = any((root / m).is_file() for m in _PACKAGING)
        if not chain and folder in (root, root / "src") and packaged:
            warning = (
                f"top-level module of a packaged project: {HELPER_MODULE}.py is not installed "
                "with it (setuptools skips '_*' modules); list it in py-modules to ship it"
            )
        return Placement(
            helper=helper_dir / f"{HELPER_MODULE}.py",
            dots=dots,
            module=".".join(parts) or path.stem,
            relpath=relpath,
            warning=warning,
        )


def helper_users(helper: Path) -> list[Path]:
    """Python files that may import ``helper``: its package tree, or its folder's files."""
    folder = helper.parent
    if (folder / "__init__.py").is_file():
        found = [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    else:
        found = list(folder.glob("*.py"))
    return [p for p in found if p != helper]

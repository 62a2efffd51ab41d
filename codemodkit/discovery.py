"""Which files a command works on.

Files come from the given paths (files or folders). Folders are walked without
following symlinks; ``.gitignore`` files (in the tree and in its ancestors up to the
repository root) are honoured with git's semantics via pathspec; default excludes
cover VCS folders, virtualenvs, dependency and build output, caches and test files.
The same rules apply to files named on the command line, so a pre-commit hook that
passes every staged file never touches a test or a vendored file. The tool's own
helpers (``_telemetry_utils.*``) are always skipped, wherever they are.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

__all__ = [
    "LANGUAGES",
    "Candidate",
    "DiscoveryOptions",
    "DiscoveryResult",
    "Problem",
    "discover",
    "display_path",
]

LANGUAGES: dict[str, str] = {
    ".py": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "typescript",
}

HELPER_STEM = "_telemetry_utils"

EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "node_modules",
        "__pycache__",
        "build",
        "dist",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "site-packages",
        "__pypackages__",
        # JavaScript: dependencies, coverage reports and framework build caches
        "bower_components",
        "jspm_packages",
        "coverage",
        ".next",
        ".nuxt",
        ".svelte-kit",
        ".turbo",
        ".parcel-cache",
        ".yarn",
    }
)
TEST_DIRS = frozenset({"tests", "test", "__tests__"})
TEST_FILES = ("test_*.py", "*_test.py", "conftest.py", "*.test.*", "*.spec.*")
#: minified and bundled JavaScript by name (by content: ``skip_reason`` in the JS codemod)
MINIFIED_FILES = ("*.min.js", "*.min.mjs", "*.min.cjs", "*-min.js", "*.bundle.js", "*.chunk.js")


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class Candidate:
    path: Path  # absolute, symlinks not resolved
    display: str
    language: str
    #: the folder the user named (or the file's folder), for relative reporting
    root: Path


@dataclass(frozen=True)
class Problem:
    """A path that was not processed, with one line for the summary."""

    display: str
    reason: str
    #: failures make the run exit 1; skips are reported but are not errors
    failed: bool = False


@dataclass(frozen=True)
class DiscoveryOptions:
    languages: frozenset[str] = frozenset(LANGUAGES.values())
    exclude: Sequence[str] = ()
    include_tests: bool = False
    respect_gitignore: bool = True


@dataclass
class DiscoveryResult:
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: quiet skips by reason ("excluded", "gitignored", "test file", ...)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


class _Ignores:
    """``.gitignore`` files that apply to a folder, shallowest first."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def spec(self, folder: Path) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            spec = None
            for name in (".gitignore", ".git/info/exclude"):
                ignore_file = folder / name
                if ignore_file.is_file():
                    try:
                        lines = ignore_file.read_text(
                            encoding="utf-8", errors="replace"
                        ).splitlines()
                    except OSError:
                        continue
                    extra = pathspec.GitIgnoreSpec.from_lines(lines)
                    spec = extra if spec is None else spec + extra
            self._specs[folder] = spec
        return self._specs[folder]

    def ignored(self, path: Path, is_dir: bool, top: Path) -> bool:
        """Is ``path`` ignored by a .gitignore in ``top`` or any folder between?"""
        folders = [p for p in path.parents if p == top or top in p.parents]
        verdict = False
        for folder in reversed(folders):  # shallowest first; deeper files override
            spec = self.spec(folder)
            if spec is None:
                continue
            rel = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
            result = spec.check_file(rel)
            if result.include is not None:
                verdict = result.include
        return verdict


def _repository_top(folder: Path) -> Path:
    """The folder whose .gitignore files apply: the repository root, if any."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "package.json")


def _explicit_base(path: Path, top: Path) -> Path:
    """The folder whose subfolders' rules apply to a file named explicitly."""
    if (top / ".git").exists() and top in path.parents:
        return top
    for candidate in path.parents:
        if any((candidate / marker).exists() for marker in _PROJECT_MARKERS):
            return candidate
    cwd = Path.cwd()
    return cwd if cwd in path.parents else path.parent


_TS_SOURCES = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def _compiled_from_typescript(path: Path) -> bool:
    """A ``.js`` file beside a ``.ts`` of the same name is tsc's output, not source."""
    return any(path.with_suffix(s).is_file() for s in _TS_SOURCES.get(path.suffix, ()))


def _is_virtualenv(folder: Path) -> bool:
    return (folder / "pyvenv.cfg").is_file()


class _Walker:
    def __init__(self, options: DiscoveryOptions, result: DiscoveryResult) -> None:
        self.options = options
        self.result = result
        self.ignores = _Ignores()
        self.seen: set[Path] = set()
        self.seen_skips: set[Path] = set()
        self.user_spec = (
            pathspec.GitIgnoreSpec.from_lines(options.exclude) if options.exclude else None
        )
        # For files named one by one (a pre-commit hook passes hundreds): what their
        # folder gets from its ancestors is looked up once per folder, not per file.
        self.tops: dict[Path, Path] = {}
        self.folder_rules: dict[tuple[Path, Path], tuple[Path, str | None]] = {}

    def excluded_by_user(self, rel: str) -> bool:
        return self.user_spec is not None and self.user_spec.match_file(rel)

    def dir_reason(self, folder: Path, rel: str, top: Path) -> str | None:
        name = folder.name
        if name in EXCLUDED_DIRS or name.endswith(".egg-info") or _is_virtualenv(folder):
            return "excluded folder"
        if not self.options.include_tests and name in TEST_DIRS:
            return "test file"
        if self.excluded_by_user(rel + "/"):
            return "--exclude"
        if self.options.respect_gitignore and self.ignores.ignored(folder, True, top):
            return ".gitignore"
        return None

    def file_reason(self, path: Path, rel: str, top: Path) -> str | None:
        name = path.name
        stem = name.split(".", 1)[0]
        if stem == HELPER_STEM:
            return "telemetry helper"
        suffix = path.suffix
        language = LANGUAGES.get(suffix)
        if language is None or language not in self.options.languages:
            return "not a supported file type"
        if name.endswith((".d.ts", ".d.mts", ".d.cts")):
            return "declaration file"
        if language == "javascript":
            if any(fnmatch.fnmatchcase(name, p) for p in MINIFIED_FILES):
                return "minified or bundled"
            if _compiled_from_typescript(path):
                return "compiled from TypeScript"
        if not self.options.include_tests and any(fnmatch.fnmatchcase(name, p) for p in TEST_FILES):
            return "test file"
        if self.excluded_by_user(rel):
            return "--exclude"
        if self.options.respect_gitignore and self.ignores.ignored(path, False, top):
            return ".gitignore"
        return None

    def explicit_reason(self, path: Path, top: Path) -> str | None:
        """A file named on the command line gets the folder rules of its ancestors too,
        from the repository (or project, or working folder) it belongs to."""
        key = (path.parent, top)
        if key not in self.folder_rules:
            base = _explicit_base(path, top)
            reason = None
            for folder in reversed(path.parents):
                if folder == base or base not in folder.parents:
                    continue
                reason = self.dir_reason(folder, _relative(folder, base), top)
                if reason is not None:
                    break
            self.folder_rules[key] = (base, reason)
        base, reason = self.folder_rules[key]
        if reason is not None:
            return reason
        return self.file_reason(path, _relative(path, base), top)

    def symlink_problem(self, path: Path, top: Path) -> Problem:
        display = display_path(path)
        try:
            target = path.resolve(strict=True)
        except RuntimeError:
            return Problem(display, "symlink loop")
        except OSError:
            return Problem(display, "broken symlink")
        if target != top and top.resolve() not in target.parents:
            return Problem(display, f"symlink pointing outside the tree ({target})")
        return Problem(display, "symlink (its target is processed where it lives)")

    def skip(self, path: Path, reason: str) -> None:
        """Count a quiet skip once, however many arguments reach the path."""
        key = Path(os.path.abspath(path))
        if key not in self.seen_skips:
            self.seen_skips.add(key)
            self.result.skip(reason)

    def add(self, path: Path, root: Path) -> None:
        key = path.resolve()
        if key in self.seen:
            return
        self.seen.add(key)
        self.result.candidates.append(
            Candidate(
                path=path, display=display_path(path), language=LANGUAGES[path.suffix], root=root
            )
        )

    def file(self, path: Path, top: Path, root: Path) -> None:
        rel = _relative(path, root)
        reason = self.file_reason(path, rel, top)
        if reason is None:
            self.add(path, root)
        elif reason != "not a supported file type":
            self.skip(path, reason)

    def folder(self, root: Path) -> None:
        top = _repository_top(root)
        for current, dirs, files in os.walk(root, followlinks=False, onerror=self.walk_error):
            here = Path(current)
            kept = []
            for name in sorted(dirs):
                sub = here / name
                if sub.is_symlink():
                    problem = self.symlink_problem(sub, root)
                    if "processed where it lives" not in problem.reason:
                        self.result.problems.append(problem)
                    else:
                        self.skip(sub, "symlink")
                    continue
                reason = self.dir_reason(sub, _relative(sub, root), top)
                if reason is None:
                    kept.append(name)
                else:
                    self.skip(sub, reason)
            dirs[:] = kept
            for name in sorted(files):
                path = here / name
                if path.is_symlink():
                    if path.suffix in LANGUAGES:
                        problem = self.symlink_problem(path, root)
                        if "processed where it lives" in problem.reason:
                            self.skip(path, "symlink")
                        else:
                            self.result.problems.append(problem)
                    continue
                self.file(path, top, root)

    def walk_error(self, error: OSError) -> None:
        where = Path(error.filename) if error.filename else Path("?")
        self.result.problems.append(
            Problem(display_path(where), f"cannot read folder: {error.strerror}", failed=True)
        )

    def argument(self, raw: Path) -> None:
        path = Path(os.path.abspath(raw))
        if path.is_symlink():
            problem = self.symlink_problem(path, path.parent)
            if problem.reason in ("symlink loop", "broken symlink"):
                self.result.problems.append(Problem(problem.display, problem.reason, failed=True))
                return
            # A symlink named explicitly is what the user asked for: follow it.
            path = path.resolve()
        if not path.exists():
            self.result.problems.append(Problem(display_path(path), "does not exist", failed=True))
            return
        if path.is_dir():
            self.folder(path)
            return
        if path.parent not in self.tops:
            self.tops[path.parent] = _repository_top(path.parent)
        reason = self.explicit_reason(path, self.tops[path.parent])
        if reason == "not a supported file type" or reason is not None:
            self.result.problems.append(Problem(display_path(path), reason))
        else:
            self.add(path, path.parent)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def discover(paths: Iterable[str | Path], options: DiscoveryOptions) -> DiscoveryResult:
    result = DiscoveryResult()
    walker = _Walker(options, result)
    for raw in paths:
        walker.argument(Path(raw))
    result.problems = list(dict.fromkeys(result.problems))  # overlapping arguments
    return result

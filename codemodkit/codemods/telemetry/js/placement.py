"""Where the JavaScript/TypeScript helper lives, in which flavor, and how a file imports it.

Rule (README: "Where the JavaScript/TypeScript helper goes"), decided per project:

* **A TypeScript program** (the nearest ``tsconfig.json`` above the file; ``extends``
  followed) gets its helper in its *source root*: ``rootDir`` when set, else the
  common folder of ``include`` (or ``files``), else the common folder of the sources
  below the config. Inside the source root it is part of the program (no TS6059) and
  ``tsc`` emits it into ``outDir`` beside the code. Without ``allowJs`` it is
  ``_telemetry_utils.ts``; with ``allowJs`` it is ``_telemetry_utils.js`` (the JS
  flavours start with ``// @ts-nocheck``), which tsc emits like any JavaScript file
  and which also works where the JavaScript runs as it is (``noEmit``,
  ``emitDeclarationOnly``). No ``.d.ts`` goes beside it: a ``.d.ts`` hides a ``.js``
  reached through imports from tsc, which then never emits it.
* **Plain JavaScript** gets ``_telemetry_utils.js`` in the module syntax of the
  nearest ``package.json`` (``"type": "module"`` -> ESM, else CommonJS), in the
  top-level folder of the package that holds the file (``src/``, ``lib/`` ...), or the
  package folder itself for files directly in it; beside the file when there is no
  ``package.json``.

Either way a file whose module system differs from that helper's (``.cjs``/``.cts`` in
an ESM package, ``.mjs``/``.mts`` in a CommonJS one, ``import`` syntax in a ``.js`` file
of a CommonJS package, as bundlers read it) gets ``_telemetry_utils.cjs``/``.mjs`` (or
``.cts``/``.mts``) beside it instead: ``require()`` of an ES module works only from
Node 20.19 on.

A file's module system: ``.mjs``/``.mts`` ESM, ``.cjs``/``.cts`` CommonJS; in a
TypeScript program whose ``module`` is ``node16``...``nodenext`` the package's
``type``, under ``commonjs`` (or no ``module`` with an ES5 target) CommonJS, under any
other ``module`` ESM; elsewhere the package's ``type``, and a ``.js`` file that uses
``import``/``export`` is ESM. ESM files import the helper with ``import * as
_codemod_tel from "./rel/_telemetry_utils.js"`` (TypeScript resolves the ``.js`` to the
``.ts``), CommonJS JavaScript with ``const _codemod_tel = require(...)``, CommonJS
TypeScript under ``verbatimModuleSyntax`` with ``import _codemod_tel = require(...)``
(``.cts`` files: below). A CommonJS TypeScript helper under ``verbatimModuleSyntax``
(which rejects ``export`` in CommonJS) or ``module: preserve`` (which emits ``export``
as it is, into a ``.cjs`` too) is the ``"ts-cjs"`` flavour, ending in ``export =``.

A ``.cts`` file is CommonJS whatever ``module`` says (tsc 5.9 emits it so under every
setting but ``amd``/``umd``/``system``, which wrap every file, and ``preserve``, which
keeps what is written), but what it may write depends on ``module`` (``_cts_import``):
``import x = require()`` under ``node16``...``nodenext``, ``commonjs``,
``amd``/``umd``/``system``, ``none`` and ``preserve``; under ``es2015``...``esnext``
that is TS1202 and it uses ``import * as``, except under ``verbatimModuleSyntax``,
where ``import`` is TS1286 too and only a ``require()`` call is left: ``const
_codemod_tel: typeof import(...) = require(...)``, which needs Node's types
(``@types/node`` declares ``require``). Without them the file is skipped.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .runtime import Flavor
from .sites import HELPER_ALIAS, HELPER_MODULE

__all__ = ["ImportKind", "JsPlacement", "JsPlacementResolver", "import_statement", "read_jsonc"]

Format = Literal["esm", "cjs"]
#: how a TypeScript program decides a file's module system: by extension and
#: package.json ("node": node16 ... nodenext), or the same for every file
ModuleKind = Literal["node", "esm", "cjs"]
#: ``typed-require``: ``const x: typeof import(spec) = require(spec);``
ImportKind = Literal["import", "require", "import-require", "typed-require"]
#: ``module`` values under which tsc rejects ``import x = require()`` (TS1202)
_ES_MODULES = frozenset({"es6", "es2015", "es2020", "es2022", "esnext"})

_TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
_JS_SUFFIXES = (".js", ".jsx", ".mjs", ".cjs")
_SKIP_DIRS = frozenset({"node_modules", ".git", "dist", "build", "coverage", "out", "lib-cov"})
_GLOB = re.compile(r"[*?\[{]")


@dataclass(frozen=True)
class JsPlacement:
    #: the helper file and its flavor
    helper: Path
    flavor: Flavor
    #: the import or require statement the file gets
    statement: str
    #: path recorded in site keys (POSIX, relative to the project root)
    relpath: str
    #: why the file cannot import the helper at all (then it is not instrumented)
    skip: str | None = None


def import_statement(kind: ImportKind, spec: str) -> str:
    literal = json.dumps(spec)
    if kind == "import":
        return f"import * as {HELPER_ALIAS} from {literal};"
    if kind == "require":
        return f"const {HELPER_ALIAS} = require({literal});"
    if kind == "typed-require":
        return f"const {HELPER_ALIAS}: typeof import({literal}) = require({literal});"
    return f"import {HELPER_ALIAS} = require({literal});"


def read_jsonc(path: Path) -> dict[str, Any]:
    """A JSON file that may have comments and trailing commas (tsconfig.json)."""
    text = path.read_text(encoding="utf-8-sig")
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i == -1 else i
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
        else:
            out.append(ch)
            i += 1
    cleaned = re.sub(r",(\s*[}\]])", r"\1", "".join(out))
    data = json.loads(cleaned)
    return data if isinstance(data, dict) else {}


@dataclass(frozen=True)
class _TsProgram:
    config: Path
    source_root: Path
    allow_js: bool
    verbatim: bool
    module: ModuleKind
    #: how a .cts file imports the helper; None: it cannot (see CTS_SKIP)
    cts_import: ImportKind | None
    #: ``module: preserve`` emits ``export`` as written, into .cjs files too
    preserve: bool


class JsPlacementResolver:
    """Answers placement questions for one run, caching what it learns about folders."""

    def __init__(self) -> None:
        self._packages: dict[Path, Path | None] = {}
        self._types: dict[Path, Format] = {}
        self._configs: dict[Path, Path | None] = {}
        self._programs: dict[Path, _TsProgram | None] = {}

    # -- package.json ------------------------------------------------------------------
    def package(self, folder: Path) -> Path | None:
        """The nearest folder with a package.json (not inside node_modules)."""
        if folder not in self._packages:
            found = None
            if (folder / "package.json").is_file():
                found = folder
            elif folder.parent != folder:
                found = self.package(folder.parent)
            self._packages[folder] = found
        return self._packages[folder]

    def package_type(self, package: Path | None) -> Format:
        if package is None:
            return "cjs"
        if package not in self._types:
            try:
                data = json.loads((package / "package.json").read_text(encoding="utf-8-sig"))
            except (OSError, ValueError):
                data = {}
            kind = data.get("type") if isinstance(data, dict) else None
            self._types[package] = "esm" if kind == "module" else "cjs"
        return self._types[package]

    # -- tsconfig.json -----------------------------------------------------------------
    def tsconfig(self, folder: Path) -> Path | None:
        if folder not in self._configs:
            found = None
            if (folder / "tsconfig.json").is_file():
                found = folder / "tsconfig.json"
            elif folder.parent != folder and folder.name != "node_modules":
                found = self.tsconfig(folder.parent)
            self._configs[folder] = found
        return self._configs[folder]

    def program(self, config: Path) -> _TsProgram | None:
        if config not in self._programs:
            try:
                self._programs[config] = self._read_program(config)
            except (OSError, ValueError, RecursionError):
                self._programs[config] = None
        return self._programs[config]

    def _read_program(self, config: Path) -> _TsProgram:
        options: dict[str, Any] = {}
        # top-level keys keep the folder of the config that set them (paths are relative)
        top: dict[str, tuple[Any, Path]] = {}
        chain = _extends_chain(config)
        for path in reversed(chain):
            data = read_jsonc(path)
            compiler = data.get("compilerOptions")
            if isinstance(compiler, dict):
                for key, value in compiler.items():
                    if key in ("rootDir", "outDir") and isinstance(value, str):
                        value = str((path.parent / value).resolve())
                    elif key == "typeRoots" and isinstance(value, list):
                        value = [str((path.parent / str(v)).resolve()) for v in value]
                    options[key] = value
            for key in ("include", "files", "exclude"):
                if key in data:
                    top[key] = (data[key], path.parent)
        allow_js = bool(options.get("allowJs"))
        root = self._source_root(config, options, top, allow_js)
        verbatim = bool(options.get("verbatimModuleSyntax"))
        return _TsProgram(
            config=config,
            source_root=root,
            allow_js=allow_js,
            verbatim=verbatim,
            module=_module_kind(options),
            cts_import=_cts_import(config, options, verbatim),
            preserve=str(options.get("module", "")).lower() == "preserve",
        )

    def _source_root(
        self,
        config: Path,
        options: dict[str, Any],
        top: dict[str, tuple[Any, Path]],
        allow_js: bool,
    ) -> Path:
        if isinstance(options.get("rootDir"), str):
            return Path(options["rootDir"])
        folders: list[Path] = []
        if "include" in top and isinstance(top["include"][0], list):
            patterns, base = top["include"]
            folders = [_literal_folder(base, str(p)) for p in patterns]
        elif "files" in top and isinstance(top["files"][0], list):
            files, base = top["files"]
            folders = [(base / str(f)).resolve().parent for f in files]
        if folders:
            return Path(os.path.commonpath([str(f) for f in folders]))
        out = options.get("outDir")
        # with allowJs, JavaScript files are sources too (and count for tsc's root)
        suffixes = _TS_SUFFIXES + _JS_SUFFIXES if allow_js else _TS_SUFFIXES
        out_dir = Path(out) if isinstance(out, str) else None
        return _common_source_folder(config.parent, out_dir, suffixes)

    # -- the decision ------------------------------------------------------------------
    def file_format(self, path: Path, package_format: Format, esm_syntax: bool) -> Format:
        suffix = path.suffix
        if suffix in (".mjs", ".mts"):
            return "esm"
        if suffix in (".cjs", ".cts"):
            return "cjs"
        if package_format == "esm" or suffix in (".jsx", ".tsx"):
            return "esm"
        if suffix in (".ts",):
            return "cjs"
        return "esm" if esm_syntax else "cjs"

    def program_format(self, program: _TsProgram, path: Path, esm_syntax: bool) -> Format:
        """The module system of ``path`` in ``program``."""
        if path.suffix in (".mjs", ".mts"):
            return "esm"
        if path.suffix in (".cjs", ".cts"):
            return "cjs"
        if program.module == "node":  # tsc decides as Node does
            return self.package_type(self.package(path.parent))
        if path.suffix in _TS_SUFFIXES:
            return program.module
        # JavaScript that tsc only checks or a bundler reads: its own syntax decides
        return "esm" if esm_syntax else program.module

    def placement(self, path: Path, fallback_root: Path, esm_syntax: bool) -> JsPlacement:
        """Placement for the (absolute) file ``path``; ``esm_syntax``: does it have
        top-level ``import``/``export`` statements?"""
        folder = path.parent
        package = self.package(folder)
        package_format = self.package_type(package)
        root = package or _git_root(folder) or fallback_root
        try:
            relpath = path.relative_to(root).as_posix()
        except ValueError:
            relpath = path.name
        is_ts = path.suffix in _TS_SUFFIXES
        config = self.tsconfig(folder)
        program = self.program(config) if config is not None else None
        in_program = (
            program is not None
            and (is_ts or program.allow_js)
            and (program.source_root == folder or program.source_root in path.parents)
        )
        if program is not None and in_program:
            return self._program_placement(program, path, esm_syntax, relpath)
        # Plain JavaScript (or TypeScript that no tsconfig covers).
        file_format = self.file_format(path, package_format, esm_syntax)
        helper_dir = _top_folder(folder, package) if package is not None else folder
        if file_format == package_format:
            name = f"{HELPER_MODULE}.js"
        else:
            name = f"{HELPER_MODULE}.{'mjs' if file_format == 'esm' else 'cjs'}"
        spec = _specifier(folder, helper_dir, name)
        kind: ImportKind
        if is_ts:
            helper_flavor: Flavor = "ts"
            helper = helper_dir / f"{HELPER_MODULE}.ts"
            ts_spec = _specifier(folder, helper_dir, f"{HELPER_MODULE}.js")
            kind = "import-require" if path.suffix == ".cts" else "import"
            statement = import_statement(kind, ts_spec)
        else:
            helper_flavor = file_format
            helper = helper_dir / name
            statement = import_statement("import" if file_format == "esm" else "require", spec)
        return JsPlacement(helper, helper_flavor, statement, relpath)

    def _program_placement(
        self, program: _TsProgram, path: Path, esm_syntax: bool, relpath: str
    ) -> JsPlacement:
        root = program.source_root
        # the helper's own module system: that of a .ts (or .js) file in the source root
        home = self.program_format(program, root / f"{HELPER_MODULE}.ts", False)
        file_format = self.program_format(program, path, esm_syntax)
        language = "js" if program.allow_js else "ts"
        # a file in the other module system gets a .cjs/.mjs (.cts/.mts) helper of its own
        extension = "" if file_format == home else {"cjs": "c", "esm": "m"}[file_format]
        helper = root / f"{HELPER_MODULE}.{extension}{language}"
        spec = _specifier(path.parent, root, f"{HELPER_MODULE}.{extension}js")
        flavor: Flavor
        if language == "js":
            flavor = file_format
        else:  # verbatimModuleSyntax rejects `export` in a CommonJS TypeScript file, and
            # preserve would emit it as it is into the .cjs
            cjs_exports = program.verbatim or program.preserve
            flavor = "ts-cjs" if file_format == "cjs" and cjs_exports else "ts"
        kind: ImportKind
        if path.suffix == ".cts":
            if program.cts_import is None:
                return JsPlacement(helper, flavor, "", relpath, skip=CTS_SKIP)
            kind = program.cts_import
        elif path.suffix in _TS_SUFFIXES:
            kind = "import-require" if file_format == "cjs" and program.verbatim else "import"
        else:  # never a require() in a file written with import (tsc converts it)
            kind = "import" if file_format == "esm" or esm_syntax else "require"
        return JsPlacement(helper, flavor, import_statement(kind, spec), relpath)


def _specifier(importer: Path, helper_dir: Path, name: str) -> str:
    rel = posixpath.relpath(helper_dir.as_posix(), importer.as_posix())
    if rel == ".":
        return f"./{name}"
    return f"{rel}/{name}" if rel.startswith("..") else f"./{rel}/{name}"


def _top_folder(folder: Path, package: Path) -> Path:
    """The folder directly below ``package`` that holds ``folder`` (or ``package``)."""
    try:
        parts = folder.relative_to(package).parts
    except ValueError:
        return folder
    return package / parts[0] if parts else package


def _git_root(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _extends_chain(config: Path) -> list[Path]:
    """``config`` and the configs it extends, nearest first (relative paths and
    packages in node_modules)."""
    chain = [config]
    seen = {config}
    current = config
    while True:
        data = read_jsonc(current)
        parent = data.get("extends")
        if isinstance(parent, list):
            parent = parent[-1] if parent else None
        if not isinstance(parent, str):
            return chain
        found = _resolve_extends(current.parent, parent)
        if found is None or found in seen:
            return chain
        chain.append(found)
        seen.add(found)
        current = found


def _resolve_extends(folder: Path, spec: str) -> Path | None:
    candidates: list[Path] = []
    if spec.startswith((".", "/")):
        base = (folder / spec).resolve()
        candidates = [base, base.with_name(base.name + ".json")]
    else:
        for parent in (folder, *folder.parents):
            base = parent / "node_modules" / spec
            candidates.extend([base, base.with_name(base.name + ".json"), base / "tsconfig.json"])
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return None


def _literal_folder(base: Path, pattern: str) -> Path:
    """The folder an ``include`` pattern starts from (``src/**/*`` -> ``src``)."""
    parts: list[str] = []
    segments = pattern.replace("\\", "/").split("/")
    for index, part in enumerate(segments):
        if _GLOB.search(part) or (index == len(segments) - 1 and "." in part):
            break
        parts.append(part)
    return (base.joinpath(*parts) if parts else base).resolve()


CTS_SKIP = (
    "a .cts file under an ES `module` with verbatimModuleSyntax can import only with "
    "require() (`import` is TS1286 there, `import =` TS1202), and `require` is not "
    "declared: add Node's types (@types/node) to instrument it"
)


def _cts_import(config: Path, options: dict[str, Any], verbatim: bool) -> ImportKind | None:
    """How a ``.cts`` file (CommonJS under every ``module``) imports the helper."""
    module = str(options.get("module", "")).lower()
    if not module:  # tsc's default: commonjs for an ES3/ES5 target, es2015 else
        target = str(options.get("target", "es5")).lower()
        module = "commonjs" if target in ("es3", "es5") else "es2015"
    if module not in _ES_MODULES:
        return "import-require"
    if not verbatim:
        return "import"
    return "typed-require" if _sees_node_types(config.parent, options) else None


def _sees_node_types(folder: Path, options: dict[str, Any]) -> bool:
    """Does the program have ``@types/node`` (which declares ``require``)?"""
    types = options.get("types")
    if isinstance(types, list):  # only these; a listed one that is missing is TS2688
        return "node" in types
    roots = options.get("typeRoots")
    if isinstance(roots, list):
        return any((Path(str(root)) / "node").is_dir() for root in roots)
    return any((f / "node_modules" / "@types" / "node").is_dir() for f in (folder, *folder.parents))


def _module_kind(options: dict[str, Any]) -> ModuleKind:
    module = str(options.get("module", "")).lower()
    if module.startswith("node"):  # node16, node18, node20, nodenext
        return "node"
    if module in ("commonjs", "amd", "umd", "system"):
        return "cjs"
    if module:  # es2015 ... esnext, preserve
        return "esm"
    # tsc's default module is commonjs for an ES3/ES5 target (its default) and es2015 else
    target = str(options.get("target", "es5")).lower()
    return "cjs" if target in ("es3", "es5") else "esm"


def _common_source_folder(top: Path, out_dir: Path | None, suffixes: tuple[str, ...]) -> Path:
    """The common folder of the sources below ``top`` (tsc's default root)."""
    folders: list[str] = []
    for current, dirs, files in os.walk(top):
        here = Path(current)
        dirs[:] = [
            d
            for d in dirs
            if d not in _SKIP_DIRS and not d.startswith(".") and (here / d) != out_dir
        ]
        if any(f.endswith(suffixes) and not _is_declaration(f) for f in files):
            folders.append(current)
    return Path(os.path.commonpath(folders)) if folders else top


def _is_declaration(name: str) -> bool:
    return name.endswith((".d.ts", ".d.mts", ".d.cts"))

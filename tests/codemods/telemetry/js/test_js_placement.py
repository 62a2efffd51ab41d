"""Where the JS/TS helper goes, which flavor it has, and how each file imports it."""

from __future__ import annotations

import json
from pathlib import Path

from codemodkit.codemods.telemetry.js.codemod import instrument_text, strip_text, uses_esm_syntax
from codemodkit.codemods.telemetry.js.placement import JsPlacementResolver, read_jsonc
from codemodkit.parsers.javascript import dialect_for, parse_js


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _esm(path: Path) -> bool:
    return uses_esm_syntax(parse_js(path.read_text(), dialect_for(path.suffix)))


def _place(root: Path, name: str) -> tuple[str, str, str]:
    path = root / name
    found = JsPlacementResolver().placement(path, root, _esm(path))
    return found.helper.relative_to(root).as_posix(), found.flavor, found.statement


def test_esm_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": json.dumps({"type": "module"}),
            "index.js": "export const a = 1;\n",
            "src/a.js": "export const a = 1;\n",
            "src/deep/b.js": "export const b = 1;\n",
            "src/legacy.cjs": "module.exports = 1;\n",
        },
    )
    assert _place(tmp_path, "index.js") == (
        "_telemetry_utils.js",
        "esm",
        'import * as _codemod_tel from "./_telemetry_utils.js";',
    )
    assert _place(tmp_path, "src/deep/b.js") == (
        "src/_telemetry_utils.js",
        "esm",
        'import * as _codemod_tel from "../_telemetry_utils.js";',
    )
    assert _place(tmp_path, "src/legacy.cjs") == (
        "src/_telemetry_utils.cjs",
        "cjs",
        'const _codemod_tel = require("./_telemetry_utils.cjs");',
    )


def test_commonjs_package(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": "{}",
            "lib/a.js": "module.exports = 1;\n",
            "lib/b.mjs": "export default 1;\n",
            "lib/bundled.js": "import x from './x.js';\nexport default x;\n",
        },
    )
    assert _place(tmp_path, "lib/a.js") == (
        "lib/_telemetry_utils.js",
        "cjs",
        'const _codemod_tel = require("./_telemetry_utils.js");',
    )
    assert _place(tmp_path, "lib/b.mjs")[:2] == ("lib/_telemetry_utils.mjs", "esm")
    assert _place(tmp_path, "lib/bundled.js")[2].endswith('from "./_telemetry_utils.mjs";')


def test_loose_file_gets_the_helper_beside_it(tmp_path: Path) -> None:
    _write(tmp_path, {"tools/run.js": "console.log(1);\n"})
    assert _place(tmp_path, "tools/run.js")[:2] == ("tools/_telemetry_utils.js", "cjs")


def test_typescript_root_dir(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": json.dumps({"type": "module"}),
            "tsconfig.json": (
                "{\n  // comments and trailing commas are fine\n"
                '  "compilerOptions": {"rootDir": "./src", "outDir": "dist",},\n}\n'
            ),
            "src/a.ts": "export const a = 1;\n",
            "src/deep/b.ts": "export const b = 1;\n",
        },
    )
    assert _place(tmp_path, "src/deep/b.ts") == (
        "src/_telemetry_utils.ts",
        "ts",
        'import * as _codemod_tel from "../_telemetry_utils.js";',
    )


def test_typescript_include_and_extends(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": "{}",
            "configs/base.json": json.dumps({"compilerOptions": {"strict": True}}),
            "tsconfig.json": json.dumps(
                {"extends": "./configs/base.json", "include": ["packages/core/src/**/*"]}
            ),
            "packages/core/src/x/y.ts": "export const y = 1;\n",
            "packages/core/src/z.cts": "export = 1;\n",
        },
    )
    assert _place(tmp_path, "packages/core/src/x/y.ts")[:2] == (
        "packages/core/src/_telemetry_utils.ts",
        "ts",
    )
    assert _place(tmp_path, "packages/core/src/z.cts")[2] == (
        'import _codemod_tel = require("./_telemetry_utils.js");'
    )


def test_typescript_default_root_is_the_common_source_folder(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "package.json": "{}",
            "tsconfig.json": json.dumps({"compilerOptions": {"outDir": "out"}}),
            "src/a/one.ts": "export const a = 1;\n",
            "src/b/two.ts": "export const b = 1;\n",
            "out/a/one.d.ts": "export declare const a = 1;\n",
        },
    )
    assert _place(tmp_path, "src/a/one.ts")[0] == "src/_telemetry_utils.ts"


def _project(root: Path, package: dict[str, str], options: dict[str, object]) -> None:
    _write(
        root,
        {
            "package.json": json.dumps(package),
            "tsconfig.json": json.dumps({"compilerOptions": options, "include": ["src"]}),
        },
    )


def test_commonjs_typescript_under_verbatim_module_syntax(tmp_path: Path) -> None:
    # `export` is an error in a CommonJS file under verbatimModuleSyntax (TS1287)
    _project(tmp_path, {}, {"module": "nodenext", "verbatimModuleSyntax": True})
    _write(tmp_path, {"src/a.ts": "const a = 1;\nexport = a;\n", "src/b.mts": "export {};\n"})
    assert _place(tmp_path, "src/a.ts") == (
        "src/_telemetry_utils.ts",
        "ts-cjs",
        'import _codemod_tel = require("./_telemetry_utils.js");',
    )
    # an ES module beside it gets an ES module helper of its own
    assert _place(tmp_path, "src/b.mts") == (
        "src/_telemetry_utils.mts",
        "ts",
        'import * as _codemod_tel from "./_telemetry_utils.mjs";',
    )


def test_module_commonjs_under_verbatim_module_syntax(tmp_path: Path) -> None:
    _project(tmp_path, {"type": "module"}, {"module": "commonjs", "verbatimModuleSyntax": True})
    _write(tmp_path, {"src/a.ts": "export {};\n"})
    assert _place(tmp_path, "src/a.ts")[1:] == (
        "ts-cjs",
        'import _codemod_tel = require("./_telemetry_utils.js");',
    )


def test_cts_in_an_esm_package(tmp_path: Path) -> None:
    # require() of the package's ES module helper would need Node 20.19
    for verbatim, flavor in ((False, "ts"), (True, "ts-cjs")):
        _project(
            tmp_path, {"type": "module"}, {"module": "nodenext", "verbatimModuleSyntax": verbatim}
        )
        _write(tmp_path, {"src/a.ts": "export {};\n", "src/old.cts": "export = 1;\n"})
        assert _place(tmp_path, "src/a.ts")[:2] == ("src/_telemetry_utils.ts", "ts")
        assert _place(tmp_path, "src/old.cts") == (
            "src/_telemetry_utils.cts",
            flavor,
            'import _codemod_tel = require("./_telemetry_utils.cjs");',
        )


def test_bundler_module_settings_decide_over_package_type(tmp_path: Path) -> None:
    # module esnext in a package without "type": still ES modules (import = require
    # would be TS1202 there)
    _project(
        tmp_path,
        {},
        {"module": "esnext", "moduleResolution": "bundler", "verbatimModuleSyntax": True},
    )
    _write(tmp_path, {"src/a.ts": "export {};\n", "src/c.tsx": "export {};\n"})
    for name in ("src/a.ts", "src/c.tsx"):
        assert _place(tmp_path, name) == (
            "src/_telemetry_utils.ts",
            "ts",
            'import * as _codemod_tel from "./_telemetry_utils.js";',
        )


def test_allow_js_gets_a_javascript_helper_only(tmp_path: Path) -> None:
    for options in (
        {"allowJs": True, "checkJs": True, "outDir": "dist"},
        {"allowJs": True, "noEmit": True},
        {"allowJs": True, "declaration": True, "emitDeclarationOnly": True, "outDir": "d"},
    ):
        _project(tmp_path, {"type": "module"}, {"module": "nodenext", **options})
        _write(
            tmp_path,
            {
                "src/a.js": "export const a = 1;\n",
                "src/b.ts": "export const b = 1;\n",
                "src/c.cjs": "module.exports = 1;\n",
            },
        )
        for name in ("src/a.js", "src/b.ts"):
            assert _place(tmp_path, name) == (
                "src/_telemetry_utils.js",
                "esm",
                'import * as _codemod_tel from "./_telemetry_utils.js";',
            )
        assert _place(tmp_path, "src/c.cjs") == (
            "src/_telemetry_utils.cjs",
            "cjs",
            'const _codemod_tel = require("./_telemetry_utils.cjs");',
        )


def test_allow_js_sources_count_for_the_source_root(tmp_path: Path) -> None:
    # no TypeScript at all: tsc's root is still the folder of the JavaScript
    _write(
        tmp_path,
        {
            "package.json": "{}",
            "tsconfig.json": json.dumps({"compilerOptions": {"allowJs": True, "outDir": "dist"}}),
            "src/a.js": "module.exports = 1;\n",
            "src/deep/b.js": "module.exports = 2;\n",
        },
    )
    assert _place(tmp_path, "src/deep/b.js") == (
        "src/_telemetry_utils.js",
        "cjs",
        'const _codemod_tel = require("../_telemetry_utils.js");',
    )


def test_read_jsonc_keeps_strings_intact(tmp_path: Path) -> None:
    path = tmp_path / "tsconfig.json"
    path.write_text('{"a": "// not a comment", /* c */ "b": ["x/*y", ],}\n')
    assert read_jsonc(path) == {"a": "// not a comment", "b": ["x/*y"]}


# -- a .cts file under each `module` setting (measured with tsc 5.9 in test_js_tsc.py) --
CTS = {"src/a.ts": "export {};\n", "src/old.cts": "export = 1;\n"}
ESM_CTS = (
    "src/_telemetry_utils.cts",
    "ts",
    'import * as _codemod_tel from "./_telemetry_utils.cjs";',
)


def test_cts_under_an_es_module_setting_uses_import(tmp_path: Path) -> None:
    # `import x = require()` is TS1202 there; tsc still emits the .cts as CommonJS
    for options in (
        {"module": "esnext"},
        {"module": "es2015"},
        {"module": "ES2022", "moduleResolution": "bundler"},
        {"target": "es2020"},  # no module: es2015 for a target past ES5
    ):
        _project(tmp_path, {"type": "module"}, options)
        _write(tmp_path, CTS)
        assert _place(tmp_path, "src/old.cts") == ESM_CTS, options


def test_cts_under_commonjs_like_settings_uses_import_require(tmp_path: Path) -> None:
    for module in ("commonjs", "amd", "umd", "system", None):
        _project(tmp_path, {}, {"module": module} if module else {})
        _write(tmp_path, CTS)
        assert _place(tmp_path, "src/old.cts") == (
            "src/_telemetry_utils.ts",
            "ts",
            'import _codemod_tel = require("./_telemetry_utils.js");',
        ), module
    # none: tsc emits CommonJS, and `import =` is accepted
    _project(tmp_path, {}, {"module": "none"})
    assert _place(tmp_path, "src/old.cts")[2].startswith("import _codemod_tel = require(")


def test_cts_under_preserve_gets_an_export_assignment_helper(tmp_path: Path) -> None:
    # preserve emits `export` as written, into the .cjs too, where Node rejects it
    for verbatim in (False, True):
        _project(
            tmp_path, {"type": "module"}, {"module": "preserve", "verbatimModuleSyntax": verbatim}
        )
        _write(tmp_path, CTS)
        assert _place(tmp_path, "src/a.ts")[:2] == ("src/_telemetry_utils.ts", "ts")
        assert _place(tmp_path, "src/old.cts") == (
            "src/_telemetry_utils.cts",
            "ts-cjs",
            'import _codemod_tel = require("./_telemetry_utils.cjs");',
        )


TYPED = (
    "src/_telemetry_utils.cts",
    "ts-cjs",
    'const _codemod_tel: typeof import("./_telemetry_utils.cjs")'
    ' = require("./_telemetry_utils.cjs");',
)


def test_cts_under_es_modules_and_verbatim_needs_node_types(tmp_path: Path) -> None:
    # `import` is TS1286 and `import =` TS1202: only require() is left
    verbatim = {"module": "esnext", "verbatimModuleSyntax": True}
    _write(tmp_path, CTS)
    _project(tmp_path, {"type": "module"}, {**verbatim, "types": ["node"]})
    assert _place(tmp_path, "src/old.cts") == TYPED
    # all the visible @types packages are in the program when `types` is not set
    (tmp_path / "node_modules" / "@types" / "node").mkdir(parents=True)
    _project(tmp_path, {"type": "module"}, verbatim)
    assert _place(tmp_path, "src/old.cts") == TYPED
    _project(tmp_path, {"type": "module"}, {**verbatim, "typeRoots": ["./types"]})
    found = JsPlacementResolver().placement(tmp_path / "src/old.cts", tmp_path, True)
    assert found.skip is not None and "@types/node" in found.skip
    (tmp_path / "types" / "node").mkdir(parents=True)
    assert _place(tmp_path, "src/old.cts") == TYPED
    _project(tmp_path, {"type": "module"}, {**verbatim, "types": []})
    found = JsPlacementResolver().placement(tmp_path / "src/old.cts", tmp_path, True)
    assert found.skip is not None and found.statement == ""
    # the other files of that program are ES modules and import as usual
    assert _place(tmp_path, "src/a.ts")[2].startswith("import * as _codemod_tel from")


def test_cts_with_allow_js_imports_the_commonjs_javascript_helper(tmp_path: Path) -> None:
    _write(tmp_path, CTS)
    for options, statement in (
        ({"module": "esnext"}, 'import * as _codemod_tel from "./_telemetry_utils.cjs";'),
        ({"module": "preserve"}, 'import _codemod_tel = require("./_telemetry_utils.cjs");'),
        ({"module": "esnext", "verbatimModuleSyntax": True, "types": ["node"]}, TYPED[2]),
    ):
        _project(tmp_path, {"type": "module"}, {"allowJs": True, **options})
        assert _place(tmp_path, "src/old.cts") == ("src/_telemetry_utils.cjs", "cjs", statement)


def test_typed_require_strips_back_to_the_original() -> None:
    original = "function f(n: number): number {\n  return n + 1;\n}\nexport = f;\n"
    instrumented = instrument_text(original, relpath="old.cts")
    typed = instrumented.replace(
        'import _codemod_tel = require("./_telemetry_utils.js");', TYPED[2], 1
    )
    assert typed != instrumented
    assert strip_text(typed, ".cts") == original
    # instrument_text: module "esm" stands for an ES `module` setting
    esm = instrument_text(original, relpath="old.cts", module="esm")
    assert esm.startswith('import * as _codemod_tel from "./_telemetry_utils.js";')

"""Where the JS/TS helper goes, which flavor it has, and how each file imports it."""

from __future__ import annotations

import json
from pathlib import Path

from codemodkit.codemods.telemetry.js.codemod import uses_esm_syntax
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

"""One scripted program, run through every flavour of the JS/TS runtime helper.

The program's body is valid JavaScript and valid strict TypeScript at once; only its
two import lines differ per module system. It calls every member of the helper's API
the way instrumented code does, prints nothing, and writes what it saw (which user
hooks ran, what the helper returned) to ``result.json``; the helper's telemetry goes to
``telemetry.jsonl``. ``build(variant, folder)`` lays out a project for one variant.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codemodkit.codemods.telemetry.js.runtime import Flavor, helper_source

FILE = "src/shop.js"

# Strict flags every TypeScript project here compiles under (the brief's set and more).
STRICT_FLAGS: dict[str, Any] = {
    "strict": True,
    "noImplicitReturns": True,
    "noUnusedLocals": True,
    "noUnusedParameters": True,
    "declaration": True,
    "exactOptionalPropertyTypes": True,
    "isolatedModules": True,
    "noUncheckedIndexedAccess": True,
    "noPropertyAccessFromIndexSignature": True,
    "noFallthroughCasesInSwitch": True,
    "noImplicitOverride": True,
    "allowUnreachableCode": False,
    "skipLibCheck": False,
    "forceConsistentCasingInFileNames": True,
}

BODY = textwrap.dedent(
    """\
    const FILE = "src/shop.js";
    const BUY = FILE + ":10:Shop.buy|purchase";
    const FAIL = FILE + ":20:Shop.fail";
    const LOOP = FILE + ":12:Shop.buy|scan";
    const touched = {
      getter: false,
      trap: false,
      toJSON: false,
      toString: false,
      errorGetter: false,
    };

    class Shop {
      items = 2;
      get total() {
        touched.getter = true;
        return 1;
      }
      method() {
        return this.items;
      }
    }

    class NotFound extends Error {}

    const sneaky = new Error();
    Object.defineProperty(sneaky, "message", {
      get() {
        touched.errorGetter = true;
        return "sneaky";
      },
    });

    const call = (site = "", work = () => {}) => {
      const _codemod_t = _codemod_tel.on && _codemod_tel.enter(site);
      try {
        work();
      } catch (_codemod_e) {
        _codemod_t && _codemod_tel.error(site, _codemod_t, _codemod_e);
      } finally {
        _codemod_t && _codemod_tel.leave(site, _codemod_t);
      }
    };

    call(BUY);
    call(BUY);
    call(BUY, () => {
      let sum = 0;
      for (let i = 0; i < 1000; i++) sum += i;
      _codemod_tel.loop(LOOP, sum > 0 ? 4 : 0);
    });
    call(FAIL, () => {
      throw new TypeError("bad");
    });
    call(FAIL, () => {
      throw new NotFound("gone");
    });
    call(FAIL, () => {
      const e = new Error("invalid");
      e.name = "ValidationError";
      throw e;
    });
    call(FAIL, () => {
      throw "plain string";
    });
    call(FAIL, () => {
      throw {
        get name() {
          touched.errorGetter = true;
          return "X";
        },
      };
    });
    call(FAIL, () => {
      throw sneaky;
    });
    _codemod_tel.loop(LOOP, 0);
    _codemod_tel.loop(LOOP, 7);

    const site = (name = "") => FILE + ":30:Shop.report:" + name;
    const COUNT = site("count");
    for (let i = 0; i < 15; i++) {
      _codemod_tel.on && !_codemod_tel.sampled.has(COUNT) && _codemod_tel.value(COUNT, i);
    }
    const mixed = [1, "one", 1, null, true];
    for (const m of mixed) _codemod_tel.value(site("mixed"), m);

    const cyc = { name: "a" };
    Reflect.set(cyc, "self", cyc);
    const handler = {
      get() {
        touched.trap = true;
        return 1;
      },
      has() {
        touched.trap = true;
        return false;
      },
      ownKeys() {
        touched.trap = true;
        return [];
      },
      getOwnPropertyDescriptor() {
        touched.trap = true;
        return undefined;
      },
      getPrototypeOf() {
        touched.trap = true;
        return null;
      },
    };
    const proxy = new Proxy({ a: 1 }, handler);
    const getterObject = {
      plain: 1,
      get boom() {
        touched.getter = true;
        return 2;
      },
    };
    const hooks = {
      toJSON() {
        touched.toJSON = true;
        return 1;
      },
      toString() {
        touched.toString = true;
        return "s";
      },
    };
    const values = {
      big: 123n,
      huge: 2n ** 200n,
      text: "x".repeat(200),
      sym: Symbol("tag"),
      cycle: cyc,
      getter: getterObject,
      proxy: proxy,
      hooks: hooks,
      shop: new Shop(),
      nested: { a: [1, { b: { c: 1 } }], "key with space": true },
      holes: [1, , 3, 4, 5, 6, 7],
      nullproto: Object.assign(Object.create(null), { k: 1 }),
      undef: undefined,
      nul: null,
      negzero: -0,
      nan: NaN,
      date: new Date(0),
      map: new Map([[1, 2]]),
      fn: call,
      klass: Shop,
      bytes: new Uint8Array(2),
      attrPlain: _codemod_tel.attr({ a: { b: 2 } }, "a.b"),
      attrGetter: _codemod_tel.attr(getterObject, "boom"),
      attrMissing: _codemod_tel.attr({}, "missing"),
      attrProxy: _codemod_tel.attr(proxy, "a"),
      attrNull: _codemod_tel.attr(null, "x"),
      attrString: _codemod_tel.attr("abc", "length"),
      attrField: _codemod_tel.attr(new Shop(), "items"),
      attrAccessor: _codemod_tel.attr(new Shop(), "total"),
      attrMethod: _codemod_tel.attr(new Shop(), "method"),
      attrDeep: _codemod_tel.attr({ a: 1 }, "a.b.c"),
    };
    for (const [name, v] of Object.entries(values)) _codemod_tel.value(site(name), v);

    const token = _codemod_tel.enter(FILE + ":40:probe");
    _codemod_tel.leave(FILE + ":40:probe", token);
    const result = {
      on: _codemod_tel.on,
      tokenType: typeof token,
      sampledCount: _codemod_tel.sampled.has(COUNT),
      sampledSize: _codemod_tel.sampled.size,
      attrPlain: values.attrPlain,
      attrField: values.attrField,
      attrString: values.attrString,
      touched: touched,
      exports: Object.keys(_codemod_tel)
        .filter((k) => k !== "default" && k !== "module.exports")
        .sort(),
    };
    fs.writeFileSync("result.json", JSON.stringify(result));
    """
)

ESM_HEADER = 'import * as _codemod_tel from "./{helper}";\nimport * as fs from "node:fs";\n'
# All the TypeScript programs need of Node's types.
NODE_FS = (
    'declare module "node:fs" {\n  function writeFileSync(path: string, data: string): void;\n}\n'
)
CJS_HEADER = 'const _codemod_tel = require("./{helper}");\nconst fs = require("node:fs");\n'
REQUIRE_HEADER = 'import _codemod_tel = require("./{helper}");\nimport fs = require("node:fs");\n'


@dataclass(frozen=True)
class Variant:
    """How one kind of project holds the helper and the program using it."""

    name: str
    package_type: str | None  # package.json "type"
    helper_flavor: Flavor
    helper_file: str  # where the helper goes (in src/ for TypeScript)
    main_file: str
    header: str
    tsconfig: Mapping[str, Any] | None = None  # compilerOptions for a tsc project
    with_dts: bool = False  # also write _telemetry_utils.d.ts beside a .js helper

    @property
    def is_typescript(self) -> bool:
        return self.tsconfig is not None

    @property
    def import_name(self) -> str:
        """The specifier the program imports: tsc maps ``.js`` to the ``.ts`` source."""
        return self.helper_file.replace(".ts", ".js")


def _ts(module: str, **options: Any) -> dict[str, Any]:
    # No @types/node (``types: []``, the one function used is declared in NODE_FS):
    # parsing and checking it costs seconds per project. test_typecheck has it.
    return {
        **STRICT_FLAGS,
        "types": [],
        "skipDefaultLibCheck": True,  # TypeScript's own lib.*.d.ts
        "target": "es2020",
        "lib": ["es2020"],
        "module": module,
        **options,
    }


TS_ESM = _ts("nodenext", verbatimModuleSyntax=True)
VARIANTS: tuple[Variant, ...] = (
    Variant("esm", "module", "esm", "_telemetry_utils.js", "main.js", ESM_HEADER),
    Variant("cjs", None, "cjs", "_telemetry_utils.js", "main.js", CJS_HEADER),
    Variant("mjs", None, "esm", "_telemetry_utils.mjs", "main.mjs", ESM_HEADER),
    Variant(
        "cjs-ext",
        "module",
        "cjs",
        "_telemetry_utils.cjs",
        "main.cjs",
        CJS_HEADER,
    ),
    # an ES module importing the CommonJS helper: Node finds its named exports
    Variant(
        "mjs-to-cjs",
        None,
        "cjs",
        "_telemetry_utils.js",
        "main.mjs",
        ESM_HEADER,
    ),
    Variant(
        "ts-nodenext-esm",
        "module",
        "ts",
        "_telemetry_utils.ts",
        "main.ts",
        ESM_HEADER,
        {**TS_ESM, "isolatedDeclarations": True, "erasableSyntaxOnly": True},
    ),
    Variant(
        "ts-nodenext-cjs",
        None,
        "ts",
        "_telemetry_utils.ts",
        "main.ts",
        ESM_HEADER,
        _ts("nodenext", isolatedDeclarations=True),
    ),
    Variant(
        "ts-commonjs",
        None,
        "ts",
        "_telemetry_utils.ts",
        "main.ts",
        ESM_HEADER,
        _ts("commonjs", esModuleInterop=True),
    ),
    Variant(
        "ts-bundler",
        "module",
        "ts",
        "_telemetry_utils.ts",
        "main.ts",
        ESM_HEADER,
        _ts("esnext", moduleResolution="bundler", verbatimModuleSyntax=True),
    ),
    Variant(
        "ts-cjs-verbatim",
        None,
        "ts-cjs",
        "_telemetry_utils.ts",
        "main.ts",
        REQUIRE_HEADER,
        _ts("commonjs", verbatimModuleSyntax=True, isolatedDeclarations=True),
    ),
    # a TypeScript program importing the JavaScript helper through its .d.ts
    Variant(
        "ts-dts",
        "module",
        "esm",
        "_telemetry_utils.js",
        "main.ts",
        ESM_HEADER,
        TS_ESM,
        with_dts=True,
    ),
    # allowJs + checkJs: tsc checks and emits the JavaScript helper itself
    Variant(
        "ts-checkjs",
        "module",
        "esm",
        "_telemetry_utils.js",
        "main.ts",
        ESM_HEADER,
        {**TS_ESM, "allowJs": True, "checkJs": True},
    ),
)
BY_NAME = {variant.name: variant for variant in VARIANTS}


def write_package(folder: Path, package_type: str | None) -> None:
    package: dict[str, Any] = {"private": True}
    if package_type:
        package["type"] = package_type
    (folder / "package.json").write_text(json.dumps(package), encoding="utf-8")


def write_tsconfig(folder: Path, options: Mapping[str, Any], include: list[str]) -> None:
    options = {"rootDir": "src", "outDir": "dist", **options}
    config = {"compilerOptions": options, "include": include}
    (folder / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def build(variant: Variant, folder: Path) -> Path:
    """Lay out ``variant`` in ``folder``; return the file Node runs (for TypeScript,
    the compiled one: compile ``folder`` with ``tsc`` first)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_package(folder, variant.package_type)
    source = folder / "src" if variant.is_typescript else folder
    source.mkdir(exist_ok=True)
    (source / variant.helper_file).write_bytes(helper_source(variant.helper_flavor))
    if variant.with_dts:
        (source / "_telemetry_utils.d.ts").write_bytes(helper_source("dts"))
    header = variant.header.format(helper=variant.import_name)
    (source / variant.main_file).write_text(header + BODY, encoding="utf-8")
    if variant.tsconfig is None:
        return folder / variant.main_file
    (source / "node-fs.d.ts").write_text(NODE_FS, encoding="utf-8")
    write_tsconfig(folder, variant.tsconfig, ["src"])
    return folder / "dist" / (Path(variant.main_file).stem + ".js")


def after_tsc(variant: Variant, folder: Path) -> None:
    """What a project whose tsc does not emit the helper ships by other means."""
    if variant.with_dts:  # tsc never copies a .js it only has declarations for
        (folder / "dist" / variant.helper_file).write_bytes(helper_source(variant.helper_flavor))


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


_VARYING = ("pid", "time", "total_ns", "min_ns", "max_ns")


def normalised(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lines without what differs from run to run, in a stable order."""
    kept = [{k: v for k, v in line.items() if k not in _VARYING} for line in lines]
    return sorted(kept, key=lambda line: json.dumps(line, sort_keys=True))


def by_site(lines: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Lines keyed by (type, name or variable name)."""
    keyed: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        name = line["name"] if line["type"] != "loop" else line["function"]
        keyed[(line["type"], name)] = line
    return keyed

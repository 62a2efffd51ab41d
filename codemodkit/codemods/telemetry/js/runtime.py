"""The JavaScript/TypeScript runtime helper, in the flavour a project needs.

``runtime/_telemetry_utils.ts`` is the one source (see ``variants`` for how the others
are derived). Instrumented code imports the helper as a namespace named
``_codemod_tel`` and calls ``on``, ``enter``, ``leave``, ``error``, ``loop``, ``value``,
``sampled``, ``attr`` and ``flush``:

* ``"esm"`` - JavaScript, ES module (``import * as _codemod_tel from "./_telemetry_utils.js"``);
* ``"cjs"`` - JavaScript, CommonJS (``const _codemod_tel = require("./_telemetry_utils.js")``);
* ``"ts"`` - TypeScript in ES module syntax, for projects compiled by ``tsc`` (which
  turns it into CommonJS where the project compiles to CommonJS);
* ``"dts"`` - declarations for either JavaScript flavour, for a project that wants the
  ``.js`` helper typed without ``allowJs`` (placement never writes it: a ``.d.ts``
  beside the ``.js`` keeps tsc from emitting it, and with ``allowJs`` the ``.js``
  alone type-checks);
* ``"ts-cjs"`` - TypeScript with ``export =``, for CommonJS output under
  ``verbatimModuleSyntax`` (which rejects ``export`` there) and for ``.cts`` files
  under ``module: preserve`` (which emits ``export`` as written); imported with
  ``import _codemod_tel = require("./_telemetry_utils.js")`` (or, where that is
  TS1202, a typed ``require()``: see ``placement``).

The first line of every flavour is ``// codemod-telemetry-helper: <version>``.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal, get_args

from .variants import (
    after_line_comments,
    declarations,
    strip_types,
    to_commonjs,
    to_export_assignment,
)

__all__ = ["FLAVORS", "HELPER_MARKER", "Flavor", "helper_source"]

#: The start of the first line of every flavour: how the tool recognises its own files.
HELPER_MARKER = b"// codemod-telemetry-helper:"

Flavor = Literal["esm", "cjs", "ts", "dts", "ts-cjs"]
FLAVORS: tuple[Flavor, ...] = get_args(Flavor)
NOCHECK = "// @ts-nocheck\n"


def _master() -> str:
    package = resources.files("codemodkit.codemods.telemetry.runtime")
    return package.joinpath("_telemetry_utils.ts").read_text(encoding="utf-8")


@functools.cache
def helper_source(flavor: Flavor) -> bytes:
    """The helper's source in ``flavor`` (UTF-8, LF line ends)."""
    master = _master()
    if flavor == "ts":
        text = master
    elif flavor in ("esm", "cjs"):
        # A project with allowJs+checkJs would type-check the untyped JavaScript.
        text = after_line_comments(strip_types(master), NOCHECK)
        if flavor == "cjs":
            text = to_commonjs(text)
    elif flavor == "dts":
        text = declarations(master)
    elif flavor == "ts-cjs":
        text = to_export_assignment(master)
    else:
        raise ValueError(f"unknown helper flavor {flavor!r}; expected one of {FLAVORS}")
    return text.encode("utf-8")

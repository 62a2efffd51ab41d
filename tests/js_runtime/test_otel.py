"""OpenTelemetry mode with the real JS SDK (``tests/node``: API 1.9, sdk-trace-base 2.x).

The application registers ``BasicTracerProvider`` with a ``SimpleSpanProcessor`` and an
``InMemorySpanExporter`` through ``trace.setGlobalTracerProvider`` (2.x has no
``provider.register()``); the helper finds it through the API's global registry
without importing the API. Spans, their attributes, exceptions, status and the
``codemod.loop``/``codemod.variable`` events are read back from the exporter.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from js_support import NodeTools, link_node_modules

from codemodkit.codemods.telemetry.js.runtime import Flavor

from .programs import Outcome, run_program

CJS_SETUP = textwrap.dedent(
    """\
    const fs = require("node:fs");
    const { trace } = require("@opentelemetry/api");
    const sdk = require("@opentelemetry/sdk-trace-base");
    const t = require("./_telemetry_utils.js");
    """
)
ESM_SETUP = textwrap.dedent(
    """\
    import * as fs from "node:fs";
    import { trace } from "@opentelemetry/api";
    import * as sdk from "@opentelemetry/sdk-trace-base";
    import * as t from "./_telemetry_utils.js";
    """
)
REGISTER = textwrap.dedent(
    """\
    const exporter = new sdk.InMemorySpanExporter();
    const provider = new sdk.BasicTracerProvider({
      spanProcessors: [new sdk.SimpleSpanProcessor(exporter)],
    });
    trace.setGlobalTracerProvider(provider);
    """
)
REPORT = textwrap.dedent(
    """\
    const spans = exporter.getFinishedSpans().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      status: s.status,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    }));
    fs.writeFileSync("result.json", JSON.stringify({ spans, touched, size: t.sampled.size }));
    """
)
SPANS = textwrap.dedent(
    """\
    const touched = { message: false };
    const BUY = "src/shop.js:10:Shop.buy|purchase";
    const FAIL = "src/shop.js:20:Shop.fail";
    let k = t.on && t.enter(BUY);
    touched.token = typeof k;
    t.loop("src/shop.js:12:Shop.buy|scan", 4);
    const TOTAL = "src/shop.js:13:Shop.buy:total";
    for (let i = 0; i < 12; i++) t.on && !t.sampled.has(TOTAL) && t.value(TOTAL, i);
    t.value("src/shop.js:14:Shop.buy:big", 5n);
    const getter = { get boom() { touched.message = true; return 1; } };
    t.value("src/shop.js:15:Shop.buy:spec", t.attr(getter, "boom"));
    k && t.leave(BUY, k);

    k = t.enter(FAIL);
    try {
      throw new TypeError("bad");
    } catch (e) {
      k && t.error(FAIL, k, e);
    } finally {
      k && t.leave(FAIL, k);
    }
    const sneaky = new Error();
    Object.defineProperty(sneaky, "message", {
      get() {
        touched.message = true;
        return "x";
      },
    });
    k = t.enter(FAIL);
    t.error(FAIL, k, sneaky);
    t.leave(FAIL, k);
    k = t.enter(FAIL);
    t.error(FAIL, k, "thrown text");
    t.leave(FAIL, k);
    t.loop("src/other.js:5:other", 2);  // no running span of its function: dropped
    t.flush();
    """
)


@pytest.fixture
def project(node_tools: NodeTools, tmp_path: Path) -> Path:
    link_node_modules(tmp_path, node_tools)
    return tmp_path


def _run(project: Path, flavor: Flavor, body: str) -> Outcome:
    esm = flavor == "esm"
    source = (ESM_SETUP if esm else CJS_SETUP) + body
    return run_program(project, source, flavor=flavor, package_type="module" if esm else None)


def _code(name: str, line: int, event: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "code.function.name": name,
        "code.file.path": "src/shop.js",
        "code.line.number": line,
    }
    if event:
        attributes["codemod.event"] = event
    return attributes


@pytest.mark.parametrize("flavor", ["cjs", "esm"])
def test_spans(project: Path, flavor: Flavor) -> None:
    outcome = _run(project, flavor, REGISTER + SPANS + REPORT)
    assert outcome.process.returncode == 0 and outcome.silent, outcome.process.stderr
    assert outcome.lines == []  # everything went to spans
    result = outcome.result
    assert result["touched"] == {"message": False, "token": "object"}
    assert result["size"] == 0  # with spans every assignment is an event
    buy, *fails = result["spans"]
    assert buy["name"] == "Shop.buy"
    assert buy["attributes"] == _code("Shop.buy", 10, "purchase")
    assert buy["status"] == {"code": 0}
    loop, *variables = buy["events"]
    assert loop == {
        "name": "codemod.loop",
        "attributes": {"codemod.loop.iterations": 4, **_code("Shop.buy", 12, "scan")},
    }
    assert [e["attributes"]["codemod.variable.value"] for e in variables] == [
        *map(str, range(12)),
        "5n",
        "<computed>",
    ]
    assert variables[0] == {
        "name": "codemod.variable",
        "attributes": {
            "codemod.variable.name": "total",
            "codemod.variable.type": "number",
            "codemod.variable.value": "0",
            **_code("Shop.buy", 13),
        },
    }
    assert variables[-1]["attributes"]["codemod.variable.type"] == "unrecorded"
    assert [span["name"] for span in fails] == ["Shop.fail"] * 3
    assert [span["status"] for span in fails] == [
        {"code": 2, "message": "TypeError"},
        {"code": 2, "message": "Error"},
        {"code": 2, "message": "string"},
    ]
    exceptions = [span["events"][0]["attributes"] for span in fails]
    assert [span["events"][0]["name"] for span in fails] == ["exception"] * 3
    assert exceptions[0]["exception.type"] == "TypeError"
    assert exceptions[0]["exception.message"] == "bad"
    assert "TypeError: bad" in exceptions[0]["exception.stacktrace"]
    assert exceptions[1]["exception.type"] == "Error"
    assert "exception.message" not in exceptions[1]  # a getter: never read
    assert exceptions[2] == {"exception.message": "thrown text"}


def test_provider_registered_later(project: Path) -> None:
    """The registry is looked at once a second at most: a call entered before the
    switch is still counted as a JSON line when it ends."""
    body = textwrap.dedent(
        """\
        const early = t.enter("src/shop.js:1:early");
        t.leave("src/shop.js:1:early", early);
        const open = t.enter("src/shop.js:2:open");
        """
        + REGISTER
        + """\
        const soon = t.enter("src/shop.js:3:soon");  // within the second: JSON still
        t.leave("src/shop.js:3:soon", soon);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
        const late = t.enter("src/shop.js:4:late");
        t.leave("src/shop.js:2:open", open);
        t.leave("src/shop.js:4:late", late);
        const touched = {};
        """
        + REPORT
    )
    outcome = _run(project, "cjs", body)
    assert outcome.process.returncode == 0 and outcome.silent, outcome.process.stderr
    assert [span["name"] for span in outcome.result["spans"]] == ["late"]
    assert sorted(line["name"] for line in outcome.lines) == ["early", "open", "soon"]


def test_no_real_provider_means_json_lines(project: Path) -> None:
    """The API in use without an SDK - its registry holding only a diag logger, or a
    proxy provider whose delegate is the no-op provider - is not a provider."""
    body = textwrap.dedent(
        """\
        const { diag, ProxyTracerProvider } = require("@opentelemetry/api");
        const logged = [];
        const logger = {};
        for (const level of ["error", "warn", "info", "debug", "verbose"]) {
          logger[level] = (...args) => logged.push([level, ...args]);
        }
        diag.setLogger(logger, { logLevel: 60 });  // ALL
        trace.getTracer("app").startSpan("dropped").end();
        t.leave("src/a.js:1:first", t.enter("src/a.js:1:first"));
        const proxy = new ProxyTracerProvider();
        proxy.setDelegate(new ProxyTracerProvider().getDelegate());  // the no-op provider
        globalThis[Symbol.for("opentelemetry.js.api.1")].trace = proxy;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1100);
        t.leave("src/a.js:2:second", t.enter("src/a.js:2:second"));
        fs.writeFileSync("result.json", JSON.stringify({ logged }));
        """
    )
    outcome = _run(project, "cjs", body)
    assert outcome.process.returncode == 0 and outcome.silent, outcome.process.stderr
    assert sorted(line["name"] for line in outcome.lines) == ["first", "second"]
    assert outcome.result["logged"] == []  # nothing made the API complain

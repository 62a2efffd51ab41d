"""The cheap paths: variables are sampled, and for loops count in C (or not at all when off)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from codemodkit.codemods.telemetry.python.codemod import instrument_text

HELPER = (
    Path(__file__).resolve().parents[3]
    / "codemodkit/codemods/telemetry/runtime/_telemetry_utils.py"
)

APP = """
def hot(n):
    value = n * 2
    return value


def loop(items):
    total = 0
    for item in items:
        total += item
    return total
"""


def run(tmp_path: Path, script: str, env: dict[str, str] | None = None) -> list[dict]:  # type: ignore[type-arg]
    (tmp_path / "app.py").write_text(instrument_text(APP, module="app", relpath="app.py"))
    shutil.copy(HELPER, tmp_path / "_telemetry_utils.py")
    out = tmp_path / "telemetry.jsonl"
    full_env = {**os.environ, "CODEMOD_TELEMETRY_FILE": str(out), **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=tmp_path,
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_hot_variable_site_stops_calling_the_helper_after_ten_samples(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        """
        import json
        import _telemetry_utils as t
        calls = []
        original = t.var
        t.var = lambda site, value: (calls.append(value), original(site, value))
        import app
        for n in range(25):
            app.hot(n)
        t.flush()
        records = [json.loads(l) for l in open(t._PATH)]
        variable = [r for r in records if r["type"] == "variable"][0]
        function = [r for r in records if r["type"] == "function" and r["name"] == "app.hot"][0]
        print(json.dumps({"var_calls": len(calls), "sampled": variable["sampled"],
                          "samples": variable["samples"], "calls": function["calls"]}))
        """,
    )
    assert result == {"var_calls": 10, "sampled": 10, "samples": ["0", "2", "4"], "calls": 25}


def test_with_opentelemetry_every_assignment_is_an_event(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import app
        for n in range(25):
            app.hot(n)
        app.loop(range(7))
        spans = exporter.get_finished_spans()
        events = [e for s in spans for e in s.events if e.name == "codemod.variable"]
        loops = [e.attributes["codemod.loop.iterations"] for s in spans for e in s.events
                 if e.name == "codemod.loop"]
        print(json.dumps({"spans": len(spans), "variable_events": len(events), "loops": loops}))
        """,
    )
    assert result == {"spans": 26, "variable_events": 25, "loops": [7]}


def test_disabled_for_loops_iterate_the_original_iterable(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        """
        import json
        import _telemetry_utils as t
        items = [1, 2, 3]
        print(json.dumps({"same": t.counted(t.on and t.counter(), items) is items, "on": t.on}))
        """,
        env={"CODEMOD_TELEMETRY": "0"},
    )
    assert result == {"same": True, "on": False}


def test_counted_loops_count_exactly(tmp_path: Path) -> None:
    (result,) = run(
        tmp_path,
        """
        import json
        import _telemetry_utils as t
        import app
        app.loop(range(5))
        app.loop([])
        app.loop(iter(range(3)))
        t.flush()
        loops = [json.loads(l) for l in open(t._PATH) if '"loop"' in l]
        print(json.dumps([(r["runs"], r["iterations"], r["max_iterations"]) for r in loops]))
        """,
    )
    assert result == [[3, 8, 5]]

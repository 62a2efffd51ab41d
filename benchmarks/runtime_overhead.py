"""Run-time overhead of `codemod telemetry` on a bundled call-heavy workload.

Instruments ``benchmarks/workload/calls.py`` with the template provider and times
``main()`` in separate processes, interleaving the variants and keeping each one's
best of several runs (the machines are shared and noisy):

* original code,
* instrumented, telemetry disabled (``CODEMOD_TELEMETRY=0``),
* instrumented, JSON-lines sink (the default),
* instrumented, OpenTelemetry API imported but no SDK registered (the helper keeps
  aggregating: spans would be dropped),
* instrumented, OpenTelemetry SDK registered with a span processor that drops spans
  (informational: a span per call is what OpenTelemetry costs).

Prints each variant's time, its ratio to the original, and the overhead per
instrumented function call. Run it as ``python benchmarks/runtime_overhead.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from codemodkit.codemods.telemetry.python.codemod import instrument_text

HERE = Path(__file__).resolve().parent
HELPER = HERE.parent / "codemodkit" / "codemods" / "telemetry" / "runtime" / "_telemetry_utils.py"

RUNNER = """
import json, sys, time
{setup}
import {module} as workload
workload.main()  # warm up
started = time.perf_counter()
result = workload.main()
elapsed = time.perf_counter() - started
print(json.dumps({{"seconds": elapsed, "result": result}}))
"""

OTEL_API = "import opentelemetry.trace"
OTEL_SDK = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

class Drop(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(Drop()))
trace.set_tracer_provider(provider)
"""

VARIANTS = {
    "original": ("calls", "", {}),
    "disabled (CODEMOD_TELEMETRY=0)": ("calls_instrumented", "", {"CODEMOD_TELEMETRY": "0"}),
    "JSON-lines sink": ("calls_instrumented", "", {}),
    "OpenTelemetry API, no SDK": ("calls_instrumented", OTEL_API, {}),
    "OpenTelemetry SDK, spans dropped (info)": ("calls_instrumented", OTEL_SDK, {}),
}


def run_once(folder: Path, module: str, setup: str, env: dict[str, str]) -> tuple[float, object]:
    code = RUNNER.format(module=module, setup=setup)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={**os.environ, "CODEMOD_TELEMETRY_FILE": str(folder / "telemetry.jsonl"), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(done.stdout)
    return data["seconds"], data["result"]


def count_calls(folder: Path) -> int:
    (folder / "telemetry.jsonl").unlink(missing_ok=True)
    run_once(folder, "calls_instrumented", "", {})
    calls = 0
    for line in (folder / "telemetry.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["type"] == "function":
            calls += record["calls"]
    return calls // 2  # warm-up and measured run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        folder = Path(tmp)
        source = (HERE / "workload" / "calls.py").read_text()
        (folder / "calls.py").write_text(source)
        instrumented = instrument_text(source, module="calls", relpath="calls.py")
        (folder / "calls_instrumented.py").write_text(instrumented)
        shutil.copy(HELPER, folder / "_telemetry_utils.py")
        calls = count_calls(folder)
        best: dict[str, float] = {}
        results = set()
        for _ in range(args.repeat):
            for name, (module, setup, env) in VARIANTS.items():
                seconds, result = run_once(folder, module, setup, env)
                best[name] = min(best.get(name, seconds), seconds)
                results.add(round(float(result), 6))  # type: ignore[arg-type]
    assert len(results) == 1, f"variants disagree: {results}"
    base = best["original"]
    print(f"workload: benchmarks/workload/calls.py, {calls} instrumented calls per run")
    print(f"best of {args.repeat} interleaved runs, Python {sys.version.split()[0]}")
    targets = {"disabled": 1.3, "JSON": 3.0, "OpenTelemetry API": 3.0}
    for name, seconds in best.items():
        ratio = seconds / base
        per_call = (seconds - base) / calls * 1e9 if calls and name != "original" else 0.0
        target = next((f" (target <= {t}x)" for k, t in targets.items() if name.startswith(k)), "")
        extra = f", {per_call:+.0f} ns per call" if name != "original" else ""
        print(f"{name:42s} {seconds * 1000:8.1f} ms  {ratio:5.2f}x{extra}{target}")


if __name__ == "__main__":
    main()

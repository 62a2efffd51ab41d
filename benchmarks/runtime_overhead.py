"""Run-time overhead of `codemod telemetry` on a bundled call-heavy workload.

Instruments ``benchmarks/workload/calls.py`` with the template provider and times
``main()`` in separate processes for each variant:

* original code,
* instrumented, telemetry disabled (``CODEMOD_TELEMETRY=0``),
* instrumented, JSON-lines sink (the default),
* instrumented, OpenTelemetry API imported but no SDK registered (the helper keeps
  aggregating: spans would be dropped),
* instrumented, OpenTelemetry SDK registered with a processor that drops spans
  (informational: a span per call is what OpenTelemetry costs).

The machines this runs on are shared and noisy, so each process times several runs,
the variants are interleaved, and each variant keeps its best wall time (the figure
the targets refer to) and best CPU time (a cross-check). With ``--instructions``,
valgrind's callgrind also counts instructions, which do not depend on the machine's
load at all.

    python benchmarks/runtime_overhead.py [--repeat N] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
best_wall = best_cpu = float("inf")
for _ in range({runs}):
    wall, cpu = time.perf_counter(), time.process_time()
    result = workload.main()
    best_wall = min(best_wall, time.perf_counter() - wall)
    best_cpu = min(best_cpu, time.process_time() - cpu)
print(json.dumps({{"wall": best_wall, "cpu": best_cpu, "result": result}}))
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

#: name -> (module, setup code, environment, measured with every repeat)
VARIANTS = {
    "original": ("calls", "", {}, True),
    "disabled (CODEMOD_TELEMETRY=0)": ("calls_instrumented", "", {"CODEMOD_TELEMETRY": "0"}, True),
    "JSON-lines sink": ("calls_instrumented", "", {}, True),
    "OpenTelemetry API, no SDK": ("calls_instrumented", OTEL_API, {}, True),
    "OpenTelemetry SDK, spans dropped (info)": ("calls_instrumented", OTEL_SDK, {}, False),
}
TARGETS = {"disabled": 1.3, "JSON": 3.0, "OpenTelemetry API": 3.0}


def environment(folder: Path, extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "CODEMOD_TELEMETRY_FILE": str(folder / "telemetry.jsonl"), **extra}


def run_once(folder: Path, module: str, setup: str, env: dict[str, str], runs: int) -> dict:  # type: ignore[type-arg]
    code = RUNNER.format(module=module, setup=setup, runs=runs)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env=environment(folder, env),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def instructions(folder: Path, module: str, env: dict[str, str]) -> int:
    """Instructions of one main() run: (3 runs - 1 run) / 2, which cancels start-up."""
    counts = []
    for runs in (1, 3):
        code = f"import {module} as w\nfor _ in range({runs}): w.main()"
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                code,
            ],
            cwd=folder,
            env=environment(folder, env),
            capture_output=True,
            text=True,
            check=True,
        )
        counts.append(int(re.search(r"Collected : (\d+)", done.stderr).group(1)))  # type: ignore[union-attr]
    return (counts[1] - counts[0]) // 2


def count_calls(folder: Path) -> tuple[int, int]:
    """Instrumented calls and loop iterations in one main() run."""
    (folder / "telemetry.jsonl").unlink(missing_ok=True)
    code = "import calls_instrumented as w\nw.main()"
    subprocess.run(
        [sys.executable, "-c", code], cwd=folder, env=environment(folder, {}), check=True
    )
    calls = iterations = 0
    for line in (folder / "telemetry.jsonl").read_text().splitlines():
        record = json.loads(line)
        calls += record.get("calls", 0) if record["type"] == "function" else 0
        iterations += record.get("iterations", 0) if record["type"] == "loop" else 0
    return calls, iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per process")
    parser.add_argument("--instructions", action="store_true", help="also count instructions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        folder = Path(tmp)
        source = (HERE / "workload" / "calls.py").read_text()
        (folder / "calls.py").write_text(source)
        instrumented = instrument_text(source, module="calls", relpath="calls.py")
        (folder / "calls_instrumented.py").write_text(instrumented)
        shutil.copy(HELPER, folder / "_telemetry_utils.py")
        calls, iterations = count_calls(folder)
        best: dict[str, dict[str, float]] = {}
        results = set()
        for round_ in range(args.repeat):
            for name, (module, setup, env, every_round) in VARIANTS.items():
                if not every_round and round_:
                    continue
                runs = args.runs if every_round else 1
                measured = run_once(folder, module, setup, env, runs)
                results.add(round(float(measured["result"]), 6))
                previous = best.setdefault(name, {"wall": measured["wall"], "cpu": measured["cpu"]})
                previous["wall"] = min(previous["wall"], measured["wall"])
                previous["cpu"] = min(previous["cpu"], measured["cpu"])
        counted = {}
        if args.instructions and shutil.which("valgrind"):
            for name, (module, _, env, every_round) in VARIANTS.items():
                if every_round and not name.startswith("OpenTelemetry"):
                    counted[name] = instructions(folder, module, env)
    assert len(results) == 1, f"variants disagree: {results}"
    base = best["original"]
    print(f"workload: benchmarks/workload/calls.py; per run {calls} instrumented calls and")
    print(f"  {iterations} loop iterations; Python {sys.version.split()[0]}")
    print(f"best of {args.repeat} interleaved rounds x {args.runs} runs (wall time; CPU time)")
    for name, times in best.items():
        ratio = times["wall"] / base["wall"]
        cpu_ratio = times["cpu"] / base["cpu"]
        extra = ""
        if name != "original":
            per_call = (times["wall"] - base["wall"]) / calls * 1e9
            extra = f", {per_call:+.0f} ns per call"
        target = next((f"  (target <= {t}x)" for k, t in TARGETS.items() if name.startswith(k)), "")
        print(
            f"  {name:40s} {times['wall'] * 1000:8.1f} ms  {ratio:5.2f}x wall"
            f"  {cpu_ratio:5.2f}x cpu{extra}{target}"
        )
    if counted:
        print("instructions per run (callgrind; independent of machine load):")
        original = counted["original"]
        for name, count in counted.items():
            print(f"  {name:40s} {count:>13,}  {count / original:5.2f}x")


if __name__ == "__main__":
    main()

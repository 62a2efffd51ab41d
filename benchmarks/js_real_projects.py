# ruff: noqa: E501  (an embedded JavaScript program and Markdown rows)
"""Instrument a real JavaScript library and a real TypeScript project from npm.

- qs (JavaScript, CommonJS): its own tape test suite, original vs instrumented.
- rxjs (TypeScript, 251 ``src/**/*.ts`` files): ``tsc -p src/tsconfig.cjs.json`` with
  the pinned TypeScript of ``tests/node`` on both copies (same diagnostics?), then a
  script exercising the compiled output (same stdout?), and telemetry recorded.

Test files are excluded from instrumentation by default, as they should be. Prints a
Markdown table for RESULTS.md.

    python benchmarks/js_real_projects.py [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE.parent / "tests" / "node"

QS_DEPS = [
    "es-define-property@1",
    "side-channel@1",
    "tape@5",
    "es-value-fixtures@1",
    "for-each@0.3",
    "has-bigints@1",
    "has-override-mistake@1",
    "has-property-descriptors@1",
    "has-proto@1",
    "has-symbols@1",
    "iconv-lite@0.5",
    "mock-property@1",
    "object-inspect@1",
    "safer-buffer@2",
]

RX_CHECK = """\
const rx = require("./dist/cjs/index.js");
const op = require("./dist/cjs/operators/index.js");
const { TestScheduler } = require("./dist/cjs/testing/index.js");
const out = [];
rx.of(1, 2, 3, 4, 5).pipe(op.map((x) => x * 2), op.filter((x) => x > 4), op.reduce((a, b) => a + b, 0))
  .subscribe((v) => out.push(["reduce", v]));
rx.range(1, 20).pipe(op.scan((a, b) => a + b), op.takeWhile((x) => x < 100), op.toArray())
  .subscribe((v) => out.push(["scan", v]));
rx.from([[1, 2], [3]]).pipe(op.mergeMap((xs) => rx.from(xs)), op.distinctUntilChanged(), op.toArray())
  .subscribe((v) => out.push(["mergeMap", v]));
rx.combineLatest([rx.of(1, 2), rx.of("x")]).pipe(op.toArray()).subscribe((v) => out.push(["latest", v]));
rx.throwError(() => new Error("boom")).pipe(op.catchError((e) => rx.of(e.message)))
  .subscribe((v) => out.push(["catch", v]));
const subject = new rx.BehaviorSubject(0);
subject.pipe(op.pairwise(), op.take(2)).subscribe((v) => out.push(["pairwise", v]));
subject.next(1); subject.next(2); subject.next(3);
const scheduler = new TestScheduler((a, b) => out.push(["marbles", JSON.stringify(a) === JSON.stringify(b)]));
scheduler.run(({ cold, expectObservable }) => {
  expectObservable(cold("-a-b-c|").pipe(op.debounceTime(2), op.map((x) => x.toUpperCase())))
    .toBe("------(c|)", { c: "C" });
});
rx.firstValueFrom(rx.timer(5).pipe(op.map(() => "timer"))).then((v) => {
  out.push(["async", v]);
  console.log(JSON.stringify(out));
});
"""


def sh(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> str:
    done = subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    output = done.stdout + done.stderr
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{output[-3000:]}")
    return output


def unpack(tgz: Path, target: Path) -> Path:
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with tarfile.open(tgz) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def fetch(spec: str, downloads: Path) -> Path:
    downloads.mkdir(parents=True, exist_ok=True)
    name = sh(["npm", "pack", spec, "--silent"], cwd=downloads).strip().splitlines()[-1]
    return downloads / name


def instrument(folder: Path) -> str:
    output = sh([sys.executable, "-m", "codemodkit", "telemetry", str(folder)], cwd=folder)
    return next(line for line in output.splitlines() if line.startswith("constructs:"))


def install(deps: list[str], folder: Path) -> Path:
    """``deps`` installed in a folder of their own (the package's own package.json
    would drag in its whole development toolchain); returns its node_modules."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"private": true}\n')
    sh(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *deps], cwd=folder)
    return folder / "node_modules"


def telemetry_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def tsc() -> Path:
    binary = NODE_DIR / "node_modules" / ".bin" / "tsc"
    if not binary.exists():
        sh(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR)
    return binary


def run_qs(work: Path) -> str:
    tgz = fetch("qs@6.17.1", work / "downloads")
    original = unpack(tgz, work / "qs" / "original")
    instrumented = unpack(tgz, work / "qs" / "instrumented")
    constructs = instrument(instrumented)
    modules = install(QS_DEPS, work / "qs" / "deps")
    for folder in (original, instrumented):
        (folder / "node_modules").symlink_to(modules)
    results = []
    for folder in (original, instrumented):
        log = folder.parent / "telemetry.jsonl"
        log.unlink(missing_ok=True)
        started = time.perf_counter()
        output = sh(
            ["node", "node_modules/tape/bin/tape", "test/**/*.js"],
            cwd=folder,
            env={"CODEMOD_TELEMETRY_FILE": str(log)},
            ok=(0, 1),
        )
        seconds = time.perf_counter() - started
        passed = re.search(r"^# pass\s+(\d+)", output, re.MULTILINE)
        failed = re.search(r"^# fail\s+(\d+)", output, re.MULTILINE)
        results.append(
            (
                int(passed.group(1)) if passed else 0,
                int(failed.group(1)) if failed else 0,
                seconds,
                telemetry_lines(log),
            )
        )
    (p0, f0, s0, _), (p1, f1, s1, lines) = results
    same = "yes" if (p0, f0) == (p1, f1) else "NO"
    return (
        f"| qs 6.17.1 (JavaScript) | {constructs.removeprefix('constructs: ')} | tape: {p0} passed, "
        f"{f0} failed | {p1} passed, {f1} failed | {same} | {lines} | {s0:.1f}s -> {s1:.1f}s |"
    )


def diagnostics(output: str) -> list[str]:
    return sorted(set(re.findall(r"error (TS\d+)", output)))


def run_rxjs(work: Path) -> str:
    tgz = fetch("rxjs@7.8.2", work / "downloads")
    original = unpack(tgz, work / "rxjs" / "original")
    instrumented = unpack(tgz, work / "rxjs" / "instrumented")
    constructs = instrument(instrumented)
    modules = install(["tslib@2"], work / "rxjs" / "deps")
    for folder in (original, instrumented):
        (folder / "node_modules").symlink_to(modules)
    compiler = tsc()
    rows = []
    for folder in (original, instrumented):
        shutil.rmtree(folder / "dist", ignore_errors=True)
        started = time.perf_counter()
        build = sh([str(compiler), "-p", "src/tsconfig.cjs.json"], cwd=folder, ok=(0, 1, 2))
        seconds = time.perf_counter() - started
        (folder / "check.js").write_text(RX_CHECK)
        log = folder.parent / "telemetry.jsonl"
        log.unlink(missing_ok=True)
        run = sh(["node", "check.js"], cwd=folder, env={"CODEMOD_TELEMETRY_FILE": str(log)})
        rows.append((diagnostics(build), run.strip(), seconds, telemetry_lines(log)))
    (d0, out0, s0, _), (d1, out1, s1, lines) = rows
    same = "yes" if d0 == d1 and out0 == out1 else "NO"
    errors = ", ".join(d0) or "none"
    return (
        f"| rxjs 7.8.2 (TypeScript) | {constructs.removeprefix('constructs: ')} | tsc errors: {errors}; "
        f"run: {len(out0)} chars of output | tsc errors: {', '.join(d1) or 'none'}; run output "
        f"{'identical' if out0 == out1 else 'DIFFERENT'} | {same} | {lines} | tsc {s0:.1f}s -> {s1:.1f}s |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "codemodkit-js-real"
    )
    args = parser.parse_args()
    rows = []
    for name, job in (("qs", run_qs), ("rxjs", run_rxjs)):
        print(f"== {name}", flush=True)
        try:
            rows.append(job(args.work))
        except Exception as exc:  # one project's failure is a row, not the end
            rows.append(f"| {name} | | | | {str(exc).splitlines()[0]} | | |")
        print(rows[-1], flush=True)
    print()
    print("| project | instrumented | before | after | same | telemetry lines | time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()

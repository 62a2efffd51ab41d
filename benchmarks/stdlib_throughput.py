"""Throughput: `codemod telemetry --dry-run` vs libcst's no-op codemod on the stdlib.

Copies the running interpreter's ``Lib/`` (the .py files, without site-packages) and,
in the same run, times

* ``codemod telemetry --dry-run --include-tests -j N`` (parse, strip, collect, answer
  with the template provider, splice, re-check, diff), and
* ``python -m libcst.tool codemod --no-format -j N -u noop.NOOPCommand`` (parse,
  transform with a no-op visitor, regenerate, diff),

then prints files/s for both and the ratio. Run it as ``python benchmarks/stdlib_throughput.py``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def copy_stdlib(dest: Path) -> int:
    source = Path(os.__file__).parent
    count = 0
    for path in source.rglob("*.py"):
        rel = path.relative_to(source)
        if "site-packages" in rel.parts or "__pycache__" in rel.parts:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    return count


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    return time.perf_counter() - started, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stdlib-bench-") as tmp:
        lib = Path(tmp) / "Lib"
        total = copy_stdlib(lib)
        python = sys.version.split()[0]
        print(f"stdlib copy: {total} .py files from {Path(os.__file__).parent} (Python {python})")
        print(f"jobs: {args.jobs}")

        ours_cmd = [
            sys.executable, "-m", "codemodkit", "telemetry", "--dry-run", "--include-tests",
            "--max-file-size", "100MB", "-j", str(args.jobs), str(lib),
        ]  # fmt: skip
        ours_s, ours_err = timed(ours_cmd, Path(tmp))
        summary = next(
            line for line in ours_err.splitlines() if line.startswith("codemod telemetry:")
        )
        counts = {
            k: int(v) for v, k in re.findall(r"(\d+) (would change|unchanged|failed)", summary)
        }
        ours_files = sum(counts.values())

        libcst_cmd = [
            sys.executable, "-m", "libcst.tool", "codemod", f"--jobs={args.jobs}", "--no-format",
            "--hide-progress", "--unified-diff=1", "noop.NOOPCommand", str(lib),
        ]  # fmt: skip
        libcst_s, libcst_err = timed(libcst_cmd, Path(tmp))
        match = re.search(r"Finished codemodding (\d+) files", libcst_err)
        libcst_files = int(match.group(1)) if match else total

    ours_rate = ours_files / ours_s
    libcst_rate = libcst_files / libcst_s
    print(f"codemod telemetry --dry-run: {ours_files} files in {ours_s:.1f}s = {ours_rate:.1f}/s")
    print(f"  ({summary.split(': ', 1)[1]})")
    print(f"libcst no-op codemod: {libcst_files} files in {libcst_s:.1f}s = {libcst_rate:.1f}/s")
    print(
        f"ratio: codemod telemetry is {ours_rate / libcst_rate:.2f}x libcst's tool (target >= 1.5x)"
    )


if __name__ == "__main__":
    main()

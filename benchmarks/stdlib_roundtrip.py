"""Robustness on real code: every module of the standard library, instrumented and removed.

For each ``.py`` file of the running interpreter's ``Lib/`` that libcst can parse:
instrument it (in memory, template provider), compile the result, run the
instrumentation again (must change nothing) and remove it (must give back the
original byte for byte). Prints counts and any file that breaks a property.

    python benchmarks/stdlib_roundtrip.py [-j N]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from codemodkit.codemods.telemetry.python.codemod import instrument_text, strip_text
from codemodkit.parsers.python import PythonParseError
from codemodkit.sourcefile import SourceError, read_source


def check(path: Path) -> tuple[str, str]:
    try:
        text = read_source(path, "python", 10**8).text
        instrumented = instrument_text(text, module=path.stem, relpath=path.name)
    except (SourceError, PythonParseError) as exc:
        return "unparseable", f"{path}: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(instrumented, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        try:
            compile(text, str(path), "exec", dont_inherit=True)
        except SyntaxError:
            return "unparseable", f"{path}: the original does not compile either"
        return "BROKEN", f"{path}: instrumented code does not compile: {exc}"
    stripped = strip_text(instrumented)
    if stripped != text:
        return "BROKEN", f"{path}: removal does not restore the original"
    try:
        again = instrument_text(instrumented, module=path.stem, relpath=path.name)
    except PythonParseError as exc:
        return "BROKEN", f"{path}: a second run fails: {exc}"
    if again != instrumented:
        return "BROKEN", f"{path}: a second run changes the file"
    return "ok" if instrumented != text else "unchanged", ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    lib = Path(os.__file__).parent
    files = sorted(p for p in lib.rglob("*.py") if "site-packages" not in p.parts)
    counts: dict[str, int] = {}
    problems = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for status, detail in pool.map(check, files, chunksize=8):
            counts[status] = counts.get(status, 0) + 1
            if status == "BROKEN":
                problems.append(detail)
    print(f"Python {sys.version.split()[0]} standard library: {len(files)} files")
    for status, count in sorted(counts.items()):
        print(f"  {status}: {count}")
    for problem in problems:
        print(f"  {problem}")
    print("result:", "all properties hold" if not problems else f"{len(problems)} broken")


if __name__ == "__main__":
    main()

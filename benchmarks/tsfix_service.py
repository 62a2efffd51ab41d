"""Speed of the tsfix language-service helper (NodeService) against one ``tsc --noEmit``.

Takes rxjs 7.8.2's sources (``npm pack``, cached in ``benchmarks/work/``; or
``--source DIR`` holding ``src/tsconfig.cjs.json``), copies them to a temporary folder,
and seeds missing-import errors (TS2304) by deleting, in every module under
``src/internal``, its first one-line named import whose names the file uses. The copy
gets TypeScript from ``tests/node/node_modules`` (pinned 5.9.3; run ``npm ci`` there).

Then, in the same run:

* ``tsc --noEmit --incremental false -p src/tsconfig.cjs.json`` once (Node start and
  all; cold: no .tsbuildinfo from an earlier run);
* the tier-0 loop through NodeService, twice: start + load + diagnostics, each file's
  combined ``fixMissingImport`` fix, validation with ``check`` and ``commit`` - once with
  one ``check`` per file (``per-file``), once with one ``check`` for all files
  (``batch``) - and the final diagnostics;
* single ``check`` calls on the clean project: a body-only edit (the file alone is
  rechecked), an exported-signature edit (its importers too) and ``full=True``.

Prints, per round, "tier-0 loop = X x tsc" by wall clock and by CPU time (the issue's
target is <= 3x; on a shared machine CPU time is the steadier measure), then the phases
of the fastest loops. Each loop ends by checking that its incremental diagnostics equal a
full recheck of every file (not timed). Run it as ``python benchmarks/tsfix_service.py
[--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from codemodkit.tsfix.locate import find_typescript
from codemodkit.tsfix.service import NodeService
from codemodkit.tsfix.types import Diagnostic, TextChange

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "benchmarks" / "work"
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
CONFIG = "src/tsconfig.cjs.json"
_IMPORT = re.compile(r"^import \{ ([^}]+) \} from '[^']+';\n", re.MULTILINE)


def fetch_rxjs(work: Path) -> Path:
    folder = work / "rxjs-7.8.2" / "package"
    if (folder / CONFIG).is_file():
        return folder
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["npm", "pack", "rxjs@7.8.2", "--silent", "--pack-destination", str(work)],
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = work / done.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        archive.extractall(folder.parent, filter="data")
    tarball.unlink()
    return folder


def seed(project: Path) -> int:
    """Delete one used named import per module; returns how many files were seeded."""
    seeded = 0
    for file in sorted((project / "src" / "internal").rglob("*.ts")):
        if file.name in ("index.ts", "umd.ts"):
            continue
        text = file.read_text(encoding="utf-8")
        for match in _IMPORT.finditer(text):
            rest = text[: match.start()] + text[match.end() :]
            names = [n.strip().split(" as ")[-1] for n in match[1].split(",")]
            if all(re.search(rf"\b{re.escape(n)}\b", rest) for n in names):
                file.write_text(rest, encoding="utf-8")
                seeded += 1
                break
    return seeded


def apply(text: str, changes: tuple[TextChange, ...]) -> str:
    for change in sorted(changes, key=lambda c: c.start, reverse=True):
        text = text[: change.start] + change.new_text + text[change.end :]
    return text


def timed(label: str, phases: dict[str, float], run: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = run()
    phases[label] = time.perf_counter() - started
    return result


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children (less sensitive
    than wall time to the other jobs of a shared machine)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def helper_cpu_seconds(pid: int) -> float:
    """CPU time of a running process so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tsc_seconds(project: Path) -> tuple[float, float, int]:
    """One ``tsc --noEmit``: (wall seconds, CPU seconds, errors)."""
    tsc = find_typescript(project).tsc
    started, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run(
        # rxjs's config says `incremental`: without this a second run would reuse the first
        # one's .tsbuildinfo and skip the type check
        ["node", str(tsc), "--noEmit", "--incremental", "false", "--pretty", "false", "-p", CONFIG],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    return seconds, cpu_seconds() - cpu, len(re.findall(r"error TS\d+", done.stdout))


def tier0(project: Path, *, batch: bool) -> tuple[dict[str, float], int, int, int]:
    """The tier-0 loop for missing imports; (phases, errors before, after, rechecked)."""
    mode = "batch" if batch else "per-file"
    phases: dict[str, float] = {}
    started, cpu = time.perf_counter(), cpu_seconds()
    config = project / CONFIG
    service = timed(
        "start+load",
        phases,
        lambda: NodeService.start(config, find_typescript(config), timeout=900),
    )
    assert isinstance(service, NodeService)
    with service:
        before: list[Diagnostic] = timed("diagnostics", phases, service.diagnostics)  # type: ignore[assignment]
        files = sorted({d.file for d in before if d.code == 2304 and d.file})

        def fixes() -> dict[str, str]:
            texts = {}
            for file in files:
                changes = service.combined_fix(file, "fixMissingImport")
                if changes:
                    texts[file] = apply(service.text(file), changes[0].changes)
            return texts

        texts: dict[str, str] = timed("combined fixes", phases, fixes)  # type: ignore[assignment]
        rechecked = 0

        def validate() -> None:
            nonlocal rechecked
            groups = [texts] if batch else [{f: t} for f, t in texts.items()]
            for group in groups:
                service.check(group)
                rechecked += service.last_rechecked or len(service.files())
                service.commit(group)

        timed("check+commit", phases, validate)
        after = timed("final diagnostics", phases, service.diagnostics)
        assert isinstance(after, list)
        phases["total"] = time.perf_counter() - started
        phases["cpu"] = cpu_seconds() - cpu + helper_cpu_seconds(service.pid)
        # not timed: the incremental answers must equal a from-scratch check of every file
        if after != service.check({}, full=True):
            raise SystemExit(f"{mode}: the incremental diagnostics differ from a full check")
    return phases, len(before), len(after), rechecked


def single_checks(project: Path) -> dict[str, float]:
    config = project / CONFIG
    phases: dict[str, float] = {}
    with NodeService.start(config, find_typescript(config), timeout=900) as service:
        timed("diagnostics (full)", phases, service.diagnostics)
        file = str(project / "src/internal/operators/map.ts")
        text = service.text(file)
        body = text.replace("index++", "index += 1")
        signature = text.replace("index: number) => R", "index: string) => R")
        timed("check, body edit (1st)", phases, lambda: service.check({file: body}))
        timed("check, body edit (again)", phases, lambda: service.check({file: body + "\n"}))
        timed("check, signature edit", phases, lambda: service.check({file: signature}))
        phases["  files rechecked"] = float(service.last_rechecked or 0)
        timed("check, full=True", phases, lambda: service.check({file: body}, full=True))
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", type=Path, help="an unpacked rxjs 7.8.2 package folder")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    source = args.source or fetch_rxjs(WORK)
    with tempfile.TemporaryDirectory(prefix="tsfix-bench-") as tmp:
        project = Path(tmp) / "rxjs"
        shutil.copytree(source, project, ignore=shutil.ignore_patterns("dist", "node_modules"))
        (project / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
        clean = Path(tmp) / "clean"
        shutil.copytree(project, clean, symlinks=True)
        seeded = seed(project)
        rounds: list[dict[str, float]] = []
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.repeat):
            tsc, tsc_cpu, errors = tsc_seconds(project)
            row = {"tsc": tsc, "tsc cpu": tsc_cpu, "errors": errors}
            for mode in ("per-file", "batch"):
                phases, before, after, rechecked = tier0(project, batch=mode == "batch")
                row[mode], row[f"{mode} cpu"] = phases["total"], phases["cpu"]
                if phases["total"] < best.get(mode, {}).get("total", float("inf")):
                    best[mode] = {
                        **phases,
                        "errors before": before,
                        "errors after": after,
                        "files rechecked": rechecked,
                    }
            rounds.append(row)
            singles = single_checks(clean)
            if singles["check, body edit (again)"] < best.get("single", {}).get(
                "check, body edit (again)", float("inf")
            ):
                best["single"] = singles
    print(f"rxjs 7.8.2: {seeded} modules seeded, {rounds[0]['errors']:.0f} errors (tsc)")
    for i, row in enumerate(rounds, 1):
        parts = [f"round {i}: tsc --noEmit {row['tsc']:.2f}s (cpu {row['tsc cpu']:.2f}s)"]
        for mode in ("per-file", "batch"):
            wall, cpu = row[mode], row[f"{mode} cpu"]
            parts.append(
                f"tier-0 {mode} {wall:.2f}s = {wall / row['tsc']:.2f} x tsc "
                f"(cpu {cpu:.2f}s = {cpu / row['tsc cpu']:.2f} x)"
            )
        print("\n    ".join(parts))
    for mode in ("per-file", "batch"):
        print(f"fastest tier-0 loop ({mode}):")
        for key, value in best[mode].items():
            print(f"    {key}: {value:.2f}" if isinstance(value, float) else f"    {key}: {value}")
    print("single checks on the clean project (s):")
    for key, value in best["single"].items():
        print(f"    {key}: {value:.3f}")


if __name__ == "__main__":
    main()

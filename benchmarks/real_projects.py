"""Instrument real open-source projects and run their own test suites.

For each project: download its sdist from PyPI (``pip download --no-deps
--no-binary :all:``), unpack it twice, run ``codemod telemetry`` on one copy (test
files are excluded by default, as they should be), install each copy non-editably
into its own virtualenv with the test requirements, run the project's tests from a
copy of the tests folder, and compare the pass/fail counts. Telemetry must have
been recorded by the instrumented run. Prints a Markdown table for RESULTS.md.

    python benchmarks/real_projects.py [--only NAME] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    #: the test folder inside the sdist, run with pytest from a neutral folder
    tests: str
    requirements: tuple[str, ...] = ("pytest", "hypothesis")
    pytest_args: tuple[str, ...] = ()
    notes: str = ""


PROJECTS = [
    Project("more-itertools", "11.2.1", "tests"),
    Project("toolz", "1.2.0", "toolz/tests"),
    Project("idna", "3.20", "tests"),
    Project("attrs", "26.1.0", "tests", ("pytest", "hypothesis", "cloudpickle", "pympler")),
    Project("boltons", "26.2.0", "tests"),
    Project("isodate", "0.7.2", "tests"),
    Project("packaging", "26.3", "tests", ("pytest", "hypothesis", "pretend", "tomli_w")),
    # pytest-cov registers the no_cover mark dateutil's tests use
    Project(
        "python-dateutil",
        "4.0.0",
        "tests",
        ("pytest", "hypothesis", "freezegun", "pytest-cov", "attrs"),
    ),
]


@dataclass
class Outcome:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    seconds: float = 0.0
    telemetry_lines: int = 0
    summary: str = ""
    log: list[str] = field(default_factory=list)


def sh(
    command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 1800
) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    if done.returncode not in (0, 1):  # pytest: 1 = some tests failed
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}:\n{output[-3000:]}")
    return output


def fetch(project: Project, work: Path) -> Path:
    downloads = work / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    spec = f"{project.name}=={project.version}"
    existing = [
        p for p in downloads.iterdir() if p.name.lower().replace("_", "-").startswith(project.name)
    ]
    if not existing:
        sh([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", spec,
            "-d", str(downloads)], cwd=work)  # fmt: skip
        existing = [
            p
            for p in downloads.iterdir()
            if p.name.lower().replace("_", "-").startswith(project.name)
        ]
    return existing[0]


def unpack(archive: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    (root,) = list(dest.iterdir())
    return root


def run_suite(project: Project, source: Path, env_dir: Path, telemetry: Path) -> Outcome:
    outcome = Outcome()
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / "bin" / "python")
    sh([python, "-m", "pip", "install", "-q", *project.requirements], cwd=source)
    sh([python, "-m", "pip", "install", "-q", "."], cwd=source)
    # Run the tests from a copy outside the source tree so they import the installed package.
    tests = env_dir / "tests-run"
    if not (source / project.tests).is_dir():
        raise RuntimeError(f"the sdist has no {project.tests}/ folder")
    shutil.copytree(source / project.tests, tests / Path(project.tests).name)
    for config in ("pyproject.toml", "setup.cfg", "pytest.ini", "tox.ini", "conftest.py"):
        if (source / config).is_file():
            shutil.copy(source / config, tests / config)
    started = time.perf_counter()
    output = sh(
        [
            python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *project.pytest_args,
            Path(project.tests).name,
        ],
        cwd=tests,
        env={"CODEMOD_TELEMETRY_FILE": str(telemetry)},
    )
    outcome.seconds = time.perf_counter() - started
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    outcome.summary = summary
    for count, kind in re.findall(r"(\d+) (passed|failed|error|errors|skipped)", summary):
        key = "errors" if kind.startswith("error") else kind
        setattr(outcome, key, getattr(outcome, key) + int(count))
    if telemetry.exists():
        outcome.telemetry_lines = len(telemetry.read_text().splitlines())
    return outcome


def counts(outcome: Outcome) -> str:
    return f"{outcome.passed} passed, {outcome.failed} failed, {outcome.errors} errors"


def instrument(source: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "codemodkit", "telemetry", str(source)],
        capture_output=True,
        text=True,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    return done.stderr.strip()


def check(project: Project, work: Path) -> dict[str, object]:
    archive = fetch(project, work)
    original = unpack(archive, work / project.name / "original")
    instrumented = unpack(archive, work / project.name / "instrumented")
    report = instrument(instrumented)
    print(report, flush=True)
    before = run_suite(
        project, original, work / project.name / "venv-original", work / project.name / "t0.jsonl"
    )
    after = run_suite(
        project,
        instrumented,
        work / project.name / "venv-instrumented",
        work / project.name / "t1.jsonl",
    )
    same = (before.passed, before.failed, before.errors) == (
        after.passed,
        after.failed,
        after.errors,
    )
    print(f"original:     {before.summary}")
    print(f"instrumented: {after.summary} (telemetry lines: {after.telemetry_lines})", flush=True)
    constructs = re.search(r"constructs: (.*?);", report)
    return {
        "project": f"{project.name} {project.version}",
        "instrumented": constructs.group(1) if constructs else report.splitlines()[-1],
        "original": counts(before),
        "after": counts(after),
        "same": "yes" if same and after.telemetry_lines > 0 else "NO",
        "telemetry": after.telemetry_lines,
        "time": f"{before.seconds:.1f}s -> {after.seconds:.1f}s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only these projects")
    # Outside this repository: its .gitignore and pytest settings must not apply.
    default_work = Path(tempfile.gettempdir()) / "codemodkit-real-projects"
    parser.add_argument("--work", type=Path, default=default_work)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for project in PROJECTS:
        if args.only and project.name not in args.only:
            continue
        print(f"== {project.name} {project.version}", flush=True)
        try:
            rows.append(check(project, args.work))
        except Exception as exc:  # report it and go on with the next project
            print(f"could not run: {exc}", flush=True)
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows.append({"project": f"{project.name} {project.version}", "same": first_line})
    print()
    print("| project | instrumented | tests before | tests after | same | telemetry | test time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        cells = ("project", "instrumented", "original", "after", "same", "telemetry", "time")
        print("| " + " | ".join(str(row.get(cell, "")) for cell in cells) + " |")
    (args.work / "results.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

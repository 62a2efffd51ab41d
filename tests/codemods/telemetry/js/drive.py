"""Run instrumented modules under Node and hold the real helper's JSON lines up against
what V8 says ran.

``driver.mjs`` imports every file in one Node process, captures what each logs, and
counts with V8's block coverage how often each ``_codemod_tel.leave/error/loop/value``
call of a file ran. The helper writes its JSON lines to ``CODEMOD_TELEMETRY_FILE`` at
exit. ``expected`` turns the counts into the numbers the lines must hold (calls,
errors, loop runs, variable samples, per site) and ``recorded`` sums the lines the same
way, so a test compares two dicts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from js_support import NodeTools, run_node

DRIVER = Path(__file__).with_name("driver.mjs")

#: (what, file, line, qualname, variable name or "") -> a count
Key = tuple[str, str, int, str, str]
#: what each telemetry call's count means in the JSON lines
_MEANING = {"leave": "calls", "error": "errors", "loop": "runs", "value": "sampled"}


@dataclass(frozen=True)
class Driven:
    logs: dict[str, list[str]]  # by the path given
    counts: dict[str, list[tuple[str, str, int]]]  # (call, site key, times it ran)
    lines: list[dict[str, Any]]  # the helper's JSON lines


def drive(
    files: Sequence[Path],
    cwd: Path,
    tools: NodeTools,
    env: Mapping[str, str] | None = None,
    lower: Iterable[Path] = (),
) -> Driven:
    """Run ``files`` (in this order) in one Node process; its telemetry goes to
    ``cwd/telemetry.jsonl``. Files in ``lower`` are compiled by TypeScript first (to
    ES2022, for syntax this Node cannot run)."""
    telemetry = cwd / "telemetry.jsonl"
    telemetry.unlink(missing_ok=True)
    typescript = tools.node_modules / "typescript"
    done = run_node(
        DRIVER,
        cwd,
        {"CODEMOD_TELEMETRY_FILE": str(telemetry), **(env or {})},
        args=[f"--typescript={typescript}", *(f"--lower={f}" for f in lower), *map(str, files)],
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    text = telemetry.read_text(encoding="utf-8") if telemetry.exists() else ""
    lines = [json.loads(line) for line in text.splitlines()]
    counts = {f: [(c, s, n) for c, s, n in calls] for f, calls in found["counts"].items()}
    return Driven(found["logs"], counts, lines)


def _site(key: str, variable: bool) -> tuple[str, int, str, str]:
    """``path:line:qualname[|event]`` or ``path:line:qualname:name`` (variables)."""
    path, line, rest = key.split(":", 2)
    name = ""
    if variable:
        rest, name = rest.rsplit(":", 1)
    return path, int(line), rest.split("|", 1)[0], name


def expected(counts: Iterable[tuple[str, str, int]]) -> dict[Key, int]:
    """What the JSON lines must say, from how often each telemetry call ran."""
    total: Counter[Key] = Counter()
    for call, site, times in counts:
        if call in _MEANING and times:
            total[(_MEANING[call], *_site(site, call == "value"))] += times
    return dict(total)


def recorded(
    lines: Iterable[Mapping[str, Any]], files: Iterable[str] | None = None
) -> dict[Key, int]:
    """The JSON lines summed per site (they are deltas), optionally for some files only."""
    wanted = None if files is None else set(files)
    total: Counter[Key] = Counter()
    for line in lines:
        if wanted is not None and line["file"] not in wanted:
            continue
        where = (line["file"], line["line"])
        if line["type"] == "function":
            for what in ("calls", "errors"):
                total[(what, *where, line["name"], "")] += line[what]
        elif line["type"] == "loop":
            total[("runs", *where, line["function"], "")] += line["runs"]
        else:
            total[("sampled", *where, line["function"], line["name"])] += line["sampled"]
    return {key: count for key, count in total.items() if count}

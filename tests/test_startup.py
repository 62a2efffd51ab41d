"""Start-up: a run without a model loads none of the model, cache or tsfix machinery,
and a run without a terminal or ``--report`` none of the progress bar or report code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: modules a template-only `codemod telemetry` run must not import (each costs start-up)
HEAVY = (
    "httpx", "pyrate_limiter", "tenacity", "diskcache", "libcst", "codemodkit.tsfix",
    "rich.progress", "codemodkit.output.report",  # a progress bar and --report only
)  # fmt: skip

_PROBE = """
import json, sys
from codemodkit.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""


def _loaded(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_a_template_run_on_typescript_loads_no_model_cache_or_tsfix_code(tmp_path: Path) -> None:
    source = tmp_path / "a.ts"
    source.write_text("export function f(a: number): number {\n  return a + 1;\n}\n")
    modules = _loaded("telemetry", "--dry-run", str(source))
    assert "tree_sitter" in modules  # it did the work
    assert _heavy(modules) == []


def test_the_probe_sees_the_http_client_where_a_command_uses_it(tmp_path: Path) -> None:
    # doctor asks the (unreachable) endpoint for its models: httpx is loaded then
    modules = _loaded(
        "doctor", "--provider", "openai", "--model", "m", "--endpoint", "http://127.0.0.1:9",
        "--api-key", "k", str(tmp_path),
    )  # fmt: skip
    assert "httpx" in modules

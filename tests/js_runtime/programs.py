"""Run a small program against a copy of the JS helper in a fresh folder."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from js_support import run_node

from codemodkit.codemods.telemetry.js.runtime import Flavor, helper_source

from .scenario import read_lines, write_package


@dataclass
class Outcome:
    process: subprocess.CompletedProcess[str]
    folder: Path
    lines: list[dict[str, Any]]  # from telemetry.jsonl in the folder
    result: dict[str, Any]  # what the program wrote to result.json

    @property
    def silent(self) -> bool:
        return self.process.stdout == "" and self.process.stderr == ""


def run_program(
    folder: Path,
    source: str,
    *,
    flavor: Flavor = "cjs",
    main: str = "main.js",
    package_type: str | None = None,
    files: Mapping[str, str] = {},
    env: Mapping[str, str] | None = None,
    telemetry: bool = True,
) -> Outcome:
    """Write the helper (as ``_telemetry_utils.js``), ``files`` and ``main`` into
    ``folder`` and run ``main``; telemetry goes to ``folder/telemetry.jsonl`` unless
    ``telemetry`` is false (then the environment decides)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_package(folder, package_type)
    (folder / "_telemetry_utils.js").write_bytes(helper_source(flavor))
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / main).write_text(source, encoding="utf-8")
    full_env = {"CODEMOD_TELEMETRY_FILE": str(folder / "telemetry.jsonl")} if telemetry else {}
    full_env.update(env or {})
    process = run_node(folder / main, folder, full_env)
    seen = folder / "result.json"
    result = json.loads(seen.read_text()) if seen.exists() else {}
    return Outcome(process, folder, read_lines(folder / "telemetry.jsonl"), result)

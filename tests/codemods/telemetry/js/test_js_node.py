"""Original and instrumented JavaScript fixtures run under Node with equal results.

Every runnable fixture (``.js``, ``.mjs``, ``.cjs``) runs twice - as written and as
instrumented in its ``.output`` file - in a single Node process, each in a package
whose ``type`` matches the module system the codemod chose for it, beside the helper
of that flavor. What they log must be identical, and the helper must have seen every
file's functions.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemodkit.codemods.telemetry.js.runtime import helper_source

from .node_support import run_node

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "js" / "telemetry"
CASES = sorted(p.name for p in FIXTURES.glob("*.input.*") if p.suffix in (".js", ".mjs", ".cjs"))


def _module_system(name: str) -> str:
    output = (FIXTURES / name.replace(".input.", ".output.")).read_text(encoding="utf-8")
    return "esm" if "import * as _codemod_tel" in output else "cjs"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    top = tmp_path_factory.mktemp("node")
    files: list[Path] = []
    for variant in ("original", "instrumented"):
        for system in ("esm", "cjs"):
            folder = top / variant / system
            folder.mkdir(parents=True)
            kind = "module" if system == "esm" else "commonjs"
            (folder / "package.json").write_text(json.dumps({"type": kind}))
            if variant == "instrumented":
                (folder / "_telemetry_utils.js").write_bytes(helper_source(system))  # type: ignore[arg-type]
    for name in CASES:
        system = _module_system(name)
        case, _, ext = name.partition(".input.")
        for variant, source in (
            ("original", name),
            ("instrumented", name.replace(".input.", ".output.")),
        ):
            target = top / variant / system / f"{case}.{ext}"
            shutil.copyfile(FIXTURES / source, target)
            files.append(target)
    yield run_node(files, top)


def _logs(runs: dict[str, object], variant: str, name: str) -> list[str]:
    case, _, ext = name.partition(".input.")
    (found,) = [
        v for k, v in runs.items() if k.endswith(f"/{variant}/{_module_system(name)}/{case}.{ext}")
    ]
    assert isinstance(found, list)
    return found


@pytest.mark.parametrize("name", CASES)
def test_same_results(runs: dict[str, object], name: str) -> None:
    original = _logs(runs, "original", name)
    assert original and not any(line.startswith("THROW") for line in original)
    assert _logs(runs, "instrumented", name) == original


@pytest.mark.parametrize("name", CASES)
def test_functions_were_recorded(runs: dict[str, object], name: str) -> None:
    telemetry = runs["__telemetry__"]
    assert isinstance(telemetry, dict)
    case, _, ext = name.partition(".input.")
    entered = [site for site in telemetry["enter"] if site.startswith(f"{case}.{ext}:")]
    left = [site for site in telemetry["leave"] if site.startswith(f"{case}.{ext}:")]
    assert entered and sorted(entered) == sorted(left)

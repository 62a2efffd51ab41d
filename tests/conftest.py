"""Shared fixtures: instrumented modules side by side with their originals."""

from __future__ import annotations

import importlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, settings

from codemodkit.codemods.telemetry.python.codemod import instrument_text

REPO = Path(__file__).resolve().parent.parent
HELPER_SOURCE = REPO / "codemodkit" / "codemods" / "telemetry" / "runtime" / "_telemetry_utils.py"

# Every test process writes its telemetry to its own file, never to the working folder.
_TELEMETRY_DIR = Path(tempfile.mkdtemp(prefix="codemod-tests-"))
os.environ["CODEMOD_TELEMETRY_FILE"] = str(_TELEMETRY_DIR / f"telemetry-{os.getpid()}.jsonl")

# CI machines are shared: a slow draw or example is load, not a bug. Properties are
# still checked on every example; only the timing checks are off.
settings.register_profile(
    "shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("shared-machine")

_counter = itertools.count()


@dataclass
class Pair:
    original: ModuleType
    instrumented: ModuleType
    source: str
    instrumented_source: str


@pytest.fixture(scope="session")
def helper_dir() -> Iterator[Path]:
    """A folder on sys.path holding the runtime helper, shared by the session."""
    folder = Path(tempfile.mkdtemp(prefix="codemod-helper-"))
    shutil.copy(HELPER_SOURCE, folder / "_telemetry_utils.py")
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))


@pytest.fixture
def load_pair(helper_dir: Path):  # type: ignore[no-untyped-def]
    """``load_pair(source)`` imports ``source`` and its instrumented version as modules."""

    def load(source: str) -> Pair:
        source = textwrap.dedent(source)
        n = next(_counter)
        instrumented = instrument_text(source, module=f"instr_{n}", relpath=f"instr_{n}.py")
        (helper_dir / f"orig_{n}.py").write_text(source, encoding="utf-8")
        (helper_dir / f"instr_{n}.py").write_text(instrumented, encoding="utf-8")
        importlib.invalidate_caches()
        return Pair(
            original=importlib.import_module(f"orig_{n}"),
            instrumented=importlib.import_module(f"instr_{n}"),
            source=source,
            instrumented_source=instrumented,
        )

    return load


def run_codemod(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``codemod`` command line in a subprocess."""
    command = [sys.executable, "-m", "codemodkit", *args]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )

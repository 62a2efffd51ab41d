"""The progress bar a terminal gets on runs of many files (through a real pseudo-terminal)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect

from codemodkit.session import PROGRESS_MIN_FILES


def test_a_terminal_sees_the_files_counted_up_to_all_of_them(tmp_path: Path) -> None:
    for index in range(PROGRESS_MIN_FILES):
        (tmp_path / f"m{index}.py").write_text(f"def f{index}(x):\n    return x + {index}\n")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "codemodkit", "telemetry", "--dry-run", "-j1", "."],
        cwd=str(tmp_path),
        env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"},
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)
    assert child.exitstatus == 0, plain[-2000:]
    assert re.search(rf"telemetry\s.*\s{PROGRESS_MIN_FILES}/{PROGRESS_MIN_FILES}\b", plain)
    assert f"{PROGRESS_MIN_FILES} would change" in plain

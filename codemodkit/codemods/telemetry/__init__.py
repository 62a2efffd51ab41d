"""``codemod telemetry``: inject entry/exit/duration/error, loop and variable telemetry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from codemodkit.codemods.base import (
    Codemod,
    EditRequest,
    FileContext,
    FileOutcome,
    Prepared,
    Verdict,
)
from codemodkit.llm.base import Prompt
from codemodkit.sourcefile import DecodedSource

from .js.codemod import JsTelemetry
from .python.codemod import PythonTelemetry
from .python.placement import helper_users
from .python.sites import HELPER_ALIAS, HELPER_MODULE

__all__ = ["TelemetryCodemod", "helper_in_use"]


_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")


def _js_helper_users(helper: Path) -> list[Path]:
    """JavaScript/TypeScript files that may import ``helper``: the files below its
    folder (imports of it are relative and go up, never down)."""
    found = []
    for path in helper.parent.rglob("*"):
        if "node_modules" in path.parts or not path.name.endswith(_JS_SUFFIXES):
            continue
        if path.name.split(".", 1)[0] != HELPER_MODULE and path.is_file():
            found.append(path)
    return found


def helper_in_use(helper: Path, known: Mapping[Path, bool]) -> bool:
    """Does any file the helper serves still need it? ``known`` has this run's verdicts."""
    marker = HELPER_ALIAS.encode()
    users = helper_users(helper) if helper.suffix == ".py" else _js_helper_users(helper)
    for user in users:
        if user in known:
            if known[user]:
                return True
            continue
        try:
            if marker in user.read_bytes():
                return True
        except OSError:
            continue
    return False


class TelemetryCodemod:
    """Dispatches to the implementation for each file's language."""

    name = "telemetry"

    def __init__(self, remove: bool = False, include_generated: bool = False) -> None:
        self.by_language: dict[str, Codemod] = {
            "python": PythonTelemetry(remove=remove, include_generated=include_generated),
        }
        js = JsTelemetry(remove=remove, include_generated=include_generated)
        self.by_language["javascript"] = js
        self.by_language["typescript"] = js
        self.languages = frozenset(self.by_language)

    def prepare(self, context: FileContext, source: DecodedSource) -> Prepared | FileOutcome:
        return self.by_language[context.language].prepare(context, source)

    def prompt(self, request: EditRequest) -> Prompt:
        return self.by_language[request.language].prompt(request)

    def judge(self, request: EditRequest, answer: str) -> Verdict:
        return self.by_language[request.language].judge(request, answer)

    def finish(self, prepared: Prepared, answers: Mapping[str, str]) -> FileOutcome:
        return self.by_language[prepared.context.language].finish(prepared, answers)

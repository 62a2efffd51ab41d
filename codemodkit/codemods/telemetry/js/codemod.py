"""``codemod telemetry`` for JavaScript and TypeScript files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Query, QueryCursor

from codemodkit.codemods.base import (
    EditRequest,
    FileContext,
    FileOutcome,
    Prepared,
    SupportFile,
    Verdict,
)
from codemodkit.codemods.prompting import load_prompt
from codemodkit.edits import apply_insertions
from codemodkit.llm.base import Prompt
from codemodkit.parsers.javascript import (
    Dialect,
    JSParseError,
    ParsedJS,
    check_parses,
    dialect_for,
    language,
    parse_js,
)
from codemodkit.sourcefile import DecodedSource

from .answers import ANSWER_SCHEMA, judge_answer, parse_answer
from .collect import analyse, collect, find_import_site
from .layout import layout
from .placement import ImportKind, JsPlacement, JsPlacementResolver, import_statement
from .runtime import HELPER_MARKER, helper_source
from .sites import (
    RESERVED_PREFIX,
    FunctionSite,
    ImportSite,
    JsFacts,
    LoopSite,
    Site,
)
from .snippets import JsSnippet, model_snippet, site_key, template_snippet
from .strip import has_instrumentation, strip

__all__ = ["JsTelemetry", "helper_files", "instrument_text", "skip_reason", "strip_text"]

GENERATED_MARKER = "@" + "generated"
PROMPT = load_prompt("codemodkit.codemods.telemetry.prompts", "javascript.v1.txt")
#: a line this long is minified code, not source anyone reads
MAX_LINE = 1000
_RESERVED: dict[Dialect, Query] = {}


def helper_files(placement: JsPlacement) -> tuple[SupportFile, ...]:
    return (SupportFile(placement.helper, helper_source(placement.flavor), HELPER_MARKER),)


def skip_reason(text: str) -> str | None:
    """Why a file is output of a tool rather than source: minified or source-mapped."""
    if "//# sourceMappingURL=" in text or "//@ sourceMappingURL=" in text:
        return "generated output (has a sourceMappingURL comment)"
    if len(text) > MAX_LINE and max(map(len, text.splitlines())) > MAX_LINE:
        return f"minified (a line is longer than {MAX_LINE} characters)"
    return None


def _reserved_use(parsed: ParsedJS) -> int | None:
    """Line of the first identifier that uses the reserved prefix."""
    if RESERVED_PREFIX.encode() not in parsed.data:
        return None
    dialect = parsed.dialect
    if dialect not in _RESERVED:
        _RESERVED[dialect] = Query(
            language(dialect),
            f"""([(identifier) (shorthand_property_identifier)
                  (shorthand_property_identifier_pattern)] @id
                 (#match? @id "^{RESERVED_PREFIX}"))""",
        )
    found = QueryCursor(_RESERVED[dialect]).captures(parsed.root).get("id", [])
    return min(n.start_point.row for n in found) + 1 if found else None


def uses_esm_syntax(parsed: ParsedJS) -> bool:
    """Does the file have top-level ``import`` or ``export`` statements?"""
    return any(
        child.type in ("import_statement", "export_statement") for child in parsed.root.children
    )


def _kind(site: Site) -> str:
    if isinstance(site, FunctionSite):
        return "function"
    if isinstance(site, LoopSite):
        return "loop"
    return "variable"


@dataclass(frozen=True)
class _State:
    facts: JsFacts
    sites: tuple[Site, ...]
    import_site: ImportSite
    placement: JsPlacement
    dialect: Dialect


class JsTelemetry:
    """Instruments (or, with ``remove``, un-instruments) JavaScript and TypeScript."""

    name = "telemetry"
    languages = frozenset({"javascript", "typescript"})

    def __init__(self, remove: bool = False, include_generated: bool = False) -> None:
        self.remove = remove
        self.include_generated = include_generated
        self._resolver: JsPlacementResolver | None = None

    def __getstate__(self) -> dict[str, object]:
        return {
            "remove": self.remove,
            "include_generated": self.include_generated,
            "_resolver": None,
        }

    def placement(self, context: FileContext, parsed: ParsedJS) -> JsPlacement:
        if self._resolver is None:
            self._resolver = JsPlacementResolver()
        return self._resolver.placement(context.path, context.root, uses_esm_syntax(parsed))

    # -- prepare -------------------------------------------------------------------
    def prepare(self, context: FileContext, source: DecodedSource) -> Prepared | FileOutcome:
        text = source.text
        if not self.include_generated:
            if GENERATED_MARKER in text:
                return FileOutcome("skipped", "generated file")
            reason = skip_reason(text)
            if reason is not None:
                return FileOutcome("skipped", reason)
        dialect = dialect_for(context.path.suffix)
        try:
            parsed = parse_js(text, dialect)
        except JSParseError as exc:
            return FileOutcome("failed", str(exc))
        removed = None
        if has_instrumentation(text):
            removed = strip(parsed)
            try:
                parsed = parse_js(removed.text, dialect)
            except JSParseError as exc:
                return FileOutcome("failed", f"cannot remove the existing instrumentation: {exc}")
        line = _reserved_use(parsed)
        if line is not None:
            why = (
                "existing instrumentation was edited by hand"
                if removed is not None and removed.removed
                else f"uses the reserved prefix {RESERVED_PREFIX!r}"
            )
            return FileOutcome("failed", f"line {line}: {why}; rename it or exclude the file")
        placement = self.placement(context, parsed)
        if self.remove:
            counts = {
                "function": removed.functions if removed else 0,
                "loop": removed.loops if removed else 0,
                "variable": removed.variables if removed else 0,
            }
            return FileOutcome(
                "changed" if parsed.text != text else "unchanged",
                text=parsed.text,
                counts=counts,
                releases=helper_files(placement),
            )
        if placement.skip is not None:
            return FileOutcome("skipped", placement.skip)
        js_facts, plan = analyse(parsed, placement.relpath)
        sites = tuple(plan.sites())
        requests = [self._request(context, placement, parsed, site) for site in sites]
        state = _State(
            facts=js_facts,
            sites=sites,
            import_site=find_import_site(parsed),
            placement=placement,
            dialect=dialect,
        )
        notes = tuple(f"line {line}: {reason}" for line, reason in plan.skipped)
        return Prepared(context=context, source=source, requests=requests, state=state, notes=notes)

    def _request(
        self, context: FileContext, placement: JsPlacement, parsed: ParsedJS, site: Site
    ) -> EditRequest:
        info: dict[str, str | tuple[str, ...]] = {
            "qualname": site.qualname,
            "site": site_key(placement.relpath, site),
        }
        if isinstance(site, FunctionSite):
            info["flavor"] = site.flavor
            info["params"] = site.params
        elif isinstance(site, LoopSite):
            info["flavor"] = site.flavor
        else:
            info["names"] = getattr(site, "names", ())
        start, end = site.span
        return EditRequest(
            id=site.id,
            file=context.display,
            language=context.language,
            kind=_kind(site),
            span=(start, end),
            line=site.line,
            code=parsed.data[start:end].decode("utf-8"),
            context=info,
            fallback="{}",
        )

    # -- prompt, judge and finish ---------------------------------------------------
    def prompt(self, request: EditRequest) -> Prompt:
        """What a model is asked about one construct. No line numbers or ids: an edit
        elsewhere in the file must not change this prompt (nor its cache key)."""
        context = request.context
        typescript = request.language == "typescript"
        system, user = PROMPT.render(
            {
                "language": "TypeScript" if typescript else "JavaScript",
                "fence": "ts" if typescript else "js",
                "kind": request.kind,
                "flavor": str(context.get("flavor", "")) or request.kind,
                "file": request.file,
                "qualname": str(context.get("qualname", "")),
                "params": ", ".join(context.get("params", ())) or "-",
                "names": ", ".join(context.get("names", ())) or "-",
                "code": request.code,
            }
        )
        return Prompt(
            request_id=request.id,
            system=system,
            user=user,
            fallback=request.fallback,
            schema=ANSWER_SCHEMA,
            template_version=PROMPT.version,
        )

    def judge(self, request: EditRequest, answer: str) -> Verdict:
        return judge_answer(request.kind, request.context, answer)

    def snippet(self, site: Site, relpath: str, answer: str) -> JsSnippet:
        if answer.strip() == "{}":
            return template_snippet(site, relpath)
        choice = parse_answer(answer)
        return model_snippet(site, relpath, choice.event, choice.record)

    def finish(self, prepared: Prepared, answers: Mapping[str, str]) -> FileOutcome:
        state = prepared.state
        assert isinstance(state, _State)
        relpath = state.placement.relpath
        accepted: list[tuple[Site, JsSnippet]] = []
        counts = {"function": 0, "loop": 0, "variable": 0}
        from_model = False
        for request, site in zip(prepared.requests, state.sites, strict=True):
            answer = answers.get(request.id, request.fallback)
            if answer != request.fallback and not self.judge(request, answer).ok:
                answer = request.fallback
            from_model = from_model or answer != request.fallback
            accepted.append((site, self.snippet(site, relpath, answer)))
            counts[_kind(site)] += 1
        edits = layout(state.facts, accepted, state.import_site, state.placement.statement)
        new_data = apply_insertions(state.facts.data, edits)
        new_text = new_data.decode("utf-8")
        # A model's answer is untrusted input: the result is parsed again before it can
        # be written. Template snippets are fixed text placed by ``layout`` and are not:
        # that they always parse is a property the tests check (fixtures, generated
        # programs, real projects), and re-parsing them costs about 1.8 bare parses of
        # the file, as much as collecting, layout and the diff together
        # (benchmarks/RESULTS.md).
        if from_model and new_data != state.facts.data:
            try:
                check_parses(new_data, state.dialect)
            except JSParseError as exc:
                return FileOutcome(
                    "failed", f"instrumented code would not parse ({exc}); left untouched"
                )
        return FileOutcome(
            "changed" if new_text != prepared.source.text else "unchanged",
            text=new_text,
            counts=counts,
            needs=helper_files(state.placement) if accepted else (),
        )


def _statement(suffix: str, uses_esm: bool, module: str | None) -> str:
    """The import a file gets in ``instrument_text`` (no project on disk)."""
    if module is None:
        esm = suffix in (".mjs", ".mts", ".jsx", ".tsx") or (
            suffix not in (".cjs", ".cts") and (uses_esm or suffix == ".ts")
        )
        module = "esm" if esm else "cjs"
    kind: ImportKind = "require"
    if suffix == ".cts":  # "esm": an ES `module` setting, where `import =` is TS1202
        kind = "import" if module == "esm" else "import-require"
    elif module == "esm" or suffix in (".ts", ".tsx", ".mts"):
        kind = "import"
    return import_statement(kind, "./_telemetry_utils.js")


def instrument_text(
    text: str, relpath: str = "m.js", module: str | None = None, suffix: str | None = None
) -> str:
    """Instrument a file's source with template snippets, without touching any file.

    Existing instrumentation is stripped first, as the command does. ``module`` is
    "esm" or "cjs" (default: guessed from the extension and the text); the helper is
    imported from ``./_telemetry_utils.js``.
    """
    suffix = suffix or Path(relpath).suffix
    dialect = dialect_for(suffix)
    parsed = parse_js(text, dialect)
    if has_instrumentation(text):
        parsed = parse_js(strip(parsed).text, dialect)
    js_facts, plan = analyse(parsed, relpath)
    accepted = [(site, template_snippet(site, relpath)) for site in plan.sites()]
    statement = _statement(suffix, uses_esm_syntax(parsed), module)
    edits = layout(js_facts, accepted, find_import_site(parsed), statement)
    return apply_insertions(parsed.data, edits).decode("utf-8")


def strip_text(text: str, suffix: str = ".js") -> str:
    """``text`` with any telemetry instrumentation removed."""
    return strip(parse_js(text, dialect_for(suffix))).text


def skipped_notes(text: str, relpath: str = "m.js") -> list[tuple[int, str]]:
    """The constructs ``instrument_text`` leaves alone, with the reasons (for tests)."""
    parsed = parse_js(text, dialect_for(Path(relpath).suffix))
    return collect(parsed, relpath).skipped

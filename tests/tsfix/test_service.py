"""NodeService over the real TypeScript 5.9.3 language service, on seeded projects."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from js_support import NodeTools

from codemodkit.tsfix.locate import TypeScriptInstall, find_typescript
from codemodkit.tsfix.service import HelperRequestError, NodeService, helper_script
from codemodkit.tsfix.types import Diagnostic, ServiceError, TextChange

from .ts_projects import BASIC, EXTRAS, REFS, tsc_errors, write_project


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory, node_tools: NodeTools) -> Path:
    return write_project(tmp_path_factory.mktemp("basic"), BASIC, node_tools)


def start_spreading_by_shape(tsconfig: Path) -> NodeService:
    """A service that compares the shapes of importers, however few (the long way)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CODEMOD_TSFIX_ALWAYS_SPREAD", "1")
        return NodeService.start(tsconfig, find_typescript(tsconfig))


@pytest.fixture(scope="module")
def service(basic: Path) -> Iterator[NodeService]:
    with start_spreading_by_shape(basic) as svc:
        yield svc


@pytest.fixture
def fresh(basic: Path) -> Iterator[NodeService]:
    """A service of its own, for tests that change the baseline."""
    with NodeService.start(basic, find_typescript(basic)) as svc:
        yield svc


def src(project: Path, name: str) -> str:
    return str(project.parent / "src" / name)


def apply(text: str, changes: Iterable[TextChange]) -> str:
    for change in sorted(changes, key=lambda c: c.start, reverse=True):
        text = text[: change.start] + change.new_text + text[change.end :]
    return text


def found(diagnostics: Iterable[Diagnostic], code: int, file: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code == code and d.file == file]


def snapshot(project: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (project.parent / "src").rglob("*.ts")}


# -- diagnostics ---------------------------------------------------------------------


def test_diagnostics_are_tscs(service: NodeService, basic: Path, node_tools: NodeTools) -> None:
    ours = {(d.file, d.line, d.column, d.code) for d in service.diagnostics()}
    assert ours == tsc_errors(basic.parent, node_tools)


@pytest.mark.parametrize(
    ("code", "name", "text"),
    [
        (2304, "main.ts", "helperFn"),
        (2304, "main.ts", "Shape"),
        (6133, "other.ts", 'import { scale } from "./util";'),
        (6133, "other.ts", "leftover"),
        (1308, "other.ts", "await"),
        (7006, "other.ts", "value"),
        (4114, "other.ts", "run"),
        (2551, "other.ts", "flor"),
        (2322, "bom.ts", "bad"),
    ],
)
def test_offsets_slice_the_erroneous_text(
    service: NodeService, basic: Path, code: int, name: str, text: str
) -> None:
    file = src(basic, name)
    content = service.text(file)
    assert content == Path(file).read_text(encoding="utf-8")  # BOM included
    slices = [content[d.start : d.end] for d in found(service.diagnostics(), code, file)]
    assert text in slices


def test_emoji_before_an_error_keeps_python_offsets_and_tsc_columns(
    service: NodeService, basic: Path
) -> None:
    file = src(basic, "main.ts")
    content = service.text(file)
    [helper] = [d for d in found(service.diagnostics(), 2304, file) if "helperFn" in d.message]
    assert helper.start is not None and content[helper.start : helper.end] == "helperFn"
    line_start = content.rindex("\n", 0, helper.start) + 1
    before = content[line_start : helper.start]
    assert "😀" in before
    assert helper.line == 2
    assert helper.column == len(before.encode("utf-16-le")) // 2 + 1  # tsc's UTF-16 column


def test_message_chains_and_related_information(service: NodeService, basic: Path) -> None:
    file = src(basic, "other.ts")
    [spelling] = found(service.diagnostics(), 2551, file)
    assert (
        spelling.message == "Property 'flor' does not exist on type 'Math'. Did you mean 'floor'?"
    )
    assert any(r.message == "'floor' is declared here." for r in spelling.related)
    [await_] = found(service.diagnostics(), 1308, file)
    [hint] = await_.related
    assert hint.file == file and hint.start is not None
    assert service.text(file)[hint.start : hint.start + (hint.length or 0)] == "wait"


def test_message_chain_continuations_are_indented_like_tsc(
    service: NodeService, basic: Path
) -> None:
    file = src(basic, "main.ts")
    text = service.text(file) + "export const wrong: { a: { b: number } } = { a: { b: 'x' } };\n"
    [mismatch] = found(service.check({file: text}), 2322, file)
    assert mismatch.message == "Type 'string' is not assignable to type 'number'."
    nested = (
        service.text(file) + "const f: (x: number) => void = (x: string) => {};\nexport { f };\n"
    )
    [chain] = found(service.check({file: nested}), 2322, file)
    lines = chain.message.split("\n")
    assert len(lines) >= 2 and lines[1].startswith("  ") and not lines[1].startswith("   ")


# -- code fixes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name", "text", "fix_name"),
    [
        (2304, "main.ts", "Shape", "import"),
        (6133, "other.ts", "leftover", "unusedIdentifier"),
        (1308, "other.ts", "await", "fixAwaitInSyncFunction"),
        (7006, "other.ts", "value", "inferFromUsage"),
        (4114, "other.ts", "run", "fixOverrideModifier"),
        (2551, "other.ts", "flor", "spelling"),
    ],
)
def test_code_fixes_offer_typescripts_fix(
    service: NodeService, basic: Path, code: int, name: str, text: str, fix_name: str
) -> None:
    file = src(basic, name)
    content = service.text(file)
    [diagnostic] = [
        d for d in found(service.diagnostics(), code, file) if content[d.start : d.end] == text
    ]
    fixes = service.code_fixes(diagnostic)
    assert fix_name in [f.fix_name for f in fixes]
    fix = next(f for f in fixes if f.fix_name == fix_name)
    assert fix.description and fix.changes and fix.changes[0].file == file
    fixed = apply(content, fix.changes[0].changes)
    assert not [
        d
        for d in found(service.check({file: fixed}), code, file)
        if d.message == diagnostic.message
    ]


def test_a_fix_after_an_emoji_lands_where_python_expects(service: NodeService, basic: Path) -> None:
    file = src(basic, "main.ts")
    content = service.text(file)
    text = content.replace("export const box", "const box")  # unused now, after the emoji
    [unused] = [d for d in found(service.check({file: text}), 6133, file) if "box" in d.message]
    assert text[unused.start : unused.end] == "box"


def test_combined_fix_merges_two_imports(service: NodeService, basic: Path) -> None:
    file = src(basic, "main.ts")
    [changes] = service.combined_fix(file, "fixMissingImport")
    assert changes.file == file
    fixed = apply(service.text(file), changes.changes)
    assert 'import { helperFn, Shape } from "./util";' in fixed
    assert fixed.count("import ") == 1
    assert not found(service.check({file: fixed}), 2304, file)


def test_combined_fix_with_an_unknown_fix_id_is_a_clear_error(
    service: NodeService, basic: Path
) -> None:
    with pytest.raises(HelperRequestError, match="no combined fix with id noSuchFix"):
        service.combined_fix(src(basic, "main.ts"), "noSuchFix")
    assert service.diagnostics()  # still usable


# -- check and commit ------------------------------------------------------------------


def test_check_reports_an_error_gone_and_writes_nothing(service: NodeService, basic: Path) -> None:
    file = src(basic, "other.ts")
    before_disk = snapshot(basic)
    before = service.diagnostics()
    fixed = service.text(file).replace("function wait()", "async function wait()")
    after = service.check({file: fixed})
    assert not found(after, 1308, file)
    assert len(after) == len(before) - 1
    assert snapshot(basic) == before_disk
    assert service.diagnostics() == before  # the baseline is untouched
    assert service.text(file) == Path(file).read_text(encoding="utf-8")


def test_check_sees_a_new_error_in_a_dependent_file(service: NodeService, basic: Path) -> None:
    util = src(basic, "util.ts")
    changed = service.text(util).replace(
        "scale(x: number): number {\n  return x * 10;", "scale(x: number): string {\n  return 'x';"
    )
    after = service.check({util: changed})
    [assign] = found(after, 2322, src(basic, "consumer.ts"))
    assert assign.message == "Type 'string' is not assignable to type 'number'."
    # deep.ts imports util only through consumer's inferred export
    assert [d.code for d in after if d.file == src(basic, "deep.ts")]
    assert after == service.check({util: changed}, full=True)


def test_a_body_only_edit_rechecks_only_that_file(service: NodeService, basic: Path) -> None:
    util = src(basic, "util.ts")
    before = service.diagnostics()
    after = service.check({util: service.text(util).replace("x * 10", "x * 11")})
    assert service.last_rechecked == 1
    assert after == before


def test_a_shape_change_spreads_only_as_far_as_shapes_change(
    service: NodeService, basic: Path
) -> None:
    util = src(basic, "util.ts")
    changed = service.text(util).replace("helperFn(x: number)", "helperFn(x: string)")
    after = service.check({util: changed})
    # util's importers (consumer, other) are rechecked; consumer's own shape is unchanged,
    # so deep.ts, which imports consumer, is not
    assert service.last_rechecked == 3
    assert after == service.check({util: changed}, full=True)


def test_commit_makes_the_texts_the_baseline(fresh: NodeService, basic: Path) -> None:
    file = src(basic, "other.ts")
    before_disk = snapshot(basic)
    fixed = fresh.text(file).replace("function wait()", "async function wait()")
    fresh.check({file: fixed})
    fresh.commit({file: fixed})
    assert fresh.text(file) == fixed
    assert not found(fresh.diagnostics(), 1308, file)
    assert fresh.check({}) == fresh.diagnostics()
    assert snapshot(basic) == before_disk
    # committing without a check first works too, and later checks start from it
    util = src(basic, "util.ts")
    fresh.commit(
        {util: fresh.text(util).replace("scale(x: number): number", "scale(x: string): number")}
    )
    assert found(fresh.diagnostics(), 2345, src(basic, "consumer.ts"))
    again = fresh.check({file: fixed.replace("const leftover = 42;\n", "")})
    assert found(again, 2345, src(basic, "consumer.ts"))
    assert not [d for d in found(again, 6133, file) if "leftover" in d.message]


# One file, many random edits: the incremental answer must equal a full recheck.
_EDITS = [
    ("scale(x: number): number", "scale(x: number): string"),
    ("return x * 10;", "return String(x);"),
    ("return x * 10;", "return x * 12;"),
    ("export interface Shape", "interface Shape"),
    ("width: number;", "width: string;"),
    ("export function helperFn", "function helperFn"),
    ('import { scale } from "./util";', 'import { scale, helperFn } from "./util";'),
    ("export const inferred = scale(4);", "export const inferred = 'four';"),
    ("export const big: number = scale(3);", "export const big = scale(3) > 2;"),
]


@settings(max_examples=25)
@given(st.lists(st.sampled_from(range(len(_EDITS))), min_size=1, max_size=4, unique=True))
def test_incremental_check_equals_a_full_one(
    service: NodeService, basic: Path, picks: list[int]
) -> None:
    texts = {src(basic, n): service.text(src(basic, n)) for n in ("util.ts", "consumer.ts")}
    for pick in picks:
        old, new = _EDITS[pick]
        texts = {f: t.replace(old, new) for f, t in texts.items()}
    assert service.check(texts) == service.check(texts, full=True)


@pytest.fixture(scope="module")
def committing(basic: Path) -> Iterator[NodeService]:
    with start_spreading_by_shape(basic) as svc:
        yield svc


@settings(max_examples=15)
@given(
    st.lists(
        st.lists(st.sampled_from(range(len(_EDITS))), max_size=3, unique=True),
        min_size=1,
        max_size=3,
    )
)
def test_commits_keep_the_incremental_state_exact(
    committing: NodeService, basic: Path, rounds: list[list[int]]
) -> None:
    names = ("util.ts", "consumer.ts")
    for picks in rounds:
        texts = {src(basic, n): Path(src(basic, n)).read_text(encoding="utf-8") for n in names}
        for pick in picks:
            old, new = _EDITS[pick]
            texts = {f: t.replace(old, new) for f, t in texts.items()}
        committing.commit(texts)
        assert committing.diagnostics() == committing.check({}, full=True)


_LINE_CHARS = st.characters(
    blacklist_categories=("Cs",), blacklist_characters="\n\r\u2028\u2029\u0085"
)


@settings(max_examples=25)
@given(
    st.text(_LINE_CHARS, max_size=12),
    st.text(_LINE_CHARS.filter(lambda c: c not in '"\\'), max_size=8),
)
def test_offsets_survive_any_unicode_before_an_error(
    service: NodeService, basic: Path, comment: str, literal: str
) -> None:
    file = src(basic, "bom.ts")
    text = f'// {comment}\nconst s = "{literal}"; export const x: number = s;\n'
    [error] = [d for d in found(service.check({file: text}), 2322, file) if d.line == 2]
    assert text[error.start : error.end] == "x"
    prefix = text[text.index("\n") + 1 : error.start]
    assert error.column == len(prefix.encode("utf-16-le")) // 2 + 1


def test_type_info_describes_the_names_in_a_span(service: NodeService, basic: Path) -> None:
    file = src(basic, "consumer.ts")
    text = service.text(file)
    start = text.index("export const big")
    info = service.type_info(file, start, text.index("\n", start))
    assert "const big: number" in info
    assert "(alias) scale(x: number): number" in info
    assert len(service.type_info(file, 0, len(text), limit=2)) == 2


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory, node_tools: NodeTools) -> Path:
    return write_project(tmp_path_factory.mktemp("extras"), EXTRAS, node_tools)


def test_declaration_diagnostics_and_crlf_fixes(extras: Path) -> None:
    with NodeService.start(extras, find_typescript(extras)) as svc:
        diagnostics = svc.diagnostics()
        # (tsc itself only lists declaration errors once no other error is left)
        [isolated] = found(diagnostics, 9010, src(extras, "decl.ts"))
        assert svc.text(isolated.file or "")[isolated.start : isolated.end] == "inferred"
        assert "add-annotation" in [f.fix_name for f in svc.code_fixes(isolated)]
        crlf = src(extras, "crlf.ts")
        [changes] = svc.combined_fix(crlf, "fixMissingImport")
        [insert] = changes.changes
        assert insert.new_text == 'import { helper } from "./lib";\r\n\r\n'
        assert not found(svc.check({crlf: apply(svc.text(crlf), changes.changes)}), 2304, crlf)


# -- project references ----------------------------------------------------------------


@pytest.fixture(scope="module")
def refs(tmp_path_factory: pytest.TempPathFactory, node_tools: NodeTools) -> Path:
    return write_project(tmp_path_factory.mktemp("refs"), REFS, node_tools)


def test_project_references_are_followed(refs: Path) -> None:
    root = refs.parent
    core = str(root / "packages/core/src/index.ts")
    app = str(root / "packages/app/src/main.ts")
    with NodeService.start(refs, find_typescript(refs)) as svc:
        assert {p for p, _ in svc.projects} == {
            str(root / "packages/core/tsconfig.json"),
            str(root / "packages/app/tsconfig.json"),
        }
        assert sorted(svc.files()) == sorted([core, app])
        diagnostics = svc.diagnostics()
        assert [d.code for d in diagnostics if d.file == core] == [6133]
        assert [d.code for d in diagnostics if d.file == app] == [2322]
        changed = (
            svc.text(core)
            .replace("): number {", "): string {")
            .replace("return xs.reduce((a, b) => a + b, 0);", "return xs.join();")
        )
        after = svc.check({core: changed})
        assert len([d for d in after if d.file == app and d.code == 2322]) == 2
        assert after == svc.check({core: changed}, full=True)


# -- failures --------------------------------------------------------------------------


def test_a_killed_helper_is_a_service_error_not_a_hang(basic: Path) -> None:
    svc = NodeService.start(basic, find_typescript(basic), timeout=30)
    try:
        os.kill(svc.pid, signal.SIGKILL)
        started = time.monotonic()
        with pytest.raises(ServiceError, match=r"exit status -9") as error:
            svc.diagnostics()
        assert time.monotonic() - started < 10
        assert "\n" not in str(error.value).split("(exit status")[0]
        with pytest.raises(ServiceError, match="exit status"):
            svc.check({})
    finally:
        svc.close()


def _fake_node(folder: Path, script: str) -> Path:
    fake = folder / "fake-node"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


def test_a_helper_answering_garbage_is_a_service_error(basic: Path, tmp_path: Path) -> None:
    fake = _fake_node(tmp_path, "echo 'oops' >&2; echo 'Debugger listening'; sleep 30")
    with pytest.raises(ServiceError, match="answered garbage") as error:
        NodeService.start(basic, find_typescript(basic), node=fake, timeout=10)
    assert "oops" in str(error.value)


def test_a_silent_helper_times_out(basic: Path, tmp_path: Path) -> None:
    fake = _fake_node(tmp_path, "sleep 30")
    started = time.monotonic()
    with pytest.raises(ServiceError, match="did not answer `version` within 1 s"):
        NodeService.start(basic, find_typescript(basic), node=fake, timeout=1)
    assert time.monotonic() - started < 10


def test_a_helper_that_cannot_load_typescript_says_why(basic: Path, tmp_path: Path) -> None:
    bogus = TypeScriptInstall(
        package_dir=tmp_path / "nothing-here", version="5.9.3", major=5, tsc=tmp_path / "tsc"
    )
    with pytest.raises(ServiceError, match=r"exit status 3\)\ncannot load TypeScript"):
        NodeService.start(basic, bogus)


def test_typescript_7_is_refused_with_the_way_forward(basic: Path, tmp_path: Path) -> None:
    seven = TypeScriptInstall(package_dir=tmp_path, version="7.0.2", major=7, tsc=tmp_path / "tsc")
    with pytest.raises(ServiceError, match=r"7\.0\.2.*LSP backend"):
        NodeService.start(basic, seven)


def test_a_missing_tsconfig_is_a_service_error(basic: Path, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="no tsconfig"):
        NodeService.start(tmp_path / "tsconfig.json", find_typescript(basic))


def test_config_errors_are_diagnostics(tmp_path: Path, node_tools: NodeTools) -> None:
    tsconfig = write_project(
        tmp_path,
        {
            "tsconfig.json": '{"compilerOptions": {"strict": true, "target": "es9999"}}',
            "a.ts": "export const a = 1;\n",
        },
        node_tools,
    )
    with NodeService.start(tsconfig, find_typescript(tsconfig)) as svc:
        [bad] = svc.config_diagnostics
        assert bad.code == 6046 and bad.file == str(tsconfig)
        assert bad in svc.diagnostics()


def test_bad_requests_never_stop_the_helper(basic: Path, node_tools: NodeTools) -> None:
    typescript = find_typescript(basic).package_dir
    requests = "\n".join(
        [
            "not json",
            '{"id": 1, "method": "nope"}',
            '{"id": 2, "method": "diagnostics"}',
            '{"id": 3, "method": "version"}',
        ]
    )
    result = subprocess.run(
        [str(node_tools.node), str(helper_script()), str(typescript)],
        input=requests + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert '"id":null,"error"' in lines[0]
    assert "unknown method" in lines[1]
    assert "no project loaded" in lines[2]
    assert '"typescript":"5.9.3"' in lines[3]


def test_starting_without_node_says_so(basic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install = find_typescript(basic)
    monkeypatch.setenv("PATH", str(basic.parent / "no-such-bin"))
    with pytest.raises(ServiceError, match="node is not on PATH"):
        NodeService.start(basic, install)

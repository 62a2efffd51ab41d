"""tsfix's TypeScript 7 backend: a real ``tsc --lsp --stdio`` (7.0.2) on small projects.

Where TypeScript 7 behaves unlike 5.x the test says so: 7.0.2's language server has no
quick fix for unused locals, implicit ``any``, misspelt properties, ``await`` in a
non-async function or a missing ``override``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from js7_support import Node7Tools, link_node7_modules, node7_tools, run_tsc7

from codemodkit.tsfix.lsp import LspService
from codemodkit.tsfix.tsnative import native_command
from codemodkit.tsfix.types import Diagnostic, FileChanges, ServiceError

__all__ = ["node7_tools"]  # a fixture

_OPTIONS = {
    "strict": True,
    "noUnusedLocals": True,
    "target": "es2022",
    "module": "esnext",
    "moduleResolution": "bundler",
    "types": [],
    "noEmit": True,
}

Project = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path, node7_tools: Node7Tools) -> Project:
    """Write ``files`` (relative path -> text) and a tsconfig into a new project folder."""

    def make(files: Mapping[str, str], *, folder: str = "project", **options: object) -> Path:
        root = tmp_path / folder
        root.mkdir()
        config = {"compilerOptions": {**_OPTIONS, **options}, "include": ["src"]}
        (root / "tsconfig.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))  # bytes: keep CRLF as written
        link_node7_modules(root, node7_tools)
        return root

    return make


@pytest.fixture
def start(node7_tools: Node7Tools) -> Iterator[Callable[[Path], LspService]]:
    services: list[LspService] = []

    def start_service(root: Path) -> LspService:
        service = LspService.start(root / "tsconfig.json", node7_tools.tsc, timeout=60)
        services.append(service)
        return service

    yield start_service
    for service in services:
        service.close()


def sliced(service: LspService, diagnostic: Diagnostic) -> str:
    assert diagnostic.file is not None and diagnostic.start is not None
    return service.text(diagnostic.file)[diagnostic.start : diagnostic.end]


def apply(text: str, changes: FileChanges) -> str:
    for change in sorted(changes.changes, key=lambda c: c.start, reverse=True):
        text = text[: change.start] + change.new_text + text[change.end :]
    return text


def applied(service: LspService, fixes: Sequence[FileChanges]) -> dict[str, str]:
    """The new text of every file the changes touch."""
    return {changes.file: apply(service.text(changes.file), changes) for changes in fixes}


def codes_in(diagnostics: list[Diagnostic], file: Path) -> list[int]:
    return [d.code for d in diagnostics if d.file == str(file)]


SEEDED = {
    "src/util.ts": (
        "export function helperFn(x: number): number { return x * 2; }\n"
        "export interface Shape { w: number; h: number }\n"
    ),
    "src/main.ts": (
        'const face = "😀🎉 smile"; const total: number = helperFn(2);\n'
        "function twice(a) { return a * 2; }\n"
        "export function unusedLocal(): number { const spare = 1; return 2; }\n"
        'const word = "abc"; export const n = word.lenght;\n'
        "export const out = [face, total, twice];\n"
    ),
}


def test_diagnostics_have_tscs_codes_and_offsets_that_slice_the_right_text(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(SEEDED)
    service = start(root)
    main = root / "src" / "main.ts"

    found = [(d.code, sliced(service, d)) for d in service.diagnostics()]

    # the emoji before helperFn count two UTF-16 units each, yet the slice is exact
    assert found == [(2304, "helperFn"), (7006, "a"), (6133, "spare"), (2551, "lenght")]
    assert service.version == "7.0.2"
    assert service.files() == [str(root / "src" / "main.ts"), str(root / "src" / "util.ts")]
    assert all(d.category == "error" and d.file == str(main) for d in service.diagnostics())
    # line and column are tsc's own (1-based, UTF-16 columns)
    printed = run_tsc7(root).stdout
    tsc_says = {
        (int(line), int(column), int(code))
        for line, column, code in re.findall(r"src/main\.ts\((\d+),(\d+)\): error TS(\d+)", printed)
    }
    assert {(d.line, d.column, d.code) for d in service.diagnostics()} == tsc_says


def test_offsets_survive_crlf_and_typescripts_other_line_breaks(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    text = 'const s = "a\u2028b😀";\r\nexport const t: number = s;\r\n'
    root = make_project({"src/main.ts": text})
    service = start(root)

    [diagnostic] = service.diagnostics()

    assert service.text(str(root / "src" / "main.ts")) == text  # CRLF kept
    assert (diagnostic.code, sliced(service, diagnostic)) == (2322, "t")
    # TypeScript counts U+2028 as a line break, so tsc says line 3
    assert (diagnostic.line, diagnostic.column) == (3, 14)


def test_missing_imports_are_fixed_one_at_a_time_or_combined(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(
        {
            "src/util.ts": SEEDED["src/util.ts"],
            "src/main.ts": "export const s: Shape = { w: helperFn(1), h: 2 };\n",
        }
    )
    service = start(root)
    main = str(root / "src" / "main.ts")
    missing = {sliced(service, d): d for d in service.diagnostics()}
    assert sorted(missing) == ["Shape", "helperFn"] and {d.code for d in missing.values()} == {2304}

    [fix] = service.code_fixes(missing["helperFn"])

    assert (fix.fix_name, fix.fix_id) == ("import", "fixMissingImport")
    assert fix.description == 'Add import from "./util"'
    assert fix.fix_all_description == "Add all missing imports"
    one = applied(service, fix.changes)
    assert one[main].startswith('import { helperFn } from "./util";\n')
    assert [sliced_text for sliced_text in _remaining(service, one)] == ["Shape"]

    combined = service.combined_fix(main, "fixMissingImport")
    both = applied(service, combined)
    assert both[main].startswith('import { Shape, helperFn } from "./util";\n')
    assert service.check(both) == []


def test_a_lone_diagnostics_fix_is_its_combined_fix_and_other_fix_ids_are_refused(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(
        {
            "src/util.ts": SEEDED["src/util.ts"],
            "src/main.ts": "export const n: number = helperFn(1);\n",
        }
    )
    service = start(root)
    main = str(root / "src" / "main.ts")
    [missing] = service.diagnostics()
    [fix] = service.code_fixes(missing)
    assert fix.fix_id is None  # one diagnostic: nothing to combine, as in TypeScript 5

    assert service.combined_fix(main, "fixMissingImport") == list(fix.changes)
    with pytest.raises(ServiceError, match="offers no combined fix fixSpelling"):
        service.combined_fix(main, "fixSpelling")
    with pytest.raises(ServiceError, match="not a file of this TypeScript project"):
        service.combined_fix(str(root / "elsewhere.ts"), "fixMissingImport")


def _remaining(service: LspService, texts: Mapping[str, str]) -> list[str]:
    """The text of each error left if ``texts`` were the project's files."""
    return [
        texts.get(d.file, service.text(d.file))[d.start : d.end]
        for d in service.check(texts)
        if d.file and d.start is not None
    ]


def test_unused_imports_are_removed_but_typescript_7_has_no_fix_for_unused_locals(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(
        {
            "src/util.ts": SEEDED["src/util.ts"],
            "src/fs.ts": "export const readFileSync = 1;\n",
            "src/main.ts": (
                'import { helperFn, type Shape } from "./util";\n'
                'import { readFileSync } from "./fs";\n'
                "export const s: Shape | undefined = undefined;\n"
                "export function f(): number { const spare = 1; return 2; }\n"
            ),
        }
    )
    service = start(root)
    main = str(root / "src" / "main.ts")
    unused = {sliced(service, d): d for d in service.diagnostics()}
    assert sorted(unused) == ["helperFn", "readFileSync", "spare"]
    assert {d.code for d in unused.values()} == {6133}

    assert service.code_fixes(unused["spare"]) == []  # TypeScript 5 offers unusedIdentifier_delete
    [fix] = service.code_fixes(unused["helperFn"])

    # the server's only way to remove an import is "remove unused imports" (the file's)
    assert (fix.fix_name, fix.fix_id) == ("unusedIdentifier", "unusedIdentifier_deleteImports")
    fixed = applied(service, fix.changes)
    assert fixed[main].startswith('import { type Shape } from "./util";\nexport const s')
    assert [sliced_text for sliced_text in _remaining(service, fixed)] == ["spare"]
    assert service.combined_fix(main, "unusedIdentifier_deleteImports") == list(fix.changes)


def test_typescript_7_offers_no_fix_for_these_errors_typescript_5_fixes(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(
        {
            "src/main.ts": (
                "function twice(a) { return a * 2; }\n"  # 7006: inferFromUsage in 5.x
                'export const n = "abc".lenght;\n'  # 2551: fixSpelling
                "export function g(): void { await Promise.resolve(); }\n"  # 1308: async
                "class Base { run(): void {} }\n"
                "export class Child extends Base { run(): void {} }\n"  # 4114: override
                "export const out = twice;\n"
            )
        },
        noImplicitOverride=True,
    )
    service = start(root)

    diagnostics = service.diagnostics()

    assert [d.code for d in diagnostics] == [7006, 2551, 1308, 4114]
    assert all(service.code_fixes(d) == [] for d in diagnostics)
    assert service.fixes_available  # the server does offer quick fixes, just not these


def test_fixes_get_typescript_5s_names(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(
        {
            "src/shape.ts": "export interface Shape { w: number; area(): number }\n",
            "src/main.ts": (
                'import type { Shape } from "./shape";\n'
                "export class Square implements Shape { w = 1; }\n"
                "export function size(x: number) { return x > 1 ? 'big' : 0; }\n"
            ),
        },
        declaration=True,
        isolatedDeclarations=True,
        noEmit=False,
        outDir="out",
    )
    service = start(root)
    by_code = {d.code: d for d in service.diagnostics()}

    implement = service.code_fixes(by_code[2420])
    # TypeScript 5 says 9007 at the function's name; 7 says 9013 at the returned expression
    annotate = service.code_fixes(by_code[9013])

    assert [(f.fix_name, f.description) for f in implement] == [
        ("fixClassIncorrectlyImplementsInterface", "Implement interface 'Shape'")
    ]
    assert {f.fix_name for f in annotate} == {"fixMissingTypeAnnotationOnExports"}
    assert "Add return type 'string | number'" in [f.description for f in annotate]
    # one diagnostic each: like TypeScript 5, no fixId when there is nothing to combine
    assert all(f.fix_id is None for f in implement + annotate)


CHAIN = {
    "src/util.ts": "export function scale(n: number): number { return n * 3; }\n",
    "src/main.ts": 'import { scale } from "./util";\nexport const big = scale("3");\n',
    "src/other.ts": 'import { scale } from "./util";\nexport const small = scale(3);\n',
}
STRING_SCALE = "export function scale(n: string): number { return Number(n) * 3; }\n"


def test_check_sees_errors_go_and_come_across_files_and_changes_nothing(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(CHAIN)
    service = start(root)
    util, main, other = (root / "src" / name for name in ("util.ts", "main.ts", "other.ts"))
    before = service.diagnostics()
    assert codes_in(before, main) == [2345] and codes_in(before, other) == []

    after = service.check({str(util): STRING_SCALE})

    assert codes_in(after, main) == [] and codes_in(after, other) == [2345]
    [new_error] = after
    assert sliced_in(new_error, CHAIN["src/other.ts"]) == "3"
    # nothing written, and the baseline is what it was
    assert util.read_text(encoding="utf-8") == CHAIN["src/util.ts"]
    assert service.text(str(util)) == CHAIN["src/util.ts"]
    assert service.diagnostics() == before
    assert service.check({}) == before
    # the server was given the baseline back: with util.ts at scale(n: number) again,
    # calling it with a number is fine
    fixed_main = 'import { scale } from "./util";\nexport const big = scale(3);\n'
    assert service.check({str(main): fixed_main}) == []


def sliced_in(diagnostic: Diagnostic, text: str) -> str:
    assert diagnostic.start is not None
    return text[diagnostic.start : diagnostic.end]


def test_commit_makes_the_texts_the_baseline_without_writing_them(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(CHAIN)
    service = start(root)
    util, other = root / "src" / "util.ts", root / "src" / "other.ts"

    service.commit({str(util): STRING_SCALE})

    assert service.text(str(util)) == STRING_SCALE
    assert [(d.file, d.code) for d in service.diagnostics()] == [(str(other), 2345)]
    assert util.read_text(encoding="utf-8") == CHAIN["src/util.ts"]
    # a check is now relative to the new baseline
    assert service.check({str(util): CHAIN["src/util.ts"]})[0].file == str(root / "src" / "main.ts")


def test_hover_gives_type_information_for_a_span(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(CHAIN)
    service = start(root)
    main = str(root / "src" / "main.ts")
    text = service.text(main)
    span_start = text.index("export const big")

    info = service.type_info(main, span_start, len(text))

    assert info == ["const big: number", "(alias) function scale(n: number): number"]


def test_runs_from_the_native_binary_in_a_folder_with_a_space_and_follows_references(
    tmp_path: Path, node7_tools: Node7Tools
) -> None:
    root = tmp_path / "my project"
    for name, text in {
        "tsconfig.json": '{"files": [], "references": [{"path": "./lib"}, {"path": "./app"}]}',
        "lib/tsconfig.json": '{"compilerOptions": {"composite": true, "types": []}}',
        "lib/index.ts": "export const answer: number = 42;\n",
        "app/tsconfig.json": (
            '{"compilerOptions": {"composite": true, "types": [], "bogusOption": 1},'
            ' "references": [{"path": "../lib"}]}'
        ),
        "app/main.ts": "export const wrong: string = 1;\n",
    }.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    link_node7_modules(root, node7_tools)
    [binary] = native_command(node7_tools.tsc)
    assert re.search(r"@typescript/typescript-[a-z0-9]+-[a-z0-9]+/lib/tsc(\.exe)?$", binary)

    with LspService.start(root / "tsconfig.json", Path(binary), timeout=60) as service:
        diagnostics = service.diagnostics()
        config_error = next(d for d in diagnostics if d.code == 5023)
        assert sliced(service, config_error) == '"bogusOption"'

    assert service.files() == [str(root / "app" / "main.ts"), str(root / "lib" / "index.ts")]
    found = {(Path(d.file or "").relative_to(root).as_posix(), d.code) for d in diagnostics}
    # the unknown option is reported against the config file, like tsc does
    assert found == {("app/main.ts", 2322), ("app/tsconfig.json", 5023)}


def _fake_tsc(tmp_path: Path, lsp_behaviour: str, version: str = "7.0.2") -> Path:
    """A stand-in ``tsc`` that passes the setup steps and then misbehaves as a server."""
    script = tmp_path / "fake-tsc"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$1" in\n'
        f"  --version) echo 'Version {version}' ;;\n"
        "  -p) echo '{\"files\": []}' ;;\n"
        f"  *) echo $$ > '{tmp_path}/server.pid'; {lsp_behaviour} ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


def _tsconfig(tmp_path: Path) -> Path:
    config = tmp_path / "tsconfig.json"
    config.write_text('{"files": []}', encoding="utf-8")
    return config


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("exec sleep 600", "initialize got no answer in 2s"),
        ("echo 'not a language server'; exec sleep 600", "answered nonsense"),
        ("echo 'fatal: no memory' >&2; exit 3", "exited with status 3: fatal: no memory"),
    ],
)
def test_a_server_that_hangs_babbles_or_dies_is_a_quick_clear_error(
    tmp_path: Path, behaviour: str, message: str
) -> None:
    tsc = _fake_tsc(tmp_path, behaviour)
    began = time.monotonic()

    with pytest.raises(ServiceError, match=re.escape(message)) as raised:
        LspService.start(_tsconfig(tmp_path), tsc, timeout=2)

    assert time.monotonic() - began < 10
    assert "\n" not in str(raised.value)
    pid = int((tmp_path / "server.pid").read_text(encoding="utf-8"))
    assert _gone(pid)  # nothing left running


_FAKE_SERVER = """
import json, sys
def read():
    length = None
    while True:
        line = sys.stdin.buffer.readline()
        if not line:
            sys.exit(0)
        if not line.strip():
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return json.loads(sys.stdin.buffer.read(length))
while True:
    message = read()
    if "id" in message:
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": ANSWER}).encode()
        sys.stdout.buffer.write(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
        sys.stdout.buffer.flush()
"""


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ('{"capabilities": {"hoverProvider": True}}', "offers no pull diagnostics"),
        ('{"capabilities": 3}', "initialize answer has no capabilities"),
        ("[1, 2]", "answered nonsense"),
    ],
)
def test_a_server_without_what_tsfix_needs_is_refused(
    tmp_path: Path, answer: str, message: str
) -> None:
    server = tmp_path / "server.py"
    server.write_text(_FAKE_SERVER.replace("ANSWER", answer), encoding="utf-8")
    tsc = _fake_tsc(tmp_path, f"exec {sys.executable} {server}")

    with pytest.raises(ServiceError, match=re.escape(message)):
        LspService.start(_tsconfig(tmp_path), tsc, timeout=10)
    assert _gone(int((tmp_path / "server.pid").read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("#!/bin/sh\necho 'Version 5.9.3'\n", "TypeScript 5.9.3 has no language server mode"),
        ("#!/bin/sh\necho 'segfault' >&2\nexit 139\n", "--version failed: segfault"),
    ],
)
def test_a_compiler_that_is_not_typescript_7_is_refused(
    tmp_path: Path, script: str, message: str
) -> None:
    tsc = tmp_path / "tsc"
    tsc.write_text(script, encoding="utf-8")
    tsc.chmod(0o755)

    with pytest.raises(ServiceError, match=re.escape(message)):
        LspService.start(_tsconfig(tmp_path), tsc, timeout=5)
    with pytest.raises(ServiceError, match="no TypeScript compiler at"):
        LspService.start(_tsconfig(tmp_path), tmp_path / "missing", timeout=5)


def test_a_server_that_dies_mid_run_fails_the_next_call_at_once(
    make_project: Project, start: Callable[[Path], LspService]
) -> None:
    root = make_project(CHAIN)
    service = start(root)
    service.diagnostics()

    os.kill(service.pid, signal.SIGKILL)
    began = time.monotonic()
    with pytest.raises(ServiceError, match="exited with status -9"):
        service.check({str(root / "src" / "util.ts"): STRING_SCALE})

    assert time.monotonic() - began < 5
    service.close()  # still fine to call

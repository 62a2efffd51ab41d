"""Reading tsc's output: real output of the pinned tsc, hand-written samples, properties."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from js_support import NodeTools, clean_env, link_node_modules

from codemodkit.tsfix.tscout import (
    format_diagnostic,
    line_column,
    offset_of,
    parse_tsc_output,
    run_tsc,
    tsc_result,
)
from codemodkit.tsfix.types import Diagnostic, ServiceError

CONFIG = {
    "compilerOptions": {"strict": True, "target": "es2020", "module": "commonjs", "types": []},
    "include": ["src"],
}


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def tsc(tools: NodeTools) -> list[str]:
    return [str(tools.node), str(tools.tsc)]


def token_at(diagnostic: Diagnostic, size: int) -> str:
    assert diagnostic.file is not None and diagnostic.start is not None
    text = Path(diagnostic.file).read_bytes().decode("utf-8")
    return text[diagnostic.start : diagnostic.start + size]


@pytest.fixture
def project(tmp_path: Path, node_tools: NodeTools) -> Path:
    """Seeded errors where positions are easy to get wrong."""
    root = tmp_path / "proj"
    write(root / "tsconfig.json", json.dumps(CONFIG))
    # Two emoji: tsc's column counts 4 UTF-16 units for them, we count 2 characters.
    write(root / "src" / "emoji.ts", 'export const s = "😀😀"; export const n: number = "x";\n')
    write(
        root / "src" / "chain.ts",
        "export const fn: (x: { a: number }) => void = (x: { a: string }) => {\n  void x;\n};\n",
    )
    write(root / "src" / "crlf.ts", b"export const a = 1;\r\n\r\nexport const b: string = 2;\r\n")
    write(root / "src" / "bom.ts", "\ufeffexport const c: boolean = 3;\n")
    write(root / "src" / "odd (1).ts", "export const d: number = missing;\n")
    link_node_modules(root, node_tools)
    return root


def test_real_tsc_errors_point_at_the_right_characters(
    project: Path, node_tools: NodeTools
) -> None:
    found = run_tsc(tsc(node_tools), project)
    seen = {(Path(d.file or "").name, d.code, d.line): d for d in found}
    assert set(seen) == {
        ("emoji.ts", 2322, 1),
        ("chain.ts", 2322, 1),
        ("crlf.ts", 2322, 3),
        ("bom.ts", 2322, 1),
        ("odd (1).ts", 2304, 1),
    }
    for diagnostic in found:
        assert diagnostic.file is not None and Path(diagnostic.file).is_absolute()
        assert Path(diagnostic.file).parent == (project / "src").resolve()
    emoji = seen[("emoji.ts", 2322, 1)]
    assert emoji.column == 39 and token_at(emoji, 1) == "n"  # column 39 in UTF-16 units
    assert token_at(seen[("crlf.ts", 2322, 3)], 1) == "b"
    bom = seen[("bom.ts", 2322, 1)]
    assert bom.column == 14 and token_at(bom, 1) == "c"  # after the BOM, which is char 0
    assert token_at(seen[("odd (1).ts", 2304, 1)], 7) == "missing"
    chain = seen[("chain.ts", 2322, 1)]
    assert token_at(chain, 2) == "fn"
    assert chain.message.splitlines() == [
        "Type '(x: { a: string; }) => void' is not assignable to type "
        "'(x: { a: number; }) => void'.",
        "  Types of parameters 'x' and 'x' are incompatible.",
        "    Type '{ a: number; }' is not assignable to type '{ a: string; }'.",
        "      Types of property 'a' are incompatible.",
        "        Type 'number' is not assignable to type 'string'.",
    ]


def test_pretty_output_reads_like_plain_output_plus_related_locations(
    project: Path, node_tools: NodeTools
) -> None:
    write(
        project / "src" / "related.ts",
        "interface P { a: { b: number } }\nexport const p: P = { a: { b: 'no' } };\n",
    )
    command = [*tsc(node_tools), "-p", str(project), "--noEmit"]
    plain = subprocess.run(
        [*command, "--pretty", "false"],
        cwd=project,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    pretty = subprocess.run(
        [*command, "--pretty", "true"], cwd=project, capture_output=True, text=True, env=clean_env()
    )
    assert "\x1b[" in pretty.stdout and "~" in pretty.stdout
    from_plain = parse_tsc_output(plain.stdout, project)
    from_pretty = parse_tsc_output(pretty.stdout, project)

    def strip(d: Diagnostic) -> tuple[object, ...]:
        return (d.file, d.code, d.message, d.line, d.column, d.start)

    assert list(map(strip, from_pretty)) == list(map(strip, from_plain))
    assert all(not d.related for d in from_plain)  # --pretty false drops them
    (with_related,) = [d for d in from_pretty if d.related]
    (related,) = with_related.related
    assert related.message.startswith("The expected type comes from property 'b'")
    assert related.file == with_related.file and related.start is not None
    text = (project / "src" / "related.ts").read_text()
    assert text[related.start] == "b"


def test_build_mode_and_its_verbose_timestamps(tmp_path: Path, node_tools: NodeTools) -> None:
    composite = {"compilerOptions": {"composite": True, "outDir": "out", "types": []}}
    write(tmp_path / "lib" / "tsconfig.json", json.dumps(composite))
    write(tmp_path / "lib" / "index.ts", "export const one: number = 1;\n")
    write(
        tmp_path / "app" / "tsconfig.json",
        json.dumps({**composite, "references": [{"path": "../lib"}]}),
    )
    write(
        tmp_path / "app" / "main.ts",
        'import { one } from "../lib";\nexport const two: string = one;\n',
    )
    write(tmp_path / "tsconfig.json", json.dumps({"files": [], "references": [{"path": "app"}]}))
    link_node_modules(tmp_path, node_tools)
    # A solution config checked with -p reports nothing: -b is needed.
    assert run_tsc(tsc(node_tools), tmp_path) == []
    (error,) = run_tsc(tsc(node_tools), tmp_path, build=True)
    assert error.file == str((tmp_path / "app" / "main.ts").resolve())
    assert (error.code, error.line) == (2322, 2) and token_at(error, 3) == "two"
    verbose = subprocess.run(
        [*tsc(node_tools), "-b", str(tmp_path), "--verbose", "--force"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_env(),
    )
    assert " - Projects in this build" in verbose.stdout  # timestamped lines
    assert tsc_result(verbose.returncode, verbose.stdout, verbose.stderr, tmp_path) == [error]


def test_a_missing_project_is_an_error_without_location(
    tmp_path: Path, node_tools: NodeTools
) -> None:
    (error,) = run_tsc(tsc(node_tools), tmp_path / "nowhere.json")
    assert (error.code, error.file, error.start) == (5058, None, None)
    assert "does not exist" in error.message


def test_a_failure_without_error_lines_is_a_tool_failure(
    tmp_path: Path, node_tools: NodeTools
) -> None:
    fake = write(
        tmp_path / "fake-tsc.js",
        "console.log('Version 5.9.3');\n"
        "console.error('FATAL: out of memory'); process.exit(134);\n",
    )
    with pytest.raises(ServiceError) as caught:
        run_tsc([str(node_tools.node), str(fake)], tmp_path)
    message = str(caught.value)
    assert "exit status 134" in message and "FATAL: out of memory" in message
    assert "\n" not in message
    with pytest.raises(ServiceError, match="cannot run"):
        run_tsc([str(tmp_path / "no-such-tsc")], tmp_path)


def test_exit_zero_means_no_errors_whatever_was_printed(tmp_path: Path) -> None:
    output = "src/a.ts(1,1): error TS2304: Cannot find name 'x'.\n"
    assert tsc_result(0, output, "", tmp_path) == []
    assert len(tsc_result(2, output, "", tmp_path)) == 1
    with pytest.raises(ServiceError, match="printed nothing"):
        tsc_result(1, "", "", tmp_path)


# -- hand-written samples ----------------------------------------------------------
def test_chains_location_less_errors_and_noise(tmp_path: Path) -> None:
    output = (
        "> app@1.0.0 typecheck\n"
        "> tsc --noEmit\n"
        "\n"
        "src/a.ts(2,5): error TS2345: Argument of type 'number' is not assignable to "
        "parameter of type 'string'.\n"
        "src/b.ts(10,1): error TS2322: Type 'A' is not assignable to type 'B'.\n"
        "  Types of property 'x' are incompatible.\n"
        "    Type 'number' is not assignable to type 'string'.\n"
        "error TS5058: The specified path does not exist: 'nope.json'.\n"
        "error TS6053: File 'x.ts' not found.\n"
        "  The file is in the program because:\n"
        "    Root file specified for compilation\n"
        "npm ERR! code 2\n"
    )
    found = parse_tsc_output(output, tmp_path)
    assert [(d.code, d.line, d.column) for d in found] == [
        (2345, 2, 5),
        (2322, 10, 1),
        (5058, None, None),
        (6053, None, None),
    ]
    assert found[1].message.splitlines()[1:] == [
        "  Types of property 'x' are incompatible.",
        "    Type 'number' is not assignable to type 'string'.",
    ]
    assert found[3].message.endswith("because:\n    Root file specified for compilation")
    assert found[0].file == str(tmp_path.resolve() / "src" / "a.ts")
    assert found[0].start is None  # the file does not exist: no offset, but a location


def test_tsgo_style_output_and_absolute_paths(tmp_path: Path) -> None:
    source = write(tmp_path / "src" / "a.ts", "import x = require('fs');\nconst y = 1;\n")
    output = (
        f"{source}(1,12): error TS2591: Cannot find name 'require'. Do you need to install "
        "type definitions for node? Try `npm i --save-dev @types/node`.\r\n"
        "src/a.ts:2:7 - error TS6133: 'y' is declared but its value is never read.\r\n"
        "\r\n"
        "2 const y = 1;\r\n"
        "        ~\r\n"
        "\r\n"
        "Found 2 errors in the same file, starting at: src/a.ts:1\r\n"
    )
    first, second = parse_tsc_output(output, tmp_path)
    assert first.file == second.file == str(source.resolve())
    assert (first.code, first.start) == (2591, 11)
    assert first.message.endswith("@types/node`.")  # no stray \r
    assert (second.code, second.start, second.message) == (
        6133,
        source.read_text().index("y ="),
        "'y' is declared but its value is never read.",
    )


def test_columns_count_utf16_units(tmp_path: Path) -> None:
    text = 'const a = "👍é\t字🎉"; let z: number = "";\n'
    write(tmp_path / "a.ts", text)
    # Before z: 'const a = "' (11) + 👍 (2) + é, tab, 字 (3) + 🎉 (2) + '"; let ' (7) = 25
    (found,) = parse_tsc_output("a.ts(1,26): error TS2322: Type 'string' is not ...\n", tmp_path)
    assert found.start == text.index("z:")
    assert line_column(text, text.index("z:")) == (1, 26)


def test_positions_the_file_does_not_have_leave_start_empty(tmp_path: Path) -> None:
    write(tmp_path / "a.ts", "abc\ndef\n")
    output = "a.ts(2,80): error TS1: far right\na.ts(9,1): error TS1: far down\n"
    assert [d.start for d in parse_tsc_output(output, tmp_path)] == [None, None]
    assert [d.start for d in parse_tsc_output("a.ts(2,4): error TS1: end of line\n", tmp_path)] == [
        7
    ]


def test_verbose_build_lines_and_pretty_summaries_are_skipped(tmp_path: Path) -> None:
    output = (
        "[\x1b[90m10:01:02 PM\x1b[0m] Projects in this build: \n"
        "    * a/tsconfig.json\n"
        "10:01:02 PM - Projects in this build: \n"
        "    * a/tsconfig.json\n"
        "    * tsconfig.json\n"
        "\n"
        "14:02:03 - Building project '/w/a/tsconfig.json'...\n"
        "\n"
        "a/x.ts(1,1): error TS1005: ';' expected.\n"
        "10:01:03 PM - Project 'tsconfig.json' can't be built because its dependency "
        "'a' has errors\n"
        "    * a/x.ts\n"
        "\n"
        "Found 1 error.\n"
    )
    (found,) = parse_tsc_output(output, tmp_path)
    assert (found.code, found.message) == (1005, "';' expected.")


def test_pretty_related_information_in_another_file(tmp_path: Path) -> None:
    write(tmp_path / "a.ts", "f(1);\n")
    write(tmp_path / "lib.ts", "export function f(s: string) {}\n")
    esc = "\x1b"
    output = (
        f"{esc}[96ma.ts{esc}[0m:{esc}[93m1{esc}[0m:{esc}[93m3{esc}[0m - {esc}[91merror{esc}[0m"
        f"{esc}[90m TS2345: {esc}[0mArgument of type 'number' is not assignable to parameter "
        "of type 'string'.\n"
        "\n"
        f"{esc}[7m1{esc}[0m f(1);\n"
        f"{esc}[7m {esc}[0m {esc}[91m  ~{esc}[0m\n"
        "\n"
        f"  {esc}[96mlib.ts{esc}[0m:{esc}[93m1{esc}[0m:{esc}[93m19{esc}[0m\n"
        f"    {esc}[7m1{esc}[0m export function f(s: string) {{}}\n"
        f"    {esc}[7m {esc}[0m {esc}[96m                  ~~~~~~~~~{esc}[0m\n"
        "    The parameter is declared here.\n"
        "\n"
        "\n"
        "Found 1 error in a.ts:1\n"
        "\n"
    )
    (found,) = parse_tsc_output(output, tmp_path)
    assert (found.code, found.start) == (2345, 2)
    (related,) = found.related
    assert related.message == "The parameter is declared here."
    assert related.file == str((tmp_path / "lib.ts").resolve()) and related.start == 18


# -- properties --------------------------------------------------------------------
_TEXT = st.text(alphabet=st.sampled_from(["a", " ", "\t", "é", "字", "😀", "\n", "\r", "\u2028"]))


@given(st.booleans(), _TEXT, st.data())
def test_offsets_and_utf16_positions_round_trip(bom: bool, body: str, data: st.DataObject) -> None:
    text = ("\ufeff" if bom else "") + body
    offset = data.draw(st.integers(min_value=1 if bom else 0, max_value=len(text)))
    if 0 < offset < len(text) and text[offset - 1 : offset + 1] == "\r\n":
        offset += 1  # inside a CRLF is no position of TypeScript's
    line, column = line_column(text, offset)
    assert offset_of(text, line, column) == offset


_LINE = st.text(
    alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), min_size=1, max_size=30
).filter(lambda s: not s[0].isspace() and s.strip() == s)
_NAME = st.text(alphabet="abcxyz019_-. ()", min_size=1, max_size=12).map(
    lambda s: f"d/{s.strip()}x.ts"
)


@given(
    name=_NAME,
    first=_LINE,
    chain=st.lists(st.tuples(st.integers(1, 4), _LINE), max_size=4),
    category=st.sampled_from(["error", "warning", "suggestion", "message"]),
    code=st.integers(1000, 99999),
    where=st.one_of(st.none(), st.tuples(st.integers(1, 500), st.integers(1, 300))),
)
def test_a_formatted_diagnostic_parses_back(
    name: str,
    first: str,
    chain: list[tuple[int, str]],
    category: str,
    code: int,
    where: tuple[int, int] | None,
) -> None:
    cwd = Path("/nonexistent-tsfix-root")
    message = "\n".join([first, *("  " * depth + line for depth, line in chain)])
    diagnostic = Diagnostic(
        code=code,
        message=message,
        category=category,  # type: ignore[arg-type]
        file=str(cwd / name) if where else None,
        line=where[0] if where else None,
        column=where[1] if where else None,
    )
    line = format_diagnostic(diagnostic, cwd)
    assert parse_tsc_output(line + "\n", cwd, read_text=lambda _: None) == [diagnostic]

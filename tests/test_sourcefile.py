"""Decoding source files byte-exactly, reporting unreadable ones, and writing atomically."""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

import pytest

from codemodkit.sourcefile import SourceError, atomic_write, decode_source, read_source

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_non_root = pytest.mark.skipif(IS_ROOT, reason="root ignores file permissions")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- decoding ------------------------------------------------------------------------


def test_pep263_latin1_round_trips_byte_for_byte() -> None:
    data = '# -*- coding: latin-1 -*-\nname = "café - naïve"\n'.encode("latin-1")
    assert b"\xe9" in data  # really not UTF-8

    source = decode_source(data, "python")

    assert 'name = "café - naïve"' in source.text
    assert source.encode(source.text) == data
    edited = source.text + "extra = 'é'\n"
    assert source.encode(edited) == data + "extra = 'é'\n".encode("latin-1")


def test_utf8_bom_is_kept() -> None:
    data = codecs.BOM_UTF8 + "x = 'ü'\n".encode()

    source = decode_source(data, "python")

    assert source.text == "x = 'ü'\n"  # the BOM is not part of the text
    assert source.encode(source.text) == data
    assert source.encode("y = 2\n") == codecs.BOM_UTF8 + b"y = 2\n"


def test_bom_is_kept_for_other_languages_too() -> None:
    data = codecs.BOM_UTF8 + b"const x = 1;\n"

    source = decode_source(data, "javascript")

    assert source.text == "const x = 1;\n"
    assert source.encode(source.text) == data


def test_crlf_and_missing_trailing_newline_are_preserved() -> None:
    data = b"def f():\r\n    return 1\r\n\r\nx = f()"

    source = decode_source(data, "python")

    assert source.text == "def f():\r\n    return 1\r\n\r\nx = f()"
    assert source.encode(source.text) == data


def test_read_source_returns_the_exact_bytes(tmp_path: Path) -> None:
    data = b"# coding: latin-1\r\ns = '\xe9'"
    path = tmp_path / "m.py"
    path.write_bytes(data)

    source = read_source(path, "python")

    assert source.data == data
    assert source.text == "# coding: latin-1\r\ns = 'é'"
    assert source.encode(source.text) == data


# -- errors --------------------------------------------------------------------------


def one_line(error: pytest.ExceptionInfo[SourceError]) -> str:
    message = str(error.value)
    assert message and "\n" not in message
    return message


def test_binary_file_is_rejected() -> None:
    with pytest.raises(SourceError) as error:
        decode_source(b"x = 1\n\x00\x01\x02", "python")
    assert "binary" in one_line(error)


def test_invalid_utf8_without_declaration_names_the_offset() -> None:
    data = b"a = 1\nb = 2\nc = 3\nname = 'caf\xe9'\n"

    with pytest.raises(SourceError) as error:
        decode_source(data, "python")

    message = one_line(error)
    assert "utf-8" in message
    assert f"offset {len(data) - 3}" in message
    assert "0xe9" in message


def test_invalid_utf8_on_the_first_line_names_the_offset() -> None:
    data = b"name = 'caf\xe9'\n"

    with pytest.raises(SourceError) as error:
        decode_source(data, "python")

    message = one_line(error)
    assert "utf-8" in message
    assert "offset 11" in message


def test_invalid_declared_encoding_is_reported() -> None:
    data = b"# -*- coding: ascii -*-\nx = 'caf\xc3\xa9'\n"

    with pytest.raises(SourceError) as error:
        decode_source(data, "python")

    message = one_line(error)
    assert "ascii" in message
    assert "declared" in message


def test_unknown_encoding_declaration() -> None:
    with pytest.raises(SourceError) as error:
        decode_source(b"# -*- coding: klingon-8 -*-\nx = 1\n", "python")
    message = one_line(error)
    assert "klingon-8" in message
    assert "encoding" in message


def test_file_larger_than_the_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_bytes(b"x = 1\n" * 100)  # 600 bytes

    with pytest.raises(SourceError) as error:
        read_source(path, "python", max_size=599)
    message = one_line(error)
    assert "max-file-size" in message
    assert "600" in message

    assert read_source(path, "python", max_size=600).data == b"x = 1\n" * 100


@needs_non_root
def test_unreadable_file_is_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n", encoding="utf-8")
    path.chmod(0)
    try:
        with pytest.raises(SourceError) as error:
            read_source(path, "python")
    finally:
        path.chmod(0o644)
    assert one_line(error) == "permission denied"


def test_directory_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "pkg.py"
    folder.mkdir()

    with pytest.raises(SourceError) as error:
        read_source(folder, "python")

    assert one_line(error) == "is a directory"


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as error:
        read_source(tmp_path / "missing.py", "python")

    assert one_line(error) == "does not exist"


# -- atomic_write --------------------------------------------------------------------


def leftovers(folder: Path, *expected: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


@pytest.mark.parametrize("mode", [0o755, 0o600, 0o640])
def test_atomic_write_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "script.py"
    path.write_bytes(b"old\n")
    path.chmod(mode)

    atomic_write(path, b"new\r\ncontent")

    assert path.read_bytes() == b"new\r\ncontent"
    assert mode_of(path) == mode
    assert leftovers(tmp_path, "script.py") == []


def test_atomic_write_creates_new_files_with_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "a.py", b"a = 1\n")
        os.umask(0o002)
        atomic_write(tmp_path / "b.py", b"b = 1\n")
    finally:
        os.umask(old)

    assert mode_of(tmp_path / "a.py") == 0o640
    assert mode_of(tmp_path / "b.py") == 0o664
    assert (tmp_path / "a.py").read_bytes() == b"a = 1\n"
    assert leftovers(tmp_path, "a.py", "b.py") == []


def test_atomic_write_replaces_instead_of_rewriting_in_place(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"old\n")
    with path.open("rb") as reader:  # an open reader keeps seeing the old file
        atomic_write(path, b"new\n")
        assert reader.read() == b"old\n"
    assert path.read_bytes() == b"new\n"


def test_failure_before_the_rename_leaves_the_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"original\n")
    path.chmod(0o644)

    def fail(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write(path, b"new\n")

    assert path.read_bytes() == b"original\n"
    assert mode_of(path) == 0o644
    assert leftovers(tmp_path, "m.py") == []


@needs_non_root
def test_failure_in_a_read_only_folder_leaves_the_original(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "m.py"
    path.write_bytes(b"original\n")
    folder.chmod(0o555)
    try:
        with pytest.raises(OSError):
            atomic_write(path, b"new\n")
        assert path.read_bytes() == b"original\n"
        assert leftovers(folder, "m.py") == []
    finally:
        folder.chmod(0o755)


def test_permission_error_while_reading_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs as root too, where chmod 000 does not stop reading.
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n", encoding="utf-8")

    def denied(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(SourceError) as error:
        read_source(path, "python")

    assert one_line(error) == "permission denied"

"""``codemod cache stats|clear``: what a user sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import run_codemod

from codemodkit.cache import AnswerCache, CachedAnswer
from codemodkit.cli import main
from codemodkit.cli.cache import human_size


def codemod(*args: str, env: dict[str, str | None] | None = None) -> Result:
    # CODEMOD_CACHE_DIR unset unless a test sets it: never the developer's own cache
    return CliRunner(env={"CODEMOD_CACHE_DIR": None, **(env or {})}).invoke(main, list(args))


def fill(directory: Path, count: int) -> None:
    with AnswerCache(directory) as cache:
        for n in range(count):
            cache.put(f"key-{n}", CachedAnswer(f"answer {n}\n" * 50, 10, 5, "m", "ollama"))


def lines(result: Result) -> list[str]:
    return result.stdout.splitlines()


def test_stats_of_a_cache_not_created_yet_creates_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "answers"
    result = codemod("cache", "stats", "--cache-dir", str(directory))
    assert result.exit_code == 0, result.output
    assert lines(result) == [
        f"location: {directory} (not created yet)",
        "entries:  0",
        "size:     0 B",
    ]
    assert result.stderr == ""
    assert not directory.exists()


def test_stats_counts_entries_and_prints_a_readable_size(tmp_path: Path) -> None:
    fill(tmp_path, 3)
    result = codemod("cache", "stats", "--cache-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    location, entries, size = lines(result)
    assert location == f"location: {tmp_path}"
    assert entries == "entries:  3"
    assert re.fullmatch(r"size:     \d+\.\d (KiB|MiB)", size), size


def test_the_environment_names_the_default_folder(tmp_path: Path) -> None:
    fill(tmp_path, 2)
    result = codemod("cache", "stats", env={"CODEMOD_CACHE_DIR": str(tmp_path)})
    assert lines(result)[:2] == [f"location: {tmp_path}", "entries:  2"]
    cleared = codemod("cache", "clear", env={"CODEMOD_CACHE_DIR": str(tmp_path)})
    assert cleared.stdout == f"removed 2 entries from {tmp_path}\n"


def test_the_folder_comes_from_dotenv_or_the_configuration_like_a_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    from_file, from_dotenv = tmp_path / "from-file", tmp_path / "from-dotenv"
    fill(from_file, 1)
    fill(from_dotenv, 2)
    (project / "codemod.toml").write_text(f'cache_dir = "{from_file}"\n')
    assert lines(codemod("cache", "stats", str(project)))[:2] == [
        f"location: {from_file}",
        "entries:  1",
    ]
    (project / ".env").write_text(f"CODEMOD_CACHE_DIR={from_dotenv}\n")  # .env beats the file
    assert lines(codemod("cache", "stats", str(project)))[:2] == [
        f"location: {from_dotenv}",
        "entries:  2",
    ]
    monkeypatch.chdir(project)  # no PATH: the current folder
    cleared = codemod("cache", "clear")
    assert cleared.stdout == f"removed 2 entries from {from_dotenv}\n"


def test_an_invalid_configuration_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "codemod.toml").write_text("cache_dir = 3\n")
    result = codemod("cache", "stats", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("codemod: configuration error: codemod.toml: cache_dir")
    assert result.stdout == ""


def test_clear_says_how_many_entries_it_removed(tmp_path: Path) -> None:
    fill(tmp_path, 1)
    first = codemod("cache", "clear", "--cache-dir", str(tmp_path))
    assert (first.exit_code, first.stdout) == (0, f"removed 1 entry from {tmp_path}\n")
    again = codemod("cache", "clear", "--cache-dir", str(tmp_path))
    assert again.stdout == f"removed 0 entries from {tmp_path}\n"
    assert lines(codemod("cache", "stats", "--cache-dir", str(tmp_path)))[1] == "entries:  0"


def test_clear_where_there_is_no_cache_creates_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "answers"
    result = codemod("cache", "clear", "--cache-dir", str(directory))
    assert (result.exit_code, result.stdout) == (0, f"removed 0 entries from {directory}\n")
    assert not directory.exists()


@pytest.mark.parametrize("command", ["stats", "clear"])
def test_an_unusable_folder_is_one_line_and_exit_1(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "answers"
    blocker.write_text("a file, not a folder")
    result = codemod("cache", command, "--cache-dir", str(blocker))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"codemod cache {command}: cannot open cache at {blocker}: not a directory\n"
    )
    assert blocker.read_text() == "a file, not a folder"


def test_help_shows_examples() -> None:
    for args in (["cache", "--help"], ["cache", "stats", "-h"], ["cache", "clear", "--help"]):
        result = codemod(*args)
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert "codemod cache stats" in result.stdout and "codemod cache clear" in result.stdout
    assert "--cache-dir" in codemod("cache", "stats", "--help").stdout
    assert "cache" in codemod("--help").stdout


def test_the_installed_command(tmp_path: Path) -> None:
    fill(tmp_path, 4)
    result = run_codemod("cache", "stats", env={"CODEMOD_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"location: {tmp_path}", "entries:  4"]


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (36 * 1024 + 512, "36.5 KiB"),
        (3 * 1024**2 // 2, "1.5 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3000 * 1024**3, "3000.0 GiB"),
    ],
)
def test_human_size(size: int, shown: str) -> None:
    assert human_size(size) == shown

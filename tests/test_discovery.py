"""Which files ``discover`` hands to a command, and which it skips or reports."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest

from codemodkit.discovery import DiscoveryOptions, DiscoveryResult, Problem, discover


def make(root: Path, *names: str, text: str = "x = 1\n") -> None:
    """Create files (``name``) and folders (``name/``) below ``root``."""
    for name in names:
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def found(
    paths: Iterable[str | Path], root: Path, **options: object
) -> tuple[list[str], DiscoveryResult]:
    """The candidates (POSIX paths relative to ``root``) and the full result."""
    result = discover(list(paths), DiscoveryOptions(**options))  # type: ignore[arg-type]
    rels = [c.path.relative_to(root).as_posix() for c in result.candidates]
    return rels, result


def problem_for(result: DiscoveryResult, name: str) -> Problem:
    matches = [p for p in result.problems if p.display.endswith(name)]
    assert len(matches) == 1, result.problems
    return matches[0]


# -- .gitignore ----------------------------------------------------------------------


def test_root_and_nested_gitignore_with_negation_and_directory_pattern(tmp_path: Path) -> None:
    make(
        tmp_path,
        "app.py",
        "secret.py",
        "generated/out.py",
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/local.py",
        "pkg/scratch_one.py",
        "pkg/keep.py",
        "pkg/deep/generated/more.py",
        "pkg/deep/ok.py",
    )
    (tmp_path / ".gitignore").write_text("secret.py\ngenerated/\n", encoding="utf-8")
    (tmp_path / "pkg" / ".gitignore").write_text(
        "local.py\nscratch_*.py\nkeep.py\n!keep.py\n", encoding="utf-8"
    )

    rels, result = found([tmp_path], tmp_path)

    assert rels == ["app.py", "pkg/__init__.py", "pkg/core.py", "pkg/keep.py", "pkg/deep/ok.py"]
    # secret.py, generated/, pkg/local.py, pkg/scratch_one.py, pkg/deep/generated/
    assert result.skipped == {".gitignore": 5}
    assert result.problems == []


def test_nested_gitignore_negation_overrides_a_parent_pattern(tmp_path: Path) -> None:
    make(tmp_path, "a.py", "sub/b.py", "sub/keep.py")
    (tmp_path / ".gitignore").write_text("*.py\n", encoding="utf-8")
    (tmp_path / "sub" / ".gitignore").write_text("!keep.py\n", encoding="utf-8")

    rels, _ = found([tmp_path], tmp_path)

    assert rels == ["sub/keep.py"]


def test_gitignore_in_an_ancestor_inside_the_repository_applies(tmp_path: Path) -> None:
    make(tmp_path, ".git/", "src/app/main.py", "src/app/vendored.py", "src/app/cache/c.py")
    (tmp_path / ".gitignore").write_text("vendored.py\ncache/\n", encoding="utf-8")

    rels, result = found([tmp_path / "src" / "app"], tmp_path)

    assert rels == ["src/app/main.py"]
    assert result.skipped == {".gitignore": 2}


def test_gitignore_above_the_repository_root_is_not_used(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.py\n", encoding="utf-8")
    make(tmp_path, "repo/.git/", "repo/main.py")

    rels, _ = found([tmp_path / "repo"], tmp_path)

    assert rels == ["repo/main.py"]


def test_git_info_exclude_is_honoured(tmp_path: Path) -> None:
    make(tmp_path, ".git/info/", "main.py", "private.py", "sub/private.py")
    (tmp_path / ".git" / "info" / "exclude").write_text("private.py\n", encoding="utf-8")

    rels, result = found([tmp_path], tmp_path)

    assert rels == ["main.py"]
    assert result.skipped == {".gitignore": 2, "excluded folder": 1}  # and .git itself


def test_respect_gitignore_false_disables_every_ignore_file(tmp_path: Path) -> None:
    make(tmp_path, ".git/info/", "a.py", "b.py", "generated/c.py")
    (tmp_path / ".gitignore").write_text("a.py\ngenerated/\n", encoding="utf-8")
    (tmp_path / ".git" / "info" / "exclude").write_text("b.py\n", encoding="utf-8")

    rels, result = found([tmp_path], tmp_path, respect_gitignore=False)

    assert rels == ["a.py", "b.py", "generated/c.py"]
    assert ".gitignore" not in result.skipped


def test_explicit_file_ignored_by_gitignore_is_reported_skipped(tmp_path: Path) -> None:
    make(tmp_path, ".git/", "secret.py")
    (tmp_path / ".gitignore").write_text("secret.py\n", encoding="utf-8")

    rels, result = found([tmp_path / "secret.py"], tmp_path)

    assert rels == []
    problem = problem_for(result, "secret.py")
    assert ".gitignore" in problem.reason
    assert not problem.failed


# -- default excludes ----------------------------------------------------------------


def test_default_excluded_folders_are_skipped(tmp_path: Path) -> None:
    make(
        tmp_path,
        "main.py",
        ".git/hooks/h.py",
        ".venv/lib/site.py",
        "venv/lib/site.py",
        "myenv/lib/site.py",
        "node_modules/pkg/index.py",
        "build/lib/main.py",
        "dist/main.py",
        "__pycache__/main.py",
        "proj.egg-info/x.py",
        "pkg/__pycache__/mod.py",
        "pkg/mod.py",
    )
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")

    rels, result = found([tmp_path], tmp_path)

    assert rels == ["main.py", "pkg/mod.py"]
    assert result.skipped == {"excluded folder": 10}


def test_test_files_and_folders_are_skipped_unless_included(tmp_path: Path) -> None:
    make(
        tmp_path,
        "app.py",
        "tests/helpers.py",
        "test/helpers.py",
        "pkg/test_x.py",
        "pkg/x_test.py",
        "pkg/conftest.py",
        "pkg/testing.py",
        "pkg/attest.py",
    )

    rels, result = found([tmp_path], tmp_path)
    assert rels == ["app.py", "pkg/attest.py", "pkg/testing.py"]
    assert result.skipped == {"test file": 5}

    rels, result = found([tmp_path], tmp_path, include_tests=True)
    assert rels == [
        "app.py",
        "pkg/attest.py",
        "pkg/conftest.py",
        "pkg/test_x.py",
        "pkg/testing.py",
        "pkg/x_test.py",
        "test/helpers.py",
        "tests/helpers.py",
    ]
    assert "test file" not in result.skipped


def test_telemetry_helpers_are_skipped_in_any_folder(tmp_path: Path) -> None:
    make(
        tmp_path,
        "_telemetry_utils.py",
        "pkg/_telemetry_utils.py",
        "pkg/deep/_telemetry_utils.py",
        "web/_telemetry_utils.js",
        "web/app.js",
        "pkg/mod.py",
    )

    rels, result = found([tmp_path], tmp_path, include_tests=True)

    assert rels == ["pkg/mod.py", "web/app.js"]
    assert result.skipped == {"telemetry helper": 4}

    rels, result = found([tmp_path / "pkg" / "_telemetry_utils.py"], tmp_path)
    assert rels == []
    assert "telemetry helper" in problem_for(result, "_telemetry_utils.py").reason


def test_exclude_patterns_are_relative_to_the_given_folder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    make(
        project,
        "legacy.py",
        "sub/legacy.py",
        "pkg/old/a.py",
        "pkg/old/b/c.py",
        "pkg/new.py",
        "pkg/schema.gen.py",
        "main.py",
        # not matched: "pkg/old/" is anchored at the given folder
        "other/pkg/old/kept.py",
    )

    rels, result = found([project], project, exclude=("legacy.py", "pkg/old/", "*.gen.py"))

    assert rels == ["main.py", "other/pkg/old/kept.py", "pkg/new.py"]
    assert result.skipped == {"--exclude": 4}


# -- explicit file arguments ---------------------------------------------------------


def test_explicit_files_in_a_repository_get_the_folder_rules(tmp_path: Path) -> None:
    make(
        tmp_path,
        ".git/",
        "pyproject.toml",
        "src/app.py",
        "tests/helpers.py",
        "node_modules/pkg/m.py",
        "build/lib/app.py",
        "pkg/test_app.py",
    )
    paths = [
        tmp_path / "src/app.py",
        tmp_path / "tests/helpers.py",
        tmp_path / "node_modules/pkg/m.py",
        tmp_path / "build/lib/app.py",
        tmp_path / "pkg/test_app.py",
    ]

    rels, result = found(paths, tmp_path)

    assert rels == ["src/app.py"]
    reasons = {
        (Path.cwd() / p.display).relative_to(tmp_path).as_posix(): p.reason
        for p in result.problems
        if not p.failed
    }
    assert len(reasons) == len(result.problems) == 4
    assert "test file" in reasons["tests/helpers.py"]
    assert "excluded folder" in reasons["node_modules/pkg/m.py"]
    assert "excluded folder" in reasons["build/lib/app.py"]
    assert "test file" in reasons["pkg/test_app.py"]


def test_explicit_files_outside_a_repository_get_the_folder_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make(tmp_path, "pyproject.toml", "app.py", "tests/helpers.py", "node_modules/pkg/m.py")
    monkeypatch.chdir(tmp_path)

    rels, result = found(["app.py", "tests/helpers.py", "node_modules/pkg/m.py"], tmp_path)

    assert rels == ["app.py"]
    assert len(result.problems) == 2


def test_explicit_file_include_tests_opts_in(tmp_path: Path) -> None:
    make(tmp_path, ".git/", "tests/test_a.py")

    rels, result = found([tmp_path / "tests/test_a.py"], tmp_path, include_tests=True)

    assert rels == ["tests/test_a.py"]
    assert result.problems == []


def test_nonexistent_path_is_a_failure(tmp_path: Path) -> None:
    rels, result = found([tmp_path / "missing.py", tmp_path / "missing_dir"], tmp_path)

    assert rels == []
    assert [(Path(p.display).name, p.reason, p.failed) for p in result.problems] == [
        ("missing.py", "does not exist", True),
        ("missing_dir", "does not exist", True),
    ]


def test_explicit_non_python_file_is_a_problem_but_not_a_failure(tmp_path: Path) -> None:
    make(tmp_path, "notes.txt", "data.csv")

    rels, result = found([tmp_path / "notes.txt", tmp_path / "data.csv"], tmp_path)

    assert rels == []
    assert len(result.problems) == 2
    assert all(not p.failed and "not a supported file type" in p.reason for p in result.problems)


def test_non_python_files_in_a_folder_are_ignored_silently(tmp_path: Path) -> None:
    make(tmp_path, "README.md", "data.json", "main.py")

    rels, result = found([tmp_path], tmp_path, languages=frozenset({"python"}))

    assert rels == ["main.py"]
    assert result.problems == []
    assert result.skipped == {}


# -- symlinks ------------------------------------------------------------------------


def test_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    tree = tmp_path / "tree"
    make(outside, "elsewhere.py", "lib/other.py")
    make(tree, "real.py", "sub/inner.py")
    (tree / "escape.py").symlink_to(outside / "elsewhere.py")
    (tree / "alias.py").symlink_to(tree / "real.py")
    (tree / "broken.py").symlink_to(tree / "gone.py")
    (tree / "loop_a.py").symlink_to(tree / "loop_b.py")
    (tree / "loop_b.py").symlink_to(tree / "loop_a.py")
    (tree / "linked_inside").symlink_to(tree / "sub", target_is_directory=True)
    (tree / "linked_outside").symlink_to(outside / "lib", target_is_directory=True)

    rels, result = found([tree], tree)

    # each real file once; symlinked folders are not followed
    assert rels == ["real.py", "sub/inner.py"]
    reasons = {Path(p.display).name: p.reason for p in result.problems}
    assert "outside the tree" in reasons["escape.py"]
    assert reasons["broken.py"] == "broken symlink"
    assert reasons["loop_a.py"] == "symlink loop"
    assert reasons["loop_b.py"] == "symlink loop"
    assert "outside the tree" in reasons["linked_outside"]
    assert set(reasons) == {"escape.py", "broken.py", "loop_a.py", "loop_b.py", "linked_outside"}
    # the links to files inside the tree are skipped quietly
    assert result.skipped == {"symlink": 2}


def test_explicit_broken_symlink_and_loop_are_failures(tmp_path: Path) -> None:
    (tmp_path / "broken.py").symlink_to(tmp_path / "gone.py")
    (tmp_path / "loop.py").symlink_to(tmp_path / "loop.py")

    rels, result = found([tmp_path / "broken.py", tmp_path / "loop.py"], tmp_path)

    assert rels == []
    assert [(Path(p.display).name, p.reason, p.failed) for p in result.problems] == [
        ("broken.py", "broken symlink", True),
        ("loop.py", "symlink loop", True),
    ]


# -- order and duplicates -------------------------------------------------------------


def test_results_are_in_sorted_walk_order_whatever_the_creation_order(tmp_path: Path) -> None:
    names = ["zeta.py", "b/y.py", "alpha.py", "b/a/x.py", "a/z.py", "b/c.py", "a/a.py", "m.py"]
    make(tmp_path, *names)

    rels, _ = found([tmp_path], tmp_path)

    # every folder in name order, its files (sorted) before its subfolders
    assert rels == sorted(names, key=lambda r: (Path(r).parent.parts, Path(r).name))
    assert rels == [
        "alpha.py",
        "m.py",
        "zeta.py",
        "a/a.py",
        "a/z.py",
        "b/c.py",
        "b/y.py",
        "b/a/x.py",
    ]


def test_no_duplicates_when_a_path_is_given_twice_or_with_its_folder(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "pkg/b.py", "pkg/sub/c.py")
    pkg = tmp_path / "pkg"

    rels, result = found(
        [pkg / "a.py", pkg / "a.py", pkg, pkg / "sub", str(pkg / "sub" / "c.py"), pkg],
        tmp_path,
    )

    assert sorted(rels) == ["pkg/a.py", "pkg/b.py", "pkg/sub/c.py"]
    assert len(rels) == 3
    assert result.problems == []


def test_relative_paths_and_display(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(tmp_path, "pkg/a.py")
    monkeypatch.chdir(tmp_path)

    result = discover(["pkg", os.path.join(".", "pkg", "a.py")], DiscoveryOptions())

    assert [c.display for c in result.candidates] == ["pkg/a.py"]
    assert result.candidates[0].path == tmp_path / "pkg" / "a.py"
    assert result.candidates[0].language == "python"


def test_overlapping_arguments_count_each_skipped_file_once(tmp_path: Path) -> None:
    make(tmp_path, "pkg/a.py", "pkg/tests/t.py", "pkg/test_b.py")

    rels, result = found([tmp_path / "pkg", tmp_path / "pkg"], tmp_path)

    assert rels == ["pkg/a.py"]
    assert result.skipped == {"test file": 2}


# -- skip counts ---------------------------------------------------------------------


def test_skipped_counts_by_reason(tmp_path: Path) -> None:
    make(
        tmp_path,
        ".git/",
        "main.py",
        "ignored.py",
        "node_modules/a.py",
        "dist/b.py",
        "tests/c.py",
        "test_d.py",
        "e_test.py",
        "_telemetry_utils.py",
        "old/f.py",
        "notes.txt",
    )
    (tmp_path / ".gitignore").write_text("ignored.py\n", encoding="utf-8")
    (tmp_path / "link.py").symlink_to(tmp_path / "main.py")

    rels, result = found([tmp_path], tmp_path, exclude=("old/",))

    assert rels == ["main.py"]
    assert result.skipped == {
        ".gitignore": 1,
        "excluded folder": 3,  # .git, node_modules, dist
        "test file": 3,
        "telemetry helper": 1,
        "--exclude": 1,
        "symlink": 1,
    }
    assert result.problems == []

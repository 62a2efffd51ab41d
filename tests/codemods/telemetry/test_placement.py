"""Where the helper goes and what a module is called (no installs: see test_layouts)."""

from __future__ import annotations

from pathlib import Path

from codemodkit.codemods.telemetry.python.placement import PlacementResolver


def tree(root: Path, files: list[str]) -> None:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")


def test_nested_package_uses_the_top_package_helper(tmp_path: Path) -> None:
    tree(tmp_path, ["pyproject.toml", "pkg/__init__.py", "pkg/a/__init__.py", "pkg/a/b/m.py"])
    tree(tmp_path, ["pkg/a/b/__init__.py"])
    placement = PlacementResolver().placement(tmp_path / "pkg/a/b/m.py", tmp_path)
    assert placement.helper == tmp_path / "pkg" / "_telemetry_utils.py"
    assert (placement.dots, placement.module, placement.relpath) == (
        "...",
        "pkg.a.b.m",
        "pkg/a/b/m.py",
    )
    assert placement.warning is None


def test_a_module_named_setup_py_inside_a_package_is_not_a_project_root(tmp_path: Path) -> None:
    tree(tmp_path, [".git/HEAD", "lib/test/__init__.py", "lib/test/tools/__init__.py"])
    tree(tmp_path, ["lib/test/tools/setup.py", "lib/test/tools/run.py"])
    placement = PlacementResolver().placement(tmp_path / "lib/test/tools/run.py", tmp_path)
    assert placement.helper == tmp_path / "lib" / "test" / "_telemetry_utils.py"
    assert placement.dots == ".."
    assert placement.warning is None


def test_setup_py_beside_packages_marks_the_project(tmp_path: Path) -> None:
    tree(tmp_path, ["outer/.git/HEAD", "outer/proj/setup.py", "outer/proj/pkg/__init__.py"])
    tree(tmp_path, ["outer/proj/pkg/m.py"])
    placement = PlacementResolver().placement(tmp_path / "outer/proj/pkg/m.py", tmp_path)
    assert placement.relpath == "pkg/m.py"
    assert placement.module == "pkg.m"


def test_src_layout_module_names_start_below_src(tmp_path: Path) -> None:
    tree(tmp_path, ["pyproject.toml", "src/app/__init__.py", "src/app/cli.py"])
    placement = PlacementResolver().placement(tmp_path / "src/app/cli.py", tmp_path)
    assert (placement.module, placement.relpath) == ("app.cli", "src/app/cli.py")
    assert placement.helper == tmp_path / "src" / "app" / "_telemetry_utils.py"


def test_loose_script_outside_any_project_gets_the_helper_beside_it(tmp_path: Path) -> None:
    tree(tmp_path, ["scripts/tool.py"])
    placement = PlacementResolver().placement(tmp_path / "scripts/tool.py", tmp_path / "scripts")
    assert placement.helper == tmp_path / "scripts" / "_telemetry_utils.py"
    assert (placement.dots, placement.relpath) == (".", "tool.py")


def test_single_module_distribution_is_warned_about(tmp_path: Path) -> None:
    tree(tmp_path, ["pyproject.toml", "mymod.py"])
    placement = PlacementResolver().placement(tmp_path / "mymod.py", tmp_path)
    assert placement.warning is not None and "py-modules" in placement.warning

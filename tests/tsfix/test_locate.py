"""Finding the project's TypeScript (and Node), or saying exactly what to install."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from js_support import NodeTools, link_node_modules

from codemodkit.tsfix.locate import INSTALL_HINT, find_node, find_typescript
from codemodkit.tsfix.types import ServiceError


def _on_path(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)


def test_the_projects_own_typescript(tmp_path: Path, node_tools: NodeTools) -> None:
    link_node_modules(tmp_path, node_tools)
    found = find_typescript(tmp_path / "tsconfig.json")
    assert (found.version, found.major, found.is_global) == ("5.9.3", 5, False)
    assert found.package_dir == (node_tools.node_modules / "typescript").resolve()
    assert found.tsc.is_file() and found.tsc.name == "tsc"


def test_walks_up_from_a_nested_tsconfig(tmp_path: Path, node_tools: NodeTools) -> None:
    link_node_modules(tmp_path, node_tools)
    nested = tmp_path / "packages" / "app"
    nested.mkdir(parents=True)
    assert find_typescript(nested / "tsconfig.json").version == "5.9.3"
    assert find_typescript(nested).version == "5.9.3"


def test_a_nearer_install_wins_and_other_packages_are_ignored(tmp_path: Path) -> None:
    near = tmp_path / "app" / "node_modules" / "typescript"
    near.mkdir(parents=True)
    (near / "package.json").write_text(
        json.dumps({"name": "typescript", "version": "7.0.2", "bin": {"tsc": "./bin/tsc"}})
    )
    impostor = tmp_path / "app" / "sub" / "node_modules" / "typescript"
    impostor.mkdir(parents=True)
    (impostor / "package.json").write_text(json.dumps({"name": "not-typescript"}))
    found = find_typescript(tmp_path / "app" / "sub")
    assert (found.version, found.major) == ("7.0.2", 7)
    assert found.tsc == (near / "bin" / "tsc").resolve()


def test_falls_back_to_the_global_install(
    tmp_path: Path, node_tools: NodeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "global" / "lib" / "node_modules"
    root.mkdir(parents=True)
    (root / "typescript").symlink_to(node_tools.node_modules / "typescript")
    _on_path(tmp_path / "bin", "npm", f'echo "{root}"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    project = tmp_path / "project"
    project.mkdir()
    found = find_typescript(project)
    assert found.is_global and found.version == "5.9.3"


def test_no_typescript_names_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on_path(tmp_path / "bin", "npm", f'echo "{tmp_path / "empty-global"}"')
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(ServiceError, match="npm install --save-dev typescript@5") as error:
        find_typescript(tmp_path / "tsconfig.json")
    assert INSTALL_HINT in str(error.value) and "\n" not in str(error.value)


def test_no_npm_at_all_still_gives_the_install_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    with pytest.raises(ServiceError, match="typescript@5"):
        find_typescript(tmp_path)


def test_missing_node_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServiceError, match=r"node is not on PATH.*nodejs\.org"):
        find_node()

"""``[tool.codemod]`` / ``codemod.toml``: found by walking up, validated, one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_codemod

from codemodkit.config import ConfigError, load_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_tiers_are_read_from_pyproject_found_above_the_target(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.codemod]\nmax_attempts = 2\n\n'
        '[tool.codemod.tiers.1]\nprovider = "ollama"\nmodel = "qwen"\n'
        'endpoints = ["http://a:11434", "http://b:11434"]\n'
        'fallback = { provider = "anthropic", model = "claude-haiku-4-5" }\n\n'
        '[tool.codemod.tiers.3]\nprovider = "openai"\nmodel = "gpt-4o"\nrpm = 50\n',
    )
    loaded = load_config(write(tmp_path / "src" / "pkg" / "m.py", ""))
    assert loaded.source == tmp_path / "pyproject.toml"
    config = loaded.config
    assert config.max_attempts == 2
    assert config.tiers[1].endpoints == ("http://a:11434", "http://b:11434")
    assert not config.tiers[1].is_cloud and config.tiers[3].is_cloud
    assert config.tiers[1].fallback is not None and config.tiers[1].fallback.is_cloud
    assert config.tiers[3].rpm == 50


def test_codemod_toml_wins_and_a_pyproject_without_our_table_is_passed_over(
    tmp_path: Path,
) -> None:
    write(tmp_path / "codemod.toml", '[tiers.1]\nprovider = "openai"\nmodel = "gpt-4o"\n')
    write(tmp_path / "app" / "pyproject.toml", '[project]\nname = "app"\n')
    loaded = load_config(tmp_path / "app")
    assert loaded.source == tmp_path / "codemod.toml"
    assert loaded.config.tiers[1].provider == "openai"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[tool.codemod.tiers.2]\nprovider = "ollama"\nrpm = "fast"\n', "tiers.2.rpm"),
        ('[tool.codemod.tiers.4]\nprovider = "ollama"\n', "a tier is 1, 2 or 3"),
        ("[tool.codemod]\ntierz = 1\n", "tierz: unknown key"),
        ('[tool.codemod.tiers.1]\nprovider = "olama"\n', "tiers.1.provider"),
        ("[tool.codemod]\nmax_attempts = 0\n", "max_attempts"),
    ],
)
def test_a_mistake_is_one_line_naming_file_key_and_expectation(
    tmp_path: Path, table: str, message: str
) -> None:
    write(tmp_path / "pyproject.toml", table)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    text = str(caught.value)
    assert text.startswith("pyproject.toml: [tool.codemod] ")
    assert message in text and "\n" not in text


def test_the_command_line_reports_a_bad_configuration_and_exits_2(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.codemod.tiers.1]\nprovider = "ollama"\nrpm = -1\n')
    write(tmp_path / "m.py", "def f():\n    return 1\n")
    done = run_codemod("telemetry", "--dry-run", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "codemod: configuration error: pyproject.toml: [tool.codemod] tiers.1.rpm: "
        "Input should be greater than or equal to 1 (got -1)"
    ]


def test_provider_without_model_is_a_clear_error(tmp_path: Path) -> None:
    write(tmp_path / "m.py", "def f():\n    return 1\n")
    done = run_codemod("telemetry", "--dry-run", "--provider", "ollama", str(tmp_path))
    assert done.returncode == 2
    assert "--provider ollama needs --model NAME" in done.stderr


def test_the_readme_example_configuration_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("```toml\n[tool.codemod]\n", 1)[1].split("```", 1)[0]
    write(tmp_path / "pyproject.toml", "[tool.codemod]\n" + block)
    config = load_config(tmp_path).config
    assert sorted(config.tiers) == [1, 2, 3]
    assert config.tiers[2].api_key_env == "TEAM_OPENAI_KEY"
    assert config.exclude == ("legacy/", "*_pb2.py") and config.tsfix.mode == "hybrid"
    assert config.telemetry.include_tests is False and config.tsfix.tiers == {2322: 2}


def test_configured_excludes_and_telemetry_defaults_apply_under_the_flags(tmp_path: Path) -> None:
    write(
        tmp_path / "codemod.toml",
        'exclude = ["legacy/"]\n[telemetry]\ninclude_tests = true\n',
    )
    write(tmp_path / "legacy" / "old.py", "def f():\n    return 1\n")
    write(tmp_path / "app.py", "def g():\n    return 2\n")
    write(tmp_path / "tests" / "test_app.py", "def test_g():\n    assert True\n")
    done = run_codemod("telemetry", "--dry-run", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "/app.py\n" in done.stdout
    assert "/tests/test_app.py\n" in done.stdout  # include_tests from the file
    assert "legacy/old.py" not in done.stdout  # excluded by the file
    again = run_codemod("telemetry", "--dry-run", "--exclude", "app.py", str(tmp_path))
    assert "/app.py\n" not in again.stdout and "/tests/test_app.py\n" in again.stdout

"""``codemod config show`` and the configuration's layers, as the user sees them.

Precedence, lowest first: defaults < [tool.codemod] / codemod.toml < .env < environment
< flags. Mistakes in either file are one line naming the file, the key and what was
expected; API keys are never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LAYER_VARIABLES = (
    "LLM_PROVIDER",
    "LLM_MODEL",
    "LLM_BASE_URL",
    "CODEMOD_CACHE_DIR",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OLLAMA_API_KEY",
    "TEAM_KEY",
)
SECRET = "sk-test-0123456789abcdef"


def codemod(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command line in a subprocess whose environment holds only the given layer vars."""
    clean = {k: v for k, v in os.environ.items() if k not in LAYER_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "codemodkit", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def show_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = codemod("config", "show", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    values: dict[str, Any] = json.loads(done.stdout)["values"]
    return values


# --- mistakes: one line naming the file, the key and what was expected -------------------

MISTAKES = [
    (
        "max_atempts = 2\n",
        "max_atempts: unknown key (did you mean max_attempts?)",
    ),
    (
        '[tiers.1]\nprovider = "ollama"\nmodel = "qwen"\nrpm = "fast"\n',
        "tiers.1.rpm: Input should be a valid integer, unable to parse string as an integer "
        "(got 'fast')",
    ),
    (
        '[tiers.4]\nprovider = "ollama"\nmodel = "qwen"\n',
        "tiers.4: a tier is 1, 2 or 3 (got '4')",
    ),
]


@pytest.mark.parametrize(("toml", "message"), MISTAKES, ids=["unknown", "type", "tier"])
def test_a_mistake_in_codemod_toml_is_one_line_and_exit_2(
    tmp_path: Path, toml: str, message: str
) -> None:
    write(tmp_path / "codemod.toml", toml)
    done = codemod("config", "show", str(tmp_path))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"codemod: configuration error: codemod.toml: {message}"]


@pytest.mark.parametrize(("toml", "message"), MISTAKES, ids=["unknown", "type", "tier"])
def test_a_mistake_in_pyproject_names_the_table_too(
    tmp_path: Path, toml: str, message: str
) -> None:
    # the same mistakes, under [tool.codemod] (tables become [tool.codemod.tiers.N])
    table = toml.replace("[tiers.", "[tool.codemod.tiers.")
    if not table.startswith("["):
        table = "[tool.codemod]\n" + table
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n\n' + table)
    done = codemod("doctor", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"codemod: configuration error: pyproject.toml: [tool.codemod] {message}"
    ]


def test_an_unknown_key_far_from_any_known_one_lists_the_allowed_keys(tmp_path: Path) -> None:
    write(
        tmp_path / "codemod.toml",
        '[tiers.1]\nprovider = "ollama"\nmodel = "m"\n'
        'fallback = { provider = "openai", zzz = 1 }\n',
    )
    done = codemod("config", "show", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "codemod: configuration error: codemod.toml: tiers.1.fallback.zzz: unknown key "
        "(expected one of: api_key_env, endpoints, max_parallel, model, num_ctx, provider, "
        "rpm, server_slots, timeout, tpm)"
    ]


def test_a_bad_llm_provider_variable_names_the_variable(tmp_path: Path) -> None:
    done = codemod("config", "show", str(tmp_path), env={"LLM_PROVIDER": "olama"})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "codemod: configuration error: env LLM_PROVIDER: 'olama' is not a provider "
        "(expected one of: template, ollama, openai, anthropic)"
    ]


def test_llm_provider_without_a_model_says_what_is_missing(tmp_path: Path) -> None:
    done = codemod("config", "show", str(tmp_path), env={"LLM_PROVIDER": "ollama"})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "codemod: configuration error: LLM_PROVIDER=ollama (env LLM_PROVIDER) needs "
        "LLM_MODEL or --model"
    ]


# --- the layers and their sources --------------------------------------------------------


def test_no_configuration_shows_the_defaults(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = codemod("config", "show", str(tmp_path), env={"CODEMOD_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines[0] == ["configuration", "file:", "none", "found", "(defaults)"]
    assert ["max_attempts", "3", "default"] in lines
    assert ["tiers", "(none:", "the", "template", "provider", "only)", "default"] in lines
    assert ["cache_dir", str(cache), "env", "CODEMOD_CACHE_DIR"] in lines


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    config = write(
        tmp_path / "codemod.toml",
        'max_attempts = 2\n[tiers.1]\nprovider = "ollama"\nmodel = "from-file"\n'
        'endpoints = ["http://file:11434"]\nrpm = 30\n',
    )
    dotenv = write(tmp_path / ".env", "LLM_MODEL=from-dotenv\nLLM_BASE_URL=http://dotenv:11434\n")
    values = show_json(str(tmp_path), env={"LLM_BASE_URL": "http://env:1,http://env:2"})
    assert values["max_attempts"] == {"value": "2", "source": str(config)}
    assert values["tiers.1.provider"] == {"value": "ollama", "source": str(config)}
    assert values["tiers.1.rpm"] == {"value": "30", "source": str(config)}
    assert values["tiers.1.model"] == {
        "value": "from-dotenv",
        "source": f".env LLM_MODEL ({dotenv})",
    }
    # the real environment beats .env (python-dotenv's convention)
    assert values["tiers.1.endpoints"] == {
        "value": "http://env:1, http://env:2",
        "source": "env LLM_BASE_URL",
    }
    # and flags beat everything
    values = show_json(str(tmp_path), "--model", "from-flag", env={"LLM_MODEL": "from-env"})
    assert values["tiers.1.model"] == {"value": "from-flag", "source": "flag --model"}
    assert values["tiers.1.endpoints"]["source"] == f".env LLM_BASE_URL ({dotenv})"


def test_the_environment_defines_tier_1_like_the_flags(tmp_path: Path) -> None:
    values = show_json(str(tmp_path), env={"LLM_PROVIDER": "openai", "LLM_MODEL": "gpt-4o-mini"})
    assert values["tiers.1.provider"] == {"value": "openai", "source": "env LLM_PROVIDER"}
    assert values["tiers.1.model"] == {"value": "gpt-4o-mini", "source": "env LLM_MODEL"}
    assert values["tiers.1.endpoints"] == {"value": "https://api.openai.com", "source": "default"}


def test_a_provider_flag_ignores_another_providers_environment(tmp_path: Path) -> None:
    env = {"LLM_PROVIDER": "openai", "LLM_MODEL": "gpt-4o-mini"}
    values = show_json(str(tmp_path), "--provider", "ollama", "--model", "qwen", env=env)
    assert values["tiers.1.provider"] == {"value": "ollama", "source": "flag --provider"}
    assert values["tiers.1.model"] == {"value": "qwen", "source": "flag --model"}


def test_llm_provider_template_turns_the_models_off(tmp_path: Path) -> None:
    write(tmp_path / "codemod.toml", '[tiers.1]\nprovider = "ollama"\nmodel = "qwen"\n')
    values = show_json(str(tmp_path), env={"LLM_PROVIDER": "template"})
    assert values["tiers"] == {
        "value": "(none: the template provider only)",
        "source": "env LLM_PROVIDER",
    }


def test_keys_are_masked_and_their_source_shown(tmp_path: Path) -> None:
    write(
        tmp_path / "codemod.toml",
        '[tiers.1]\nprovider = "openai"\nmodel = "gpt-4o"\n'
        '[tiers.2]\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
        '[tiers.3]\nprovider = "openai"\nmodel = "o3"\napi_key_env = "TEAM_KEY"\n',
    )
    dotenv = write(tmp_path / ".env", f"ANTHROPIC_API_KEY={SECRET}-dotenv\n")
    env = {"OPENAI_API_KEY": SECRET}
    table = codemod("config", "show", str(tmp_path), env=env)
    as_json = codemod("config", "show", "--json", str(tmp_path), env=env)
    for done in (table, as_json):
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout + done.stderr
    lines = [line.split() for line in table.stdout.splitlines()]
    assert ["tiers.1.api_key", "****", "env", "OPENAI_API_KEY"] in lines
    assert ["tiers.2.api_key", "****", ".env", "ANTHROPIC_API_KEY", f"({dotenv})"] in lines
    assert ["tiers.3.api_key", "(not", "set)", "TEAM_KEY", "is", "not", "set"] in lines
    # a key given as a flag is shown as coming from the flag, still masked
    flagged = show_json(
        str(tmp_path), "--provider", "openai", "--model", "gpt-4o", "--api-key", SECRET
    )
    assert flagged["tiers.1.api_key"] == {"value": "****", "source": "flag --api-key"}


def test_the_cache_folder_follows_the_same_layers(tmp_path: Path) -> None:
    config = write(tmp_path / "codemod.toml", 'cache_dir = "/from/file"\n')
    values = show_json(str(tmp_path))
    assert values["cache_dir"] == {"value": "/from/file", "source": str(config)}
    dotenv = write(tmp_path / ".env", "CODEMOD_CACHE_DIR=/from/dotenv\n")
    values = show_json(str(tmp_path))
    assert values["cache_dir"] == {
        "value": "/from/dotenv",
        "source": f".env CODEMOD_CACHE_DIR ({dotenv})",
    }
    values = show_json(str(tmp_path), env={"CODEMOD_CACHE_DIR": "/from/env"})
    assert values["cache_dir"] == {"value": "/from/env", "source": "env CODEMOD_CACHE_DIR"}
    values = show_json(
        str(tmp_path), "--cache-dir", "/from/flag", env={"CODEMOD_CACHE_DIR": "/from/env"}
    )
    assert values["cache_dir"] == {"value": "/from/flag", "source": "flag --cache-dir"}

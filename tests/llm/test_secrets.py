"""Keys: flag > environment > .env, and the redactor that keeps them out of messages."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from codemodkit.llm.secrets import REDACTOR, Redactor, redact, resolve_api_key


def write_env(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".env").write_text(text, encoding="utf-8")


def test_flag_beats_environment_beats_dotenv(tmp_path: Path) -> None:
    write_env(tmp_path, "OPENAI_API_KEY=from-dotenv\n")
    env = {"OPENAI_API_KEY": "from-env"}
    assert resolve_api_key("openai", "from-flag", env, tmp_path) == "from-flag"
    assert resolve_api_key("openai", None, env, tmp_path) == "from-env"
    assert resolve_api_key("openai", None, {}, tmp_path) == "from-dotenv"
    assert resolve_api_key("openai", "", {"OPENAI_API_KEY": ""}, tmp_path) == "from-dotenv"


def test_each_provider_has_its_variable(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "o-key", "ANTHROPIC_API_KEY": "a-key", "OLLAMA_API_KEY": "l-key"}
    assert resolve_api_key("openai", None, env, tmp_path) == "o-key"
    assert resolve_api_key("anthropic", None, env, tmp_path) == "a-key"
    assert resolve_api_key("ollama", None, env, tmp_path) == "l-key"
    assert resolve_api_key("template", None, env, tmp_path) is None
    assert resolve_api_key("ollama", None, {}, tmp_path) is None


def test_dotenv_is_found_walking_up_and_the_nearest_wins(tmp_path: Path) -> None:
    write_env(tmp_path, "ANTHROPIC_API_KEY=outer\nOPENAI_API_KEY=outer-openai\n")
    project = tmp_path / "project"
    write_env(project, "# comment\nexport ANTHROPIC_API_KEY='inner quoted'\n")
    deep = project / "src" / "pkg"
    deep.mkdir(parents=True)
    assert resolve_api_key("anthropic", None, {}, deep) == "inner quoted"
    # the nearest file decides, even when it lacks the variable
    assert resolve_api_key("openai", None, {}, deep) is None


def test_dotenv_does_not_touch_os_environ(tmp_path: Path) -> None:
    write_env(tmp_path, "OLLAMA_API_KEY=dotenv-only-key\n")
    before = dict(os.environ)
    assert resolve_api_key("ollama", None, {}, tmp_path) == "dotenv-only-key"
    assert dict(os.environ) == before


def test_dotenv_defaults_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path, "OPENAI_API_KEY=cwd-key\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_api_key("openai", None, {}) == "cwd-key"


def test_real_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "process-env-key")
    assert resolve_api_key("anthropic", None, dotenv_dir=tmp_path) == "process-env-key"


def test_resolved_keys_are_registered_for_redaction(tmp_path: Path) -> None:
    key = resolve_api_key("openai", None, {"OPENAI_API_KEY": "sk-resolved-77"}, tmp_path)
    assert key == "sk-resolved-77"
    assert redact("the key sk-resolved-77 leaked") == "the key *** leaked"
    assert REDACTOR.redact("x") == "x"


def test_redactor_catches_the_key_anywhere() -> None:
    redactor = Redactor()
    secret = 'sk-live-Ab/cd+ef=gh"ij'
    redactor.register(secret)
    assert redactor.redact(f"prefix{secret}suffix") == "prefix***suffix"
    assert redactor.redact(f"Authorization: Bearer {secret}") == "Authorization: Bearer ***"
    assert redactor.redact(quote(secret, safe="")) == "***"
    assert redactor.redact(json.dumps({"key": secret})) == '{"key": "***"}'
    assert redactor.redact(base64.b64encode(secret.encode()).decode()) == "***"
    basic = base64.b64encode(f":{secret}".encode()).decode()
    assert redactor.redact(f"Basic {basic}") == "Basic ***"
    assert redactor.redact(f"{secret}\n{secret}") == "***\n***"


def test_redactor_short_and_overlapping_secrets() -> None:
    redactor = Redactor()
    redactor.register("abc")  # short keys are redacted too
    redactor.register("abcdef-longer")
    redactor.register("")  # ignored: it would match everywhere
    redactor.register(None)
    assert redactor.redact("abc abcdef-longer xyz") == "*** *** xyz"
    redactor.clear()
    assert redactor.redact("abc") == "abc"


def test_unregistered_bearer_tokens_are_masked() -> None:
    assert Redactor().redact("curl -H 'authorization: bearer tok.en-123'") == (
        "curl -H 'authorization: bearer ***'"
    )

"""``codemod doctor`` against simulated servers: each failure named, with its fix, and exit 1."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from codemodkit.cli import main
from codemodkit.doctor import TIMEOUT

from .conftest import SimServerFactory

LAYER_VARIABLES = (
    "LLM_PROVIDER",
    "LLM_MODEL",
    "LLM_BASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "OLLAMA_API_KEY",
    "TEAM_KEY",
)
SECRET = "sk-right-0123456789"
WRONG = "sk-wrong-9876543210"


def doctor(project: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """``codemod doctor PROJECT`` with only the given layer variables set."""
    environment: dict[str, str | None] = {name: None for name in LAYER_VARIABLES}
    environment["CODEMOD_CACHE_DIR"] = str(project / ".cache")
    environment.update(env or {})
    return CliRunner().invoke(main, ["doctor", str(project), *args], env=environment)


def configure(project: Path, toml: str) -> Path:
    project.mkdir(parents=True, exist_ok=True)
    path = project / "codemod.toml"
    path.write_text(toml)
    return path


def row(output: str, start: str) -> list[str]:
    """The table row whose check begins with ``start``, as words."""
    for line in output.splitlines():
        words = line.split()
        if len(words) > 1 and " ".join(words[1:]).startswith(start):
            return words
    raise AssertionError(f"no row {start!r} in:\n{output}")


def text(output: str, start: str) -> str:
    return " ".join(row(output, start))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_all_good_is_every_check_ticked_and_exit_0(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    local = sim_server(models={"qwen2.5-coder:7b": 4_700_000_000})
    cloud = sim_server(api_key=SECRET, models={"gpt-4o": 1, "claude-sonnet-4-5-20250929": 1})
    configure(
        tmp_path,
        f'[tiers.1]\nprovider = "ollama"\nmodel = "qwen2.5-coder:7b"\nendpoints = ["{local.url}"]\n'
        f'[tiers.2]\nprovider = "openai"\nmodel = "gpt-4o"\nendpoints = ["{cloud.url}/v1"]\n'
        f'[tiers.3]\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
        f'endpoints = ["{cloud.url}"]\n',
    )
    (tmp_path / ".env").write_text(f"ANTHROPIC_API_KEY={SECRET}\n")
    result = doctor(tmp_path, env={"OPENAI_API_KEY": SECRET})
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.split()[:3] == ["check", "result", "fix"]
    assert text(out, "template provider") == (
        "✓ template provider built in, always available (no model needed)"
    )
    assert text(out, "tier 1") == (
        f"✓ tier 1: ollama qwen2.5-coder:7b at {local.url} reachable, model present"
    )
    assert text(out, "tier 2") == (
        f"✓ tier 2: openai gpt-4o at {cloud.url}/v1 reachable, model present, key accepted"
    )
    assert text(out, "tier 3") == (
        f"✓ tier 3: anthropic claude-sonnet-4-5 at {cloud.url} reachable, model present, "
        "key accepted"
    )
    assert text(out, "cache") == (
        f"✓ cache {tmp_path / '.cache'} (not created yet): 0 entries, 0 B"
    )
    assert row(out, "GPU")[0] == "✓"
    assert out.splitlines()[-1] == "everything needed is in place"
    assert SECRET not in out
    # one GET of the model list per endpoint: nothing generated, no tokens spent
    assert local.stats.by_path == {"/api/tags": 1}
    assert cloud.stats.by_path == {"/v1/models": 2}


def test_a_rejected_key_names_the_variable_to_fix(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(api_key=SECRET, models={"gpt-4o": 1})
    configure(
        tmp_path,
        f'[tiers.1]\nprovider = "openai"\nmodel = "gpt-4o"\nendpoints = ["{server.url}"]\n',
    )
    result = doctor(tmp_path, env={"OPENAI_API_KEY": WRONG})
    assert result.exit_code == 1
    assert text(result.output, "tier 1") == (
        f"✗ tier 1: openai gpt-4o at {server.url} key rejected (401) "
        "put a valid key in OPENAI_API_KEY (now from env OPENAI_API_KEY)"
    )
    assert result.output.splitlines()[-1] == (
        "1 needed check failed; the fix column says what to do"
    )
    assert WRONG not in result.output  # the simulator echoes it back in its 401


def test_the_report_holds_every_check_and_no_key(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(api_key=SECRET, models={"gpt-4o": 1})
    configure(
        tmp_path,
        f'[tiers.1]\nprovider = "openai"\nmodel = "gpt-4o"\nendpoints = ["{server.url}"]\n',
    )
    report = tmp_path / "doctor.json"
    result = doctor(tmp_path, "--report", str(report), env={"OPENAI_API_KEY": WRONG})
    assert result.exit_code == 1
    data = json.loads(report.read_text())
    assert data["command"] == "codemod doctor" and data["ok"] is False
    (tier,) = [c for c in data["checks"] if c["name"].startswith("tier 1")]
    assert tier["ok"] is False and tier["needed"] is True
    assert "key rejected (401)" in tier["result"] and "OPENAI_API_KEY" in tier["fix"]
    assert WRONG not in report.read_text() and SECRET not in report.read_text()


def test_a_rejected_key_from_a_named_variable_in_dotenv(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(api_key=SECRET, models={"claude-haiku-4-5": 1})
    configure(
        tmp_path,
        f'[tiers.3]\nprovider = "anthropic"\nmodel = "claude-haiku-4-5"\n'
        f'endpoints = ["{server.url}"]\napi_key_env = "TEAM_KEY"\n',
    )
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"TEAM_KEY={WRONG}\n")
    result = doctor(tmp_path)
    assert result.exit_code == 1
    assert text(result.output, "tier 3") == (
        f"✗ tier 3: anthropic claude-haiku-4-5 at {server.url} key rejected (401) "
        f"put a valid key in TEAM_KEY (now from .env TEAM_KEY ({dotenv}))"
    )


def test_a_missing_key_says_which_variable_to_set(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(api_key=SECRET, models={"gpt-4o": 1})
    result = doctor(tmp_path, "--provider", "openai", "--model", "gpt-4o", "--endpoint", server.url)
    assert result.exit_code == 1
    assert text(result.output, "tier 1") == (
        f"✗ tier 1: openai gpt-4o at {server.url} no key sent, and the server wants one (401) "
        "set OPENAI_API_KEY (in the environment or .env)"
    )


def test_a_missing_ollama_model_gives_the_pull_command(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(models={"llama3.2:1b": 1_300_000_000})
    config = configure(
        tmp_path,
        f'[tiers.1]\nprovider = "ollama"\nmodel = "qwen2.5-coder:7b"\n'
        f'endpoints = ["{server.url}"]\n',
    )
    result = doctor(tmp_path)
    assert result.exit_code == 1
    assert text(result.output, "tier 1") == (
        f"✗ tier 1: ollama qwen2.5-coder:7b at {server.url} model qwen2.5-coder:7b not found "
        f"run `OLLAMA_HOST={server.url} ollama pull qwen2.5-coder:7b` "
        f"(or correct the model in {config})"
    )


def test_a_model_from_the_environment_names_the_variable_to_correct(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(models={"gpt-4o": 1, "gpt-4o-mini": 1})
    env = {"LLM_PROVIDER": "openai", "LLM_MODEL": "gpt-5", "LLM_BASE_URL": server.url}
    result = doctor(tmp_path, env=env)
    assert result.exit_code == 1
    assert text(result.output, "tier 1") == (
        f"✗ tier 1: openai gpt-5 at {server.url} model gpt-5 not found "
        "correct the model in env LLM_MODEL; the server has: gpt-4o, gpt-4o-mini"
    )


def test_an_unreachable_endpoint_fails_and_the_others_are_still_checked(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    server = sim_server(models={"qwen2.5-coder:7b": 1})
    down = f"http://127.0.0.1:{closed_port()}"
    configure(
        tmp_path,
        f'[tiers.1]\nprovider = "ollama"\nmodel = "qwen2.5-coder:7b"\n'
        f'endpoints = ["{down}", "{server.url}"]\n',
    )
    result = doctor(tmp_path)
    assert result.exit_code == 1
    failed = text(result.output, f"tier 1: ollama qwen2.5-coder:7b at {down}")
    assert failed.startswith(f"✗ tier 1: ollama qwen2.5-coder:7b at {down} unreachable: ")
    assert "Connection refused" in failed
    assert failed.endswith("start Ollama there (`ollama serve`) or correct the endpoint")
    assert text(result.output, f"tier 1: ollama qwen2.5-coder:7b at {server.url}") == (
        f"✓ tier 1: ollama qwen2.5-coder:7b at {server.url} reachable, model present"
    )


@pytest.fixture
def silent_ports() -> Iterator[tuple[list[int], list[float]]]:
    """Two servers that accept connections and never answer; the accept times."""
    accepted: list[float] = []
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
    held: list[socket.socket] = []

    def serve(listener: socket.socket) -> None:
        with contextlib.suppress(OSError):  # closed at teardown
            while True:
                connection, _ = listener.accept()
                accepted.append(time.monotonic())
                held.append(connection)

    for listener in sockets:
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
    yield [listener.getsockname()[1] for listener in sockets], accepted
    for item in (*sockets, *held):
        item.close()


def test_silent_endpoints_are_waited_for_at_once(
    tmp_path: Path, silent_ports: tuple[list[int], list[float]]
) -> None:
    ports, accepted = silent_ports
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    configure(
        tmp_path,
        f'[tiers.1]\nprovider = "ollama"\nmodel = "m"\nendpoints = ["{urls[0]}", "{urls[1]}"]\n',
    )
    result = doctor(tmp_path)
    assert result.exit_code == 1
    for url in urls:  # in the order configured, each with its own line
        assert text(result.output, f"tier 1: ollama m at {url}").startswith(
            f"✗ tier 1: ollama m at {url} unreachable: no answer within {TIMEOUT:g} s"
        )
    assert [line.split(" at ")[1].split()[0] for line in result.output.splitlines()
            if " at http" in line] == urls  # fmt: skip
    # both asked before either gave up: one timeout, not one per endpoint
    assert len(accepted) == 2 and accepted[1] - accepted[0] < TIMEOUT / 2


def test_with_no_model_configured_only_the_local_checks_run(tmp_path: Path) -> None:
    result = doctor(tmp_path, env={"PATH": str(tmp_path / "bin")})
    assert result.exit_code == 0, result.output
    assert "tier" not in result.output
    assert text(result.output, "models") == (
        "✓ models none configured: the template provider answers"
    )
    assert text(result.output, "GPU") == (
        "✓ GPU none found (no nvidia-smi or rocm-smi answered): CPU, models run slowly"
    )
    # without a tsconfig.json, node and typescript are not needed
    assert text(result.output, "node") == (
        "✗ node not on PATH (needed only by codemod tsfix; no tsconfig.json here) "
        "install Node.js 18 or later from https://nodejs.org"
    )


def test_node_and_typescript_are_needed_where_there_is_a_tsconfig(tmp_path: Path) -> None:
    tsconfig = tmp_path / "tsconfig.json"
    tsconfig.write_text("{}")
    result = doctor(tmp_path, env={"PATH": str(tmp_path / "bin")})
    assert result.exit_code == 1
    assert text(result.output, "node") == (
        f"✗ node not on PATH (needed: {tsconfig} is here) "
        "install Node.js 18 or later from https://nodejs.org"
    )
    assert text(result.output, "typescript") == (
        f"✗ typescript not installed for {tmp_path} (needed: {tsconfig} is here) "
        "run `npm install --save-dev typescript@5` in the project"
    )
    assert result.output.splitlines()[-1] == (
        "2 needed checks failed; the fix column says what to do"
    )


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_project_typescript_is_found(tmp_path: Path) -> None:
    (tmp_path / "tsconfig.json").write_text("{}")
    package = tmp_path / "node_modules" / "typescript"
    package.mkdir(parents=True)
    (package / "package.json").write_text(
        json.dumps({"name": "typescript", "version": "5.9.3", "bin": {"tsc": "bin/tsc"}})
    )
    result = doctor(tmp_path, env={"PATH": os.environ.get("PATH", "")})
    assert result.exit_code == 0, result.output
    assert text(result.output, "typescript") == f"✓ typescript 5.9.3 ({package})"
    assert row(result.output, "node")[0] == "✓"


def test_a_run_uses_the_model_the_environment_names(
    tmp_path: Path, sim_server: SimServerFactory
) -> None:
    """``LLM_PROVIDER``/``LLM_MODEL``/``LLM_BASE_URL`` (here from .env) drive a real run."""
    server = sim_server(models={"qwen2.5-coder:7b": 1})
    (tmp_path / "m.py").write_text("def f(x):\n    return x + 1\n")
    (tmp_path / ".env").write_text(
        f"LLM_PROVIDER=ollama\nLLM_MODEL=qwen2.5-coder:7b\nLLM_BASE_URL={server.url}\n"
    )
    environment: dict[str, str | None] = {name: None for name in LAYER_VARIABLES}
    environment["CODEMOD_CACHE_DIR"] = str(tmp_path / ".cache")
    result = CliRunner().invoke(
        main, ["telemetry", "--dry-run", "--max-parallel", "1", str(tmp_path)], env=environment
    )
    assert result.exit_code in (0, 1), result.output
    assert server.stats.by_path["/api/chat"] >= 1
    assert {request.model for request in server.stats.requests} == {"qwen2.5-coder:7b"}


def test_an_unusable_cache_folder_is_reported_but_not_needed(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = {"PATH": str(tmp_path / "bin"), "CODEMOD_CACHE_DIR": str(blocker)}
    result = doctor(tmp_path, env=env)
    assert result.exit_code == 0, result.output
    assert text(result.output, "cache") == (
        f"✗ cache cannot open cache at {blocker}: not a directory (not needed: runs go on "
        "without a cache) choose another folder: --cache-dir, CODEMOD_CACHE_DIR or cache_dir "
        "in the config"
    )

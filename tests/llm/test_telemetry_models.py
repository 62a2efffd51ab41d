"""``codemod telemetry`` with a model: the real command line against a simulated server.

What a user would notice: model choices land in the code, hostile answers never do,
faults never leave a file half-done, reruns cost no requests, an edit re-asks only
for what changed, and API keys appear nowhere.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_codemod
from llm_server import SimRequest, SimServer

from codemodkit.codemods.telemetry.python.codemod import strip_text

PRICING = '''\
"""Prices."""


def apply_discount(price, percent):
    discounted = round(price * (100 - percent) / 100, 2)
    return discounted


def total(prices):
    result = 0
    for price in prices:
        result += price
    return result
'''

ORDERS = """\
from shop.pricing import apply_discount, total


class Order:
    def __init__(self, customer, prices):
        self.customer = customer
        self.prices = list(prices)

    def amount(self, percent):
        subtotal = total(self.prices)
        return apply_discount(subtotal, percent)
"""

CHECK = (
    "from shop.orders import Order; from shop.pricing import total;"
    "print(Order('ann', [10, 20.5]).amount(10), total(range(5)))"
)


def _line(user: str, label: str) -> str:
    match = re.search(rf"^{label}: (.*)$", user, re.MULTILINE)
    return match.group(1) if match else "-"


def good_answer(request: SimRequest) -> str:
    """What a sensible model answers: an event name and one thing to record."""
    user = request.messages[-1]["content"]
    kind = _line(user, "Construct").split()[0]
    params = [p.strip().lstrip("*") for p in _line(user, "Parameters").split(",")]
    names = [n.strip() for n in _line(user, "Assigned names").split(",")]
    if kind == "function":
        record = [p for p in params if p not in ("-", "self")][:1]
        if "self" in params:
            record.append("self.customer")
        return json.dumps({"event": "shop.call", "record": record})
    if kind == "variable":
        return json.dumps({"record": names[:1]})
    return json.dumps({"event": "shop.loop", "record": []})


HOSTILE = [
    '{"event": "x", "record": ["__import__(\'os\').system(\'touch pwned\')"]}',
    '{"event": "x", "record": ["eval(price)"]}',
    '{"event": "x", "record": ["price := 1"]}',
    '{"event": "x", "record": ["import os"]}',
    '{"event": "x", "record": ["await price"]}',
    '{"event": "x\\nimport os", "record": []}',
    '{"event": "x", "record": ["not_a_parameter"]}',
    '{"event": "x", "record": ["price.__class__"]}',
    '{"event": "x", "record": [], "code": "os.system(1)"}',
    "print('hello')",
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "0.1"\n')
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "pricing.py").write_text(PRICING)
    (root / "shop" / "orders.py").write_text(ORDERS)
    return root


@pytest.fixture
def telemetry(
    tmp_path: Path, project: Path
) -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    cache = tmp_path / "cache"

    def run(server: SimServer, *extra: str, env: dict[str, str] | None = None) -> Any:
        return run_codemod(
            "telemetry",
            "-j",
            "1",
            "--provider",
            "ollama",
            "--model",
            "sim-model",
            "--endpoint",
            server.url,
            "--cache-dir",
            str(cache),
            "--timeout",
            "2",
            *extra,
            str(project),
            env={"CODEMOD_TELEMETRY_FILE": str(tmp_path / "t.jsonl"), **(env or {})},
        )

    yield run


def behaviour(project: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, "CODEMOD_TELEMETRY": "0"},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def assert_whole(project: Path) -> None:
    """Every file is either untouched or fully instrumented and strips back exactly."""
    for name, original in (("pricing.py", PRICING), ("orders.py", ORDERS)):
        text = (project / "shop" / name).read_text()
        ast.parse(text)
        assert strip_text(text) == original


def test_the_models_choices_are_instrumented_and_behaviour_is_unchanged(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
    tmp_path: Path,
) -> None:
    before = behaviour(project)
    server = sim_server(responder=good_answer)
    done = telemetry(server)
    assert done.returncode == 0, done.stderr
    orders = (project / "shop" / "orders.py").read_text()
    assert '|shop.call")' in orders  # the event name rides on the site key
    assert '_codemod_tel.attr(self, "customer")' in orders  # an attribute read, safely
    assert behaviour(project) == before
    assert_whole(project)
    assert "models: " in done.stderr and "answers accepted" in done.stderr
    # the recorded telemetry carries the model's event names and chosen values
    env = {**os.environ, "CODEMOD_TELEMETRY_FILE": str(tmp_path / "run.jsonl")}
    subprocess.run([sys.executable, "-c", CHECK], cwd=project, env=env, check=True)
    lines = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert {"shop.call"} <= {line.get("event") for line in lines}
    customer = {
        x["function"]: x["samples"]
        for x in lines
        if x["type"] == "variable" and x["name"] == "self.customer"
    }
    assert customer["shop.orders.Order.amount"] == ["'ann'"]
    assert customer["shop.orders.Order.__init__"] == ["<unset>"]  # read before it is set


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_answers_are_never_applied(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
    tmp_path: Path,
    hostile: str,
) -> None:
    server = sim_server(responder=lambda request: hostile)
    report = tmp_path / "report.json"
    done = telemetry(server, "--report", str(report))
    assert done.returncode == 0, done.stderr
    for name in ("pricing.py", "orders.py"):
        text = (project / "shop" / name).read_text()
        for banned in ("system", "eval(", ":=", "import os", "await", "not_a_parameter", "x\\n"):
            assert banned not in text
    assert_whole(project)
    changes = [c for f in json.loads(report.read_text())["files"] for c in f["changes"]]
    assert changes and all(c["strategy"] == "template" for c in changes)
    assert all(c["validation"].startswith("rejected:") for c in changes)
    assert all(c["attempts"] == 3 for c in changes)  # re-asked with the reason, then fallback
    assert not (project / "pwned").exists()


def test_faults_leave_every_file_instrumented_correctly_or_untouched(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
) -> None:
    before = behaviour(project)
    server = sim_server(responder=good_answer, fault_rate=0.3, seed=11, timeout_seconds=3.0)
    done = telemetry(server)
    assert done.returncode == 0, done.stderr
    assert sum(server.stats.faults.values()) > 0
    assert_whole(project)
    assert behaviour(project) == before


def test_a_rerun_with_nothing_changed_makes_no_requests(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
) -> None:
    server = sim_server(responder=good_answer)
    assert telemetry(server, "--dry-run").returncode == 0
    asked = server.stats.total
    assert asked > 0
    server.stats.reset()
    first = telemetry(server)
    assert first.returncode == 0 and server.stats.total == 0
    instrumented = {p.name: p.read_text() for p in (project / "shop").glob("*.py")}
    second = telemetry(server)  # now on the instrumented files: still nothing to ask
    assert second.returncode == 0 and server.stats.total == 0
    assert {p.name: p.read_text() for p in (project / "shop").glob("*.py")} == instrumented


def test_editing_one_function_re_asks_only_for_that_function(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
) -> None:
    server = sim_server(responder=good_answer)
    assert telemetry(server).returncode == 0
    pricing = project / "shop" / "pricing.py"
    # edit the instrumented file in one function, above the others (their lines shift)
    text = pricing.read_text()
    assert "\n        return discounted\n" in text  # inside the added try:
    text = text.replace(
        "\n        return discounted\n",
        "\n        discounted = max(discounted, 0)\n        return discounted\n",
    )
    pricing.write_text(text)
    server.stats.reset()
    assert telemetry(server).returncode == 0
    asked = [r.messages[-1]["content"] for r in server.stats.requests]
    assert asked and all("Function: shop.pricing.apply_discount" in a for a in asked)


def test_only_changed_asks_only_about_the_changed_function(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
    project: Path,
) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "init")
    pricing = project / "shop" / "pricing.py"
    pricing.write_text(PRICING.replace("result = 0\n", "result = 0.0\n"))
    git("add", ".")
    server = sim_server(responder=good_answer)
    done = telemetry(server, "--only-changed")
    assert done.returncode == 0, done.stderr
    asked = [r.messages[-1]["content"] for r in server.stats.requests]
    # total and its loop; nothing about the other functions
    assert all("Function: shop.pricing.total" in a for a in asked)
    assert sorted(_line(a, "Construct").split()[0] for a in asked) == ["function", "loop"]
    assert "2 requests, 0 fallbacks" in done.stderr
    text = pricing.read_text()
    assert '|shop.call"' in text and '|shop.loop"' in text  # the model's answers were used
    assert "apply_discount" not in text.split("def total")[1]
    assert "_codemod_tel" not in text.split("def total")[0].split("def apply_discount")[1]
    assert (project / "shop" / "orders.py").read_text() == ORDERS


def test_api_keys_never_appear_in_output_cache_or_report(
    sim_server: Callable[..., SimServer], project: Path, tmp_path: Path
) -> None:
    secret = "sk-test-DO-NOT-LEAK-0123456789abcdef"
    wrong = "sk-wrong-ALSO-SECRET-9876543210"
    good = sim_server(responder=good_answer, api_key=secret, models={"gpt-4o-mini": 1})
    cache, report = tmp_path / "cache", tmp_path / "report.json"
    common = ["telemetry", "-j", "1", "-v", "--provider", "openai", "--model", "gpt-4o-mini"]
    common += ["--cache-dir", str(cache), "--report", str(report), "--dry-run"]
    ok = run_codemod(*common, "--endpoint", good.url, str(project), env={"OPENAI_API_KEY": secret})
    assert ok.returncode == 0, ok.stderr
    # the server echoes a rejected key back in its 401 body; we must not repeat it
    bad = run_codemod(
        *common, "--endpoint", good.url, "--api-key", wrong, "--no-cache", str(project)
    )
    assert "rejected" in bad.stderr.lower() or "401" in bad.stderr
    for text in (ok.stdout, ok.stderr, bad.stdout, bad.stderr, report.read_text()):
        assert secret not in text and wrong not in text
    for path in cache.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert secret.encode() not in data and wrong.encode() not in data


def test_verbose_explains_the_parallelism_it_chose(
    sim_server: Callable[..., SimServer],
    telemetry: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    server = sim_server(responder=good_answer)
    done = telemetry(server, "-v", "--dry-run", "--server-slots", "2")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stderr.splitlines() if x.startswith("tier 1: ollama sim-model"))
    assert "in parallel" in line
    assert f"ollama sim-model at {server.url}: " in done.stderr  # per-endpoint stats


def test_ctrl_c_while_models_answer_leaves_files_untouched_and_keeps_answers(
    sim_server: Callable[..., SimServer], project: Path, tmp_path: Path
) -> None:
    server = sim_server(responder=good_answer, latency=0.3, slots=1)
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "codemodkit", "telemetry", "-j", "1", "--provider"]
    command += ["ollama", "--model", "sim-model", "--endpoint", server.url, "--max-parallel", "1"]
    command += ["--cache-dir", str(cache), str(project)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while server.stats.by_path["/api/chat"] < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted" in err
    assert (project / "shop" / "pricing.py").read_text() == PRICING
    assert (project / "shop" / "orders.py").read_text() == ORDERS
    # the answers received before Ctrl-C are served from the cache next time
    server.stats.reset()
    server.config.latency = 0.0
    done = run_codemod(*command[3:])
    assert done.returncode == 0, done.stderr
    assert "from the cache" in done.stderr
    hits = int(re.search(r"(\d+) from the cache", done.stderr).group(1))  # type: ignore[union-attr]
    assert hits >= 2

"""``codemod doctor``'s checks: each one a line, and for each failure what to do about it.

Every configured model's endpoints are asked for their model list (Ollama ``/api/tags``,
OpenAI-compatible and Anthropic ``/v1/models``), which proves in one cheap GET, costing
no tokens, that the server is reachable, that it accepts the key and that it serves the
model. GPU, cache, Node and TypeScript are looked at locally.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from codemodkit.cache import CacheError, cache_stats
from codemodkit.config import ModelSpec, TierSpec
from codemodkit.llm.capacity import detect_vram
from codemodkit.llm.effective import Effective, KeyInfo
from codemodkit.llm.providers._http import join_url
from codemodkit.llm.providers.registry import DEFAULT_ENDPOINTS
from codemodkit.llm.secrets import redact
from codemodkit.llm.setup import model_api_key

__all__ = ["Check", "run_checks"]

TIMEOUT = 5.0
#: endpoints checked at once
MAX_PARALLEL = 8
ANTHROPIC_VERSION = "2023-06-01"
GIB = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    #: True passed, False failed
    ok: bool
    result: str
    #: what to do about a failure ("" when it passed)
    fix: str = ""
    #: a failure that makes ``codemod doctor`` exit 1
    needed: bool = True


def _model_name(name: str) -> str:
    """``llama3`` and ``llama3:latest`` are one Ollama model."""
    name = name.strip().lower()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def _served(provider: str, data: Any) -> list[str]:
    if not isinstance(data, Mapping):
        return []
    entries = data.get("models" if provider == "ollama" else "data")
    names: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            for field in ("name", "model", "id"):
                if isinstance(entry.get(field), str):
                    names.append(entry[field])
    return names


def _has_model(provider: str, model: str, served: list[str]) -> bool:
    if provider == "ollama":
        return _model_name(model) in {_model_name(n) for n in served}
    if provider == "anthropic":  # an alias names the newest dated model of its family
        return any(n == model or n.startswith(f"{model}-") for n in served)
    return model in served


def _pull_command(endpoint: str, model: str) -> str:
    if endpoint.rstrip("/") == DEFAULT_ENDPOINTS["ollama"]:
        return f"ollama pull {model}"
    parts = urlsplit(endpoint)
    return f"OLLAMA_HOST={parts.scheme}://{parts.netloc} ollama pull {model}"


def _request(provider: str, endpoint: str, key: str | None) -> tuple[str, dict[str, str]]:
    if provider == "ollama":
        url = join_url(endpoint, "/api/tags")
    else:
        url = join_url(endpoint, "/v1/models", strip_v1=True)
    if provider == "anthropic":
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if key:
            headers["x-api-key"] = key
        return url, headers
    return url, ({"authorization": f"Bearer {key}"} if key else {})


def check_endpoint(
    name: str,
    spec: ModelSpec,
    endpoint: str,
    key: str | None,
    key_info: KeyInfo | None,
    model_source: str,
    client: httpx.Client,
) -> Check:
    """Reachable, key accepted, model served: the first that fails is the result."""
    assert spec.model is not None
    url, headers = _request(spec.provider, endpoint, key)
    try:
        response = client.get(url, headers=headers, timeout=TIMEOUT)
    except httpx.TimeoutException:
        return Check(name, False, f"unreachable: no answer within {TIMEOUT:g} s", _reach(spec))
    except httpx.HTTPError as exc:
        reason = redact(str(exc)) or type(exc).__name__
        return Check(name, False, f"unreachable: {reason}", _reach(spec))
    status = response.status_code
    if status in (401, 403):
        return Check(name, False, _rejected(key, status), _key_fix(spec, key_info))
    if status == 404 and spec.provider != "ollama":
        return Check(name, True, "reachable; it lists no models (404), so the model is unchecked")
    if status != 200:
        return Check(
            name, False, f"the server answered {status} to GET {url}", "look at the server's log"
        )
    try:
        served = _served(spec.provider, response.json())
    except ValueError:
        served = []
    if not _has_model(spec.provider, spec.model, served):
        return Check(
            name,
            False,
            f"model {spec.model} not found",
            _model_fix(spec, endpoint, served, model_source),
        )
    accepted = ", key accepted" if key else ""
    return Check(name, True, f"reachable, model present{accepted}")


def _reach(spec: ModelSpec) -> str:
    if spec.provider == "ollama":
        return "start Ollama there (`ollama serve`) or correct the endpoint"
    return "check the endpoint's URL and the network (or a proxy: HTTPS_PROXY)"


def _rejected(key: str | None, status: int) -> str:
    return (
        f"key rejected ({status})" if key else f"no key sent, and the server wants one ({status})"
    )


def _key_fix(spec: ModelSpec, info: KeyInfo | None) -> str:
    if info is None:
        return f"the server wants an API key: give {spec.provider}'s key"
    if info.source is None:
        return f"set {info.variable} (in the environment or .env)"
    return f"put a valid key in {info.variable} (now from {info.source})"


def _model_fix(spec: ModelSpec, endpoint: str, served: list[str], source: str) -> str:
    assert spec.model is not None
    if spec.provider == "ollama":
        return f"run `{_pull_command(endpoint, spec.model)}` (or correct the model in {source})"
    listed = ", ".join(served[:5]) + (", ..." if len(served) > 5 else "")
    return f"correct the model in {source}; the server has: {listed or 'no models'}"


def _models(effective: Effective) -> Iterator[tuple[str, str, ModelSpec]]:
    """(label, key id, spec) for every model of every tier, fallbacks included."""
    for level, spec in sorted(effective.config.tiers.items()):
        yield f"tier {level}", f"tiers.{level}", spec
        fallback = spec.fallback if isinstance(spec, TierSpec) else None
        if fallback is not None and fallback.provider != "template":
            yield f"tier {level} fallback", f"tiers.{level}.fallback", fallback


#: what ``check_endpoint`` needs besides the HTTP client
_Job = tuple[str, ModelSpec, str, str | None, KeyInfo | None, str]


def endpoint_checks(effective: Effective) -> list[Check]:
    """One check per model and endpoint, all at once (an unreachable endpoint costs
    one timeout, not one per endpoint), reported in configuration order."""
    keys = {info.key: info for info in effective.keys}
    jobs: list[_Job] = []
    for label, prefix, spec in _models(effective):
        key = model_api_key(spec, effective.flags, effective.start)
        source = effective.source_of(f"{prefix}.model")
        for endpoint in spec.endpoints or (DEFAULT_ENDPOINTS[spec.provider],):
            name = f"{label}: {spec.provider} {spec.model} at {endpoint}"
            jobs.append((name, spec, endpoint, key, keys.get(f"{prefix}.api_key"), source))
    if not jobs:
        return []
    with (
        httpx.Client(follow_redirects=True) as client,
        ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(jobs))) as pool,
    ):

        def check(job: _Job) -> Check:
            return check_endpoint(*job, client)

        return list(pool.map(check, jobs))


def gpu_check() -> Check:
    gpu = detect_vram()
    if gpu is None:
        return Check(
            "GPU", True, "none found (no nvidia-smi or rocm-smi answered): CPU, models run slowly"
        )
    return Check(
        "GPU", True, f"{gpu.count} {gpu.vendor} GPU(s), {gpu.total_bytes / GIB:.1f} GiB VRAM in all"
    )


def cache_check(directory: Path) -> Check:
    from codemodkit.cli.cache import human_size

    try:
        stats = cache_stats(directory)
    except CacheError as exc:
        return Check(
            "cache",
            False,
            f"{exc} (not needed: runs go on without a cache)",
            "choose another folder: --cache-dir, CODEMOD_CACHE_DIR or cache_dir in the config",
            needed=False,
        )
    made = "" if directory.is_dir() else " (not created yet)"
    size = human_size(stats.size_bytes)
    return Check("cache", True, f"{directory}{made}: {stats.entries} entries, {size}")


def _find_tsconfig(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "tsconfig.json").is_file():
            return folder / "tsconfig.json"
    return None


def typescript_checks(start: Path) -> list[Check]:
    from codemodkit.tsfix.locate import INSTALL_HINT, find_node, find_typescript
    from codemodkit.tsfix.types import ServiceError

    tsconfig = _find_tsconfig(start)
    needed = tsconfig is not None
    why = (
        f"needed: {tsconfig} is here"
        if needed
        else "needed only by codemod tsfix; no tsconfig.json here"
    )
    checks: list[Check] = []
    try:
        node = find_node()
    except ServiceError:
        checks.append(
            Check(
                "node",
                False,
                f"not on PATH ({why})",
                "install Node.js 18 or later from https://nodejs.org",
                needed,
            )
        )
    else:
        checks.append(Check("node", True, f"{node}{_node_version(node)}"))
    try:
        install = find_typescript(start)
    except ServiceError:
        checks.append(
            Check(
                "typescript",
                False,
                f"not installed for {start} ({why})",
                f"run `{INSTALL_HINT}` in the project",
                needed,
            )
        )
    else:
        where = "global" if install.is_global else str(install.package_dir)
        checks.append(Check("typescript", True, f"{install.version} ({where})"))
    return checks


def _node_version(node: Path) -> str:
    try:
        done = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return f" ({done.stdout.strip()})" if done.returncode == 0 and done.stdout.strip() else ""


def run_checks(effective: Effective) -> list[Check]:
    """Every check, in the order ``codemod doctor`` prints them."""
    checks = [Check("template provider", True, "built in, always available (no model needed)")]
    if not effective.config.tiers:
        checks.append(Check("models", True, "none configured: the template provider answers"))
    checks.extend(endpoint_checks(effective))
    checks.append(gpu_check())
    checks.append(cache_check(effective.cache_dir))
    checks.extend(typescript_checks(effective.start))
    return checks

"""Capacity detection: VRAM, Ollama model data, parallelism arithmetic, cloud tables, headers."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from codemodkit.llm.capacity import (
    CLOUD_DEFAULTS,
    KV_CACHE_TYPES,
    RATE_HEADROOM,
    GpuInfo,
    ModelShape,
    RateLimitInfo,
    cloud_defaults,
    detect_vram,
    fetch_ollama_show,
    fetch_ollama_tags,
    kv_cache_bytes,
    ollama_parallelism,
    parse_nvidia_smi,
    parse_ollama_show,
    parse_ollama_tags,
    parse_rate_limit_headers,
    parse_rocm_smi,
    suggested_rpm,
)

MIB, GIB = 1024**2, 1024**3

# --- recorded tool output ---------------------------------------------------------------

NVIDIA_ONE = "24564\n"  # RTX 4090
NVIDIA_TWO = "81559\n81559\n"  # 2 x H100 80GB
NVIDIA_NO_DRIVER = (
    "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure"
    " that the latest NVIDIA driver is installed and running.\n"
)
ROCM_ONE = json.dumps(
    {
        "card0": {
            "VRAM Total Memory (B)": "25753026560",
            "VRAM Total Used Memory (B)": "1134592000",
        }
    }
)
ROCM_TWO_WITH_WARNING = (
    "WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status\n"
    "\n"
    + json.dumps(
        {
            "card0": {"VRAM Total Memory (B)": "206141652992"},
            "card1": {"VRAM Total Memory (B)": "206141652992"},
        }
    )
)

Outcome = tuple[int, str] | BaseException


class FakeRun:
    """Stands in for ``subprocess.run``: recorded outputs per tool, calls kept."""

    def __init__(self, **outcomes: Outcome) -> None:
        self.outcomes = {name.replace("_", "-"): outcome for name, outcome in outcomes.items()}
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kwargs))
        outcome = self.outcomes.get(argv[0], FileNotFoundError(2, "No such file", argv[0]))
        if isinstance(outcome, BaseException):
            raise outcome
        code, stdout = outcome
        return subprocess.CompletedProcess(argv, code, stdout, "")


def test_nvidia_memory_is_summed_over_gpus() -> None:
    run = FakeRun(nvidia_smi=(0, NVIDIA_TWO))
    assert detect_vram(run) == GpuInfo("nvidia", 2, 2 * 81559 * MIB)
    ((argv, kwargs),) = run.calls
    assert argv == ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    assert kwargs["timeout"] == 5 and kwargs["capture_output"] and kwargs["text"]


def test_amd_is_asked_when_nvidia_is_absent() -> None:
    run = FakeRun(rocm_smi=(0, ROCM_ONE))
    assert detect_vram(run) == GpuInfo("amd", 1, 25753026560)
    assert [argv[0] for argv, _ in run.calls] == ["nvidia-smi", "rocm-smi"]
    assert run.calls[1][0] == ["rocm-smi", "--showmeminfo", "vram", "--json"]


def test_rocm_warnings_before_the_json_are_skipped() -> None:
    assert parse_rocm_smi(ROCM_TWO_WITH_WARNING) == GpuInfo("amd", 2, 2 * 206141652992)


@pytest.mark.parametrize(
    "run",
    [
        FakeRun(),  # neither tool installed
        FakeRun(nvidia_smi=(9, NVIDIA_NO_DRIVER)),
        FakeRun(nvidia_smi=(0, NVIDIA_NO_DRIVER)),  # garbage, even with status 0
        FakeRun(nvidia_smi=(0, "")),
        FakeRun(nvidia_smi=(0, "[N/A]\n")),
        FakeRun(nvidia_smi=subprocess.TimeoutExpired("nvidia-smi", 5)),
        FakeRun(nvidia_smi=PermissionError(13, "Permission denied")),
        FakeRun(nvidia_smi=UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")),
        FakeRun(rocm_smi=(0, "not json")),
        FakeRun(rocm_smi=(0, "{}")),
        FakeRun(rocm_smi=(0, '{"card0": {"VRAM Total Memory (B)": "lots"}}')),
        FakeRun(rocm_smi=(0, '{"card0": "n/a"}')),
        FakeRun(rocm_smi=(0, "[1, 2]")),
        FakeRun(rocm_smi=(2, ROCM_ONE)),
        FakeRun(rocm_smi=subprocess.TimeoutExpired("rocm-smi", 5)),
    ],
)
def test_no_answer_or_a_bad_one_is_none(run: FakeRun) -> None:
    assert detect_vram(run) is None


def test_nvidia_garbage_falls_back_to_amd() -> None:
    assert detect_vram(FakeRun(nvidia_smi=(0, "oops"), rocm_smi=(0, ROCM_ONE))) is not None


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("24564\n", GpuInfo("nvidia", 1, 24564 * MIB)),
        ("  8192  \r\n\n16384\n", GpuInfo("nvidia", 2, 24576 * MIB)),
        ("[N/A]\n24564\n", GpuInfo("nvidia", 1, 24564 * MIB)),  # unified-memory device skipped
        ("24564 MiB\n", None),
        ("24564\nNo devices were found\n", None),
        ("-1\n", None),
        ("0\n", None),
        ("²\n", None),
        ("9" * 5000 + "\n", None),
    ],
)
def test_parse_nvidia_smi(output: str, expected: GpuInfo | None) -> None:
    assert parse_nvidia_smi(output) == expected


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script stands in for the tool")
def test_a_real_subprocess_finds_nvidia_smi_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    script = tools / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = "--query-gpu=memory.total" ] || exit 3\n'  # asked the right question
        "echo 12288\n"
        "echo 12288\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tools))  # and no rocm-smi
    assert detect_vram() == GpuInfo("nvidia", 2, 24 * GIB)
    script.write_text(
        "#!/bin/sh\necho 'Failed to initialize NVML: Driver/library mismatch'\nexit 18\n"
    )
    assert detect_vram() is None
    script.unlink()
    assert detect_vram() is None


# --- Ollama ------------------------------------------------------------------------------

TAGS: dict[str, Any] = {
    "models": [
        {
            "name": "llama3.1:8b",
            "model": "llama3.1:8b",
            "modified_at": "2025-05-01T10:00:00.123456+02:00",
            "size": 4920753328,
            "digest": "46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e",
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": "8.0B",
                "quantization_level": "Q4_K_M",
            },
        },
        {"name": "qwen2.5-coder:latest", "model": "qwen2.5-coder:latest", "size": 4683087332},
        {
            "name": "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M",
            "model": "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M",
            "size": 2019377696,
        },
        {"name": "renamed", "model": "gemma3:12b", "size": 8149190253},
        {"name": "broken:1b", "model": "broken:1b", "size": "big"},
    ]
}

LLAMA_SHOW: dict[str, Any] = {
    "license": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT ...",
    "modelfile": '# Modelfile generated by "ollama show"\nFROM ...',
    "parameters": 'stop "<|start_header_id|>"',
    "template": "{{ .Prompt }}",
    "details": {"family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_K_M"},
    "model_info": {
        "general.architecture": "llama",
        "general.basename": "Meta-Llama-3.1",
        "general.file_type": 15,
        "general.parameter_count": 8030261248,
        "general.quantization_version": 2,
        "llama.attention.head_count": 32,
        "llama.attention.head_count_kv": 8,
        "llama.attention.layer_norm_rms_epsilon": 0.00001,
        "llama.block_count": 32,
        "llama.context_length": 131072,
        "llama.embedding_length": 4096,
        "llama.feed_forward_length": 14336,
        "llama.rope.dimension_count": 128,
        "llama.rope.freq_base": 500000,
        "llama.vocab_size": 128256,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": None,
    },
    "capabilities": ["completion", "tools"],
}

GEMMA3_INFO: dict[str, Any] = {
    "general.architecture": "gemma3",
    "general.parameter_count": 11765788416,
    "gemma3.attention.head_count": 16,
    "gemma3.attention.head_count_kv": 8,
    "gemma3.attention.key_length": 256,
    "gemma3.attention.value_length": 256,
    "gemma3.block_count": 48,
    "gemma3.context_length": 131072,
    "gemma3.embedding_length": 3840,
}

LLAMA = ModelShape("llama", 32, 8, 4096, 32, 131072, 8030261248)
LLAMA_SIZE = 4920753328  # 4.6 GiB


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("llama3.1:8b", 4920753328),
        ("Llama3.1:8B", 4920753328),
        ("qwen2.5-coder", 4683087332),  # ":latest" left out
        ("qwen2.5-coder:latest", 4683087332),
        ("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", 2019377696),
        ("gemma3:12b", 8149190253),  # matched by "model" when "name" differs
        ("llama3.1", None),  # llama3.1:latest is not installed
        ("qwen2.5-coder:7b", None),
        ("broken:1b", None),
        ("", None),
    ],
)
def test_parse_ollama_tags(model: str, size: int | None) -> None:
    assert parse_ollama_tags(TAGS, model) == size


@pytest.mark.parametrize(
    "data",
    [{}, {"models": None}, {"models": "x"}, {"models": [1, None, [], {"name": 5, "size": 1}]}],
)
def test_parse_ollama_tags_garbage(data: dict[str, Any]) -> None:
    assert parse_ollama_tags(data, "llama3.1:8b") is None


def test_parse_ollama_show() -> None:
    assert parse_ollama_show(LLAMA_SHOW) == LLAMA
    assert LLAMA.head_dim == 128
    gemma = parse_ollama_show({"model_info": GEMMA3_INFO})
    assert gemma == ModelShape("gemma3", 48, 8, 3840, 16, 131072, 11765788416, 256, 256)


def test_parse_ollama_show_fills_in_what_may_be_missing() -> None:
    info = {k: v for k, v in LLAMA_SHOW["model_info"].items() if "head_count_kv" not in k}
    info.pop("llama.context_length")
    info.pop("general.parameter_count")
    shape = parse_ollama_show({"model_info": info})
    assert shape == ModelShape("llama", 32, 32, 4096, 32)  # no GQA: as many KV heads as heads
    per_layer = {**GEMMA3_INFO, "gemma3.attention.head_count_kv": [0, 4, 0, 8]}
    assert parse_ollama_show({"model_info": per_layer}).head_count_kv == 8  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"model_info": None},
        {"model_info": []},
        {"model_info": {**GEMMA3_INFO, "general.architecture": None}},
        {"model_info": {**GEMMA3_INFO, "general.architecture": "llama"}},  # keys don't match
        {"model_info": {**GEMMA3_INFO, "gemma3.block_count": "48"}},
        {"model_info": {**GEMMA3_INFO, "gemma3.block_count": True}},
        {"model_info": {**GEMMA3_INFO, "gemma3.attention.head_count": 0}},
        {"model_info": {**GEMMA3_INFO, "gemma3.attention.head_count_kv": [8, "x"]}},
        {"model_info": {**GEMMA3_INFO, "gemma3.attention.head_count_kv": []}},
        {"model_info": {k: v for k, v in GEMMA3_INFO.items() if "embedding" not in k}},
    ],
)
def test_parse_ollama_show_garbage(data: dict[str, Any]) -> None:
    assert parse_ollama_show(data) is None


def ollama_server(
    handler: Callable[[httpx.Request], httpx.Response],
) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_fetchers_ask_the_server() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/api/tags" and request.method == "GET":
            return httpx.Response(200, json=TAGS)
        if request.url.path == "/api/show" and request.method == "POST":
            assert json.loads(request.content) == {"model": "llama3.1:8b"}
            return httpx.Response(200, json=LLAMA_SHOW)
        return httpx.Response(404, json={"error": "not found"})

    auth = {"Authorization": "Bearer ollama-cloud-key"}
    with ollama_server(handler) as client:
        base = "http://gpu-box:11434/"
        assert fetch_ollama_tags(base, "llama3.1:8b", client=client, headers=auth) == LLAMA_SIZE
        assert fetch_ollama_show(base, "llama3.1:8b", client=client) == LLAMA
    assert [str(r.url) for r in seen] == [
        "http://gpu-box:11434/api/tags",
        "http://gpu-box:11434/api/show",
    ]
    assert seen[0].headers["authorization"] == "Bearer ollama-cloud-key"


@pytest.mark.parametrize(
    "respond",
    [
        lambda r: httpx.Response(404, json={"error": "model 'x' not found"}),
        lambda r: httpx.Response(503, text="server busy"),
        lambda r: httpx.Response(200, text="<html>proxy login</html>"),
        lambda r: httpx.Response(200, json=["not", "an", "object"]),
        lambda r: (_ for _ in ()).throw(httpx.ConnectError("connection refused", request=r)),
        lambda r: (_ for _ in ()).throw(httpx.ReadTimeout("timed out", request=r)),
    ],
)
def test_fetchers_return_none_on_any_failure(
    respond: Callable[[httpx.Request], httpx.Response],
) -> None:
    with ollama_server(respond) as client:
        assert fetch_ollama_tags("http://localhost:11434", "llama3.1:8b", client=client) is None
        assert fetch_ollama_show("http://localhost:11434", "llama3.1:8b", client=client) is None


def test_fetchers_without_a_server() -> None:
    # nothing listens on the local discard port: connection refused, at once
    assert fetch_ollama_tags("http://127.0.0.1:9", "llama3.1:8b", timeout=1) is None


# --- KV cache and local parallelism -----------------------------------------------------


def test_kv_cache_bytes() -> None:
    # 2 (K, V) x 32 layers x 8 KV heads x 128 dims x 8192 tokens x 2 bytes = 1 GiB
    assert kv_cache_bytes(LLAMA, 8192) == 2 * 32 * 8 * 128 * 8192 * 2 == GIB
    assert kv_cache_bytes(LLAMA, 2048) == GIB // 4
    assert kv_cache_bytes(LLAMA, 8192, bytes_per_value=1) == GIB // 2
    assert kv_cache_bytes(LLAMA, 8192, KV_CACHE_TYPES["q8_0"]) == GIB * 34 // 64
    gemma = ModelShape("gemma3", 48, 8, 3840, 16, key_length=256, value_length=128)
    # stated K/V widths win over embedding_length / head_count (240 here)
    assert kv_cache_bytes(gemma, 1000) == 48 * 8 * (256 + 128) * 1000 * 2


def test_the_reason_shows_every_step() -> None:
    decision = ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, server_slots=4)
    assert decision.parallel == 4 and decision.rpm is None
    assert decision.reason == (
        "24.0 GiB VRAM x 0.8 = 19.2 GiB; "
        "model 4.6 GiB + KV 1.0 GiB per slot"
        " (2 (K, V) x 128 dims x 32 layers x 8 KV heads x 8192 ctx x 2 B f16); "
        "(19.2 GiB - 4.6 GiB) / 1.0 GiB = 14.6 -> 14 slots; "
        "capped by OLLAMA_NUM_PARALLEL=4 -> 4"
    )


def test_kv_aware_slots_without_caps() -> None:
    decision = ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192)
    assert decision.parallel == 14  # (0.8 x 24 GiB - 4.58 GiB) / 1 GiB = 14.6
    assert "server slots not stated" in decision.reason
    # a smaller context leaves room for more slots, a quantized KV cache too
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 2048).parallel == 58
    q8 = ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, kv_cache_type="q8_0")
    assert q8.parallel == 27 and "1.0625 B q8_0" in q8.reason
    # an unknown cache type is sized as f16, the largest
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, kv_cache_type="f8").parallel == 14


@pytest.mark.parametrize(
    ("vram", "model", "expected", "arithmetic"),
    [
        (24 * GIB, LLAMA_SIZE, 4, "24.0 GiB VRAM / model 4.6 GiB x 0.8 = 4.1 -> 4"),
        (80 * GIB, 8 * GIB, 8, "80.0 GiB VRAM / model 8.0 GiB x 0.8 = 8.0 -> 8"),
        (8 * GIB, 7 * GIB, 1, "8.0 GiB VRAM / model 7.0 GiB x 0.8 = 0.9 -> 1"),  # at least 1
        (6 * GIB, 40 * GIB, 1, "= 0.1 -> 1"),
    ],
)
def test_the_baseline_rule_when_the_shape_is_unknown(
    vram: int, model: int, expected: int, arithmetic: str
) -> None:
    decision = ollama_parallelism(vram, model, None, 8192, server_slots=64)
    assert decision.parallel == expected
    assert arithmetic in decision.reason and "model shape unknown" in decision.reason


def test_a_zero_context_falls_back_to_the_baseline() -> None:
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 0).parallel == 4


def test_no_gpu_means_one_request_at_a_time() -> None:
    for vram in (None, 0):
        decision = ollama_parallelism(vram, LLAMA_SIZE, LLAMA, 8192, server_slots=4, user_max=8)
        assert decision.parallel == 1
        assert "no GPU" in decision.reason and "CPU" in decision.reason


def test_unknown_model_size_means_one() -> None:
    decision = ollama_parallelism(24 * GIB, None, LLAMA, 8192)
    assert decision.parallel == 1 and "size is unknown" in decision.reason


def test_a_model_too_big_for_even_one_slot() -> None:
    decision = ollama_parallelism(8 * GIB, 7 * GIB, LLAMA, 8192)
    assert decision.parallel == 1 and "spill to the CPU" in decision.reason


def test_caps_only_ever_lower() -> None:
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, 32).parallel == 14
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, None, 100).parallel == 14
    by_user = ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, server_slots=8, user_max=3)
    assert by_user.parallel == 3
    assert by_user.reason.endswith(
        "capped by OLLAMA_NUM_PARALLEL=8 -> 8; capped by --max-parallel=3 -> 3"
    )
    assert ollama_parallelism(24 * GIB, LLAMA_SIZE, LLAMA, 8192, user_max=0).parallel == 1


def test_the_printed_ratio_is_rounded_down() -> None:
    # 4.99 slots must not read "5.0 -> 4"
    shape = ModelShape("x", 1, 1, 1024, 1)  # 4 KiB of KV per token
    kv = kv_cache_bytes(shape, 1024)
    reason = ollama_parallelism(10 * GIB, int(8 * GIB - 4.99 * kv), shape, 1024).reason
    assert "= 4.9 -> 4 slots" in reason


# --- cloud defaults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "rpm", "parallel"),
    [
        ("gpt-4", 500, 50),
        ("gpt-4-turbo", 500, 50),
        ("gpt-4o", 500, 50),
        ("gpt-4o-2024-08-06", 500, 50),
        ("gpt-4.1", 500, 50),
        ("gpt-5", 500, 50),
        ("chatgpt-4o-latest", 500, 50),
        ("openai/gpt-4o", 500, 50),
        ("gpt-3.5-turbo", 3500, 100),
        ("gpt-4o-mini", 3500, 100),
        ("gpt-4.1-nano", 3500, 100),
        ("gpt-5-mini", 3500, 100),
        ("o1", 100, 10),
        ("o1-mini", 100, 10),
        ("o3", 100, 10),
        ("o3-mini-2025-01-31", 100, 10),
        ("o4-mini", 100, 10),
        ("openai/o3-pro", 100, 10),
        ("claude-opus-4-1-20250805", 50, 20),
        ("claude-3-opus-20240229", 50, 20),
        ("claude-sonnet-4-5", 500, 50),
        ("claude-3-5-sonnet-20241022", 500, 50),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", 500, 50),
        ("claude-3-5-haiku-latest", 1000, 100),
        ("claude-haiku-4-5", 1000, 100),
        ("CLAUDE-HAIKU-4-5", 1000, 100),
        # unknown families, including names that merely contain a known word
        ("gemini-2.5-pro", 60, 10),
        ("ministral-8b", 60, 10),
        ("omni-moderation-latest", 60, 10),
        ("llama3.1:8b", 60, 10),
        ("", 60, 10),
    ],
)
def test_cloud_table(model: str, rpm: int, parallel: int) -> None:
    decision = cloud_defaults("openai", model)
    assert (decision.rpm, decision.parallel) == (rpm, parallel)
    assert f"{rpm} RPM" in decision.reason and f"{parallel} in parallel" in decision.reason
    assert ("unknown model family" in decision.reason) == (rpm == 60)


def test_cloud_table_is_regex_to_limits() -> None:
    assert len(CLOUD_DEFAULTS) == 7
    for pattern, row in CLOUD_DEFAULTS.items():
        re.compile(pattern)
        assert row.rpm > 0 and row.parallel > 0 and row.family
    reason = cloud_defaults("anthropic", "claude-sonnet-4-5").reason
    assert reason == "anthropic claude-sonnet-4-5: Claude Sonnet -> 500 RPM, 50 in parallel"


# --- rate-limit headers -----------------------------------------------------------------

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc).timestamp()

OPENAI_HEADERS = {
    "date": "Sun, 01 Jun 2025 12:00:00 GMT",
    "content-type": "application/json",
    "openai-organization": "user-abc123",
    "openai-processing-ms": "312",
    "x-ratelimit-limit-requests": "500",
    "x-ratelimit-limit-tokens": "30000",
    "x-ratelimit-remaining-requests": "499",
    "x-ratelimit-remaining-tokens": "29812",
    "x-ratelimit-reset-requests": "120ms",
    "x-ratelimit-reset-tokens": "6m0s",
    "x-request-id": "req_0123456789abcdef",
}

ANTHROPIC_429 = {
    "content-type": "application/json",
    "request-id": "req_011CSHoEeqs5C35K2UUqR7Fy",
    "anthropic-ratelimit-requests-limit": "50",
    "anthropic-ratelimit-requests-remaining": "0",
    "anthropic-ratelimit-requests-reset": "2025-06-01T12:00:30Z",
    "anthropic-ratelimit-input-tokens-limit": "30000",
    "anthropic-ratelimit-input-tokens-remaining": "0",
    "anthropic-ratelimit-input-tokens-reset": "2025-06-01T12:00:07Z",
    "anthropic-ratelimit-output-tokens-limit": "8000",
    "anthropic-ratelimit-output-tokens-remaining": "8000",
    "anthropic-ratelimit-output-tokens-reset": "2025-06-01T12:00:00Z",
    "anthropic-ratelimit-tokens-limit": "38000",
    "anthropic-ratelimit-tokens-remaining": "8000",
    "anthropic-ratelimit-tokens-reset": "2025-06-01T12:00:07Z",
    "retry-after": "30",
}


def test_openai_headers() -> None:
    assert parse_rate_limit_headers(OPENAI_HEADERS, now=NOW) == RateLimitInfo(
        limit_requests=500,
        remaining_requests=499,
        reset_requests_seconds=0.12,
        limit_tokens=30000,
        remaining_tokens=29812,
        reset_tokens_seconds=360.0,
    )


def test_anthropic_headers() -> None:
    assert parse_rate_limit_headers(ANTHROPIC_429, now=NOW) == RateLimitInfo(
        limit_requests=50,
        remaining_requests=0,
        reset_requests_seconds=30.0,
        limit_tokens=38000,
        remaining_tokens=8000,
        reset_tokens_seconds=7.0,
        retry_after_seconds=30.0,
    )


def test_anthropic_token_limits_without_the_combined_family() -> None:
    only_split = {k: v for k, v in ANTHROPIC_429.items() if "-tokens-" not in k or "put" in k}
    info = parse_rate_limit_headers(only_split, now=NOW)
    assert info is not None and (info.limit_tokens, info.remaining_tokens) == (30000, 0)
    only_output = {k: v for k, v in ANTHROPIC_429.items() if "output-tokens" in k}
    info = parse_rate_limit_headers(only_output, now=NOW)
    assert info is not None and (info.limit_tokens, info.reset_tokens_seconds) == (8000, 0.0)


def test_header_names_are_case_insensitive() -> None:
    mixed = {k.title(): v for k, v in OPENAI_HEADERS.items()}
    assert parse_rate_limit_headers(mixed, now=NOW) == parse_rate_limit_headers(OPENAI_HEADERS)
    as_httpx = httpx.Headers(ANTHROPIC_429)
    assert parse_rate_limit_headers(as_httpx, now=NOW) == parse_rate_limit_headers(
        ANTHROPIC_429, now=NOW
    )


@pytest.mark.parametrize(
    ("reset", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("2m59.56s", 179.56),
        ("1h2m3.5s", 3723.5),
        ("0s", 0.0),
        ("250us", 0.00025),
        ("17", 17.0),
        (" 3s ", 3.0),
        ("soon", None),
        ("1x", None),
        ("s", None),
        ("-1s", None),
        ("1s2", None),
        ("", None),
        ("9" * 400, None),
    ],
)
def test_openai_reset_durations(reset: str, seconds: float | None) -> None:
    info = parse_rate_limit_headers({"x-ratelimit-reset-requests": reset}, now=NOW)
    got = None if info is None else info.reset_requests_seconds
    assert got == pytest.approx(seconds) if seconds is not None else got is None


@pytest.mark.parametrize(
    ("reset", "seconds"),
    [
        ("2025-06-01T12:00:30Z", 30.0),
        ("2025-06-01T12:00:30.5z", 30.5),
        ("2025-06-01T14:00:30+02:00", 30.0),
        ("2025-06-01T12:00:30.123456789Z", 30.123456),
        ("2025-06-01T12:00:30", 30.0),  # no offset: UTC
        ("2025-06-01T11:59:00Z", 0.0),  # in the past: now
        ("tomorrow", None),
        ("2025-13-01T00:00:00Z", None),
    ],
)
def test_anthropic_reset_times(reset: str, seconds: float | None) -> None:
    info = parse_rate_limit_headers({"anthropic-ratelimit-requests-reset": reset}, now=NOW)
    got = None if info is None else info.reset_requests_seconds
    assert got == pytest.approx(seconds) if seconds is not None else got is None


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "30"}, 30.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "Sun, 01 Jun 2025 12:00:42 GMT"}, 42.0),
        ({"retry-after": "Sun, 01 Jun 2025 11:00:00 GMT"}, 0.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "-5"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "whenever"}, None),
    ],
)
def test_retry_after(headers: dict[str, str], seconds: float | None) -> None:
    info = parse_rate_limit_headers(headers, now=NOW)
    got = None if info is None else info.retry_after_seconds
    assert got == pytest.approx(seconds) if seconds is not None else got is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"content-type": "application/json", "server": "uvicorn"},
        {"x-ratelimit-limit-requests": "lots", "x-ratelimit-remaining-requests": "-1"},
        {"x-ratelimit-limit-requests": "1e3", "anthropic-ratelimit-requests-limit": "50.0"},
        {"anthropic-ratelimit-tokens-reset": "later", "x-ratelimit-reset-tokens": "⏰"},
        {"x-ratelimit-limit-requests": "²"},
    ],
)
def test_garbage_headers_are_ignored(headers: dict[str, str]) -> None:
    assert parse_rate_limit_headers(headers, now=NOW) is None


def test_one_good_header_among_garbage() -> None:
    headers: dict[Any, Any] = {
        "x-ratelimit-limit-requests": "lots",
        "x-ratelimit-remaining-requests": "12",
        "x-ratelimit-reset-requests": None,
        b"x-ratelimit-limit-tokens": b"100",
    }
    assert parse_rate_limit_headers(headers, now=NOW) == RateLimitInfo(remaining_requests=12)


def test_suggested_rpm() -> None:
    assert 0.85 <= RATE_HEADROOM <= 0.9
    info = RateLimitInfo(limit_requests=500)
    assert suggested_rpm(info, current_rpm=3500) == 425  # the table said more than we have
    assert suggested_rpm(info, current_rpm=500) == 425
    assert suggested_rpm(info, current_rpm=425) is None
    assert suggested_rpm(info, current_rpm=60) is None  # already slower: keep it
    assert suggested_rpm(info, current_rpm=None) == 425  # no limit of our own yet
    assert suggested_rpm(RateLimitInfo(limit_requests=1), current_rpm=60) == 1
    assert suggested_rpm(RateLimitInfo(remaining_requests=0), current_rpm=60) is None
    assert suggested_rpm(RateLimitInfo(limit_requests=0), current_rpm=60) is None
    parsed = parse_rate_limit_headers(ANTHROPIC_429, now=NOW)
    assert parsed is not None and suggested_rpm(parsed, current_rpm=50) == 42

"""The answer cache: keys, round trips, bad entries, secrets, threads and processes."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import diskcache
import platformdirs
import pytest

from codemodkit.cache import (
    AnswerCache,
    CachedAnswer,
    CacheError,
    cache_key,
    cache_stats,
    clear_cache,
    default_cache_dir,
)

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
REPO = Path(__file__).resolve().parents[2]

MESSAGES = [
    {"role": "system", "content": "You add telemetry to Python functions."},
    {"role": "user", "content": "def total(prices):\n    return sum(prices)\n"},
]
SCHEMA = {"type": "object", "properties": {"code": {"type": "string"}}, "required": ["code"]}


def key(**overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "provider": "ollama",
        "model": "qwen2.5-coder:7b",
        "messages": MESSAGES,
        "params": {"temperature": 0, "num_ctx": 8192},
        "schema": SCHEMA,
        "template_version": "3",
    }
    arguments.update(overrides)
    return cache_key(**arguments)


def answer(text: str = "def total(prices):\n    return sum(prices)\n") -> CachedAnswer:
    return CachedAnswer(text, 120, 30, "qwen2.5-coder:7b", "ollama", created=1700000000.0)


# --- keys -------------------------------------------------------------------------------


def test_key_is_a_sha256_stable_across_calls_and_dict_order() -> None:
    reordered = key(
        messages=[{"content": m["content"], "role": m["role"]} for m in MESSAGES],
        params={"num_ctx": 8192, "temperature": 0},
        schema={"required": ["code"], "properties": {"code": {"type": "string"}}, "type": "object"},
    )
    assert key() == reordered
    assert len(key()) == 64 and int(key(), 16) >= 0


@pytest.mark.parametrize(
    "change",
    [
        {"provider": "openai"},
        {"model": "qwen2.5-coder:14b"},
        {"messages": [*MESSAGES[:1], {"role": "user", "content": "def total(p): ..."}]},
        {"messages": list(reversed(MESSAGES))},
        {"params": {"temperature": 0.2, "num_ctx": 8192}},
        {"params": {"temperature": 0, "num_ctx": 4096}},
        {"params": {"temperature": 0, "num_ctx": 8192, "seed": 1}},
        {"schema": None},
        {"schema": {"type": "object"}},
        {"template_version": "4"},
    ],
)
def test_everything_that_shapes_an_answer_changes_the_key(change: dict[str, Any]) -> None:
    assert key(**change) != key()


def test_endpoints_and_credentials_do_not_split_the_cache() -> None:
    base = {"temperature": 0, "num_ctx": 8192}
    first = {**base, "base_url": "http://gpu-1:11434", "api_key": "sk-one", "timeout": 30}
    second = {**base, "endpoint": "http://gpu-2:11434", "API_KEY": "sk-two", "headers": {"a": "b"}}
    assert key(params=first) == key(params=second) == key(params=base)


def test_a_value_json_cannot_express_is_refused() -> None:
    with pytest.raises(ValueError):
        key(params={"temperature": float("nan")})
    with pytest.raises(TypeError):
        key(params={"stop": {"a", "set"}})


# --- round trips ------------------------------------------------------------------------


def test_put_get_stats_clear(tmp_path: Path) -> None:
    with AnswerCache(tmp_path / "answers") as cache:
        assert cache.get(key()) is None
        cache.put(key(), answer())
        cache.put(key(model="other"), answer("x = 1\n"))
        assert cache.get(key()) == answer()
        assert cache.get(key(model="other")) == answer("x = 1\n")
        stats = cache.stats()
        assert (stats.entries, stats.hits, stats.misses) == (2, 2, 1)
        assert stats.directory == tmp_path / "answers" and stats.size_bytes > 0
        assert cache.clear() == 2
        assert cache.get(key()) is None
        assert cache.stats().entries == 0


def test_answers_survive_reopening_and_overwrites_replace(tmp_path: Path) -> None:
    with AnswerCache(tmp_path) as cache:
        cache.put(key(), answer("old"))
        cache.put(key(), answer("new"))
    with AnswerCache(tmp_path) as cache:
        assert cache.get(key()) == answer("new")
        assert cache.stats().entries == 1
        # a fresh process-local count: hits and misses are this object's own
        assert (cache.stats().hits, cache.stats().misses) == (1, 0)


def test_created_defaults_to_now() -> None:
    before = time.time()
    made = CachedAnswer("x", 1, 1, "m", "p")
    assert before <= made.created <= time.time()


def test_large_and_non_ascii_answers_round_trip(tmp_path: Path) -> None:
    # over diskcache's 32 KiB threshold the value lives in a file of its own
    big = "# ünïcödé ✓ 中文\n" + "x = 1\n" * 20_000
    with AnswerCache(tmp_path) as cache:
        cache.put("big", answer(big))
        cache.put("small", answer("ü ✓"))
        assert cache.get("big") == answer(big)
        assert cache.get("small") == answer("ü ✓")
    assert any(path.suffix == ".val" for path in tmp_path.rglob("*"))


def test_values_are_stored_as_json_text_not_pickles(tmp_path: Path) -> None:
    with AnswerCache(tmp_path) as cache:
        cache.put(key(), answer())
        cache.put("big", answer("y = 2\n" * 10_000))
    with sqlite3.connect(tmp_path / "cache.db") as con:
        rows = con.execute("SELECT key, mode, value FROM Cache").fetchall()
    con.close()
    assert {mode for _, mode, _ in rows} <= {diskcache.core.MODE_RAW, diskcache.core.MODE_TEXT}
    stored = next(value for k, _, value in rows if k == key())
    assert isinstance(stored, str) and stored.startswith('{"format":1,"text":"def total')


# --- unreadable entries are misses ------------------------------------------------------


class Exploding:
    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_explode, ())


def _explode() -> None:
    raise AssertionError("a cache entry was unpickled")


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '{"format": 1}',
        '{"format": 99, "text": "x", "tokens_in": 1, "tokens_out": 1, "model": "m",'
        ' "provider": "p", "created": 1.0}',
        '{"format": 1, "text": "x", "tokens_in": -1, "tokens_out": 1, "model": "m",'
        ' "provider": "p", "created": 1.0}',
        '{"format": 1, "text": "x", "tokens_in": true, "tokens_out": 1, "model": "m",'
        ' "provider": "p", "created": 1.0}',
        '{"format": 1, "text": null, "tokens_in": 1, "tokens_out": 1, "model": "m",'
        ' "provider": "p", "created": 1.0}',
        b"\x00\xffbytes",
        42,
        # a pickle of a well-formed dict must still be refused: we never unpickle
        {
            "format": 1,
            "text": "x",
            "tokens_in": 1,
            "tokens_out": 1,
            "model": "m",
            "provider": "p",
            "created": 1.0,
        },
        Exploding(),
    ],
)
def test_an_entry_this_version_did_not_write_is_a_miss(tmp_path: Path, raw: object) -> None:
    foreign = diskcache.Cache(str(tmp_path))
    foreign.set("k", raw)
    foreign.close()
    with AnswerCache(tmp_path) as cache:
        assert cache.get("k") is None
        assert cache.stats().misses == 1
        cache.put("k", answer())  # and the next good answer replaces it
        assert cache.get("k") == answer()


def test_a_deleted_value_file_is_a_miss(tmp_path: Path) -> None:
    with AnswerCache(tmp_path) as cache:
        cache.put("big", answer("z = 3\n" * 10_000))
        for path in tmp_path.rglob("*.val"):
            path.unlink()
        assert cache.get("big") is None


def test_a_value_file_that_is_not_utf8_is_a_miss(tmp_path: Path) -> None:
    with AnswerCache(tmp_path) as cache:
        cache.put("big", answer("z = 3\n" * 10_000))
        for path in tmp_path.rglob("*.val"):
            path.write_bytes(b"\xff\xfe garbage")
        assert cache.get("big") is None


# --- secrets ----------------------------------------------------------------------------


def test_api_keys_and_endpoints_never_reach_the_cache_files(tmp_path: Path) -> None:
    secret = "sk-proj-SECRET0123456789abcdefSECRET"
    endpoint = "https://private-gpu.internal.example:8443/v1"
    # A careless caller: the key and endpoint in the parameters, even in a message.
    params = {"temperature": 0, "api_key": secret, "base_url": endpoint, "headers": {"x": secret}}
    messages = [*MESSAGES, {"role": "user", "content": f"my key is {secret} at {endpoint}"}]
    with AnswerCache(tmp_path) as cache:
        small = key(params=params, messages=messages)
        big = key(params=params, messages=messages, template_version="big")
        cache.put(small, answer())
        cache.put(big, answer("w = 4\n" * 10_000))
        assert cache.get(small) == answer()
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert len(files) >= 2  # the database and the big value's file
    for path in files:
        data = path.read_bytes()
        for needle in (secret, endpoint, "private-gpu", "SECRET0123"):
            assert needle.encode() not in data, f"{needle!r} found in {path}"
            assert needle.encode("utf-16-le") not in data


# --- a cache folder that cannot be used -------------------------------------------------


def test_a_file_in_the_way_is_a_one_line_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "answers"
    blocker.write_text("not a folder")
    for directory in (blocker, blocker / "below"):
        with pytest.raises(CacheError) as error:
            AnswerCache(directory)
        message = str(error.value)
        assert str(directory) in message and "\n" not in message
        assert message.startswith(f"cannot open cache at {directory}: ")


def test_a_database_file_that_is_not_sqlite_is_a_cache_error(tmp_path: Path) -> None:
    (tmp_path / "cache.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as error:
        AnswerCache(tmp_path)
    assert str(error.value) == f"cannot open cache at {tmp_path}: file is not a database"


@pytest.mark.skipif(IS_ROOT, reason="root ignores file permissions")
def test_a_read_only_folder_is_a_cache_error(tmp_path: Path) -> None:
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        for directory in (readonly, readonly / "answers"):
            with pytest.raises(CacheError, match=re.escape(f"cannot open cache at {directory}: ")):
                AnswerCache(directory)
    finally:
        readonly.chmod(0o755)


def test_stats_and_clear_create_nothing_where_there_is_no_cache(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "answers"
    stats = cache_stats(missing)
    assert (stats.entries, stats.size_bytes, stats.directory) == (0, 0, missing)
    assert clear_cache(missing) == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cache_stats(empty).entries == 0 and clear_cache(empty) == 0
    assert not (tmp_path / "nowhere").exists() and list(empty.iterdir()) == []
    with AnswerCache(empty) as cache:
        cache.put("k", answer())
    assert cache_stats(empty).entries == 1
    assert clear_cache(empty) == 1


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEMOD_CACHE_DIR", "~/my-cache")
    assert default_cache_dir() == Path.home() / "my-cache"
    monkeypatch.setenv("CODEMOD_CACHE_DIR", "")
    expected = Path(platformdirs.user_cache_dir("codemodkit")) / "answers"
    assert default_cache_dir() == expected
    monkeypatch.delenv("CODEMOD_CACHE_DIR")
    assert default_cache_dir() == expected


# --- contention -------------------------------------------------------------------------


def hold_write_lock(directory: Path) -> sqlite3.Connection:
    """Another writer holding the database, as a second process would."""
    con = sqlite3.connect(directory / "cache.db", isolation_level=None)
    con.execute("BEGIN IMMEDIATE")
    return con


def test_a_busy_database_is_retried_until_it_frees(tmp_path: Path) -> None:
    cache = AnswerCache(tmp_path, timeout=0.05)
    con = hold_write_lock(tmp_path)
    errors: list[BaseException] = []

    def put() -> None:
        try:
            cache.put("k", answer())
        except BaseException as exc:
            errors.append(exc)
        finally:
            cache.close()  # this thread's connection

    writer = threading.Thread(target=put)
    writer.start()
    time.sleep(0.2)  # longer than the SQLite timeout: the first attempt fails
    con.execute("COMMIT")
    con.close()
    writer.join()
    assert errors == []
    assert cache.get("k") == answer()
    cache.close()


def test_a_database_busy_for_too_long_is_a_cache_error(tmp_path: Path) -> None:
    with AnswerCache(tmp_path, timeout=0.02) as cache:
        con = hold_write_lock(tmp_path)
        try:
            expected = re.escape(f"cannot write to cache at {tmp_path}: ")
            with pytest.raises(CacheError, match=expected):
                cache.put("k", answer())
        finally:
            con.execute("ROLLBACK")
            con.close()
        assert cache.get("k") is None  # still usable, and a miss rather than a crash


def test_many_threads_share_one_cache(tmp_path: Path) -> None:
    threads, per_thread = 16, 200
    failures: list[str] = []
    with AnswerCache(tmp_path) as cache:

        def work(worker: int) -> None:
            for n in range(per_thread):
                entry = answer(f"thread {worker} answer {n}")
                cache.put(f"{worker}-{n}", entry)
                if cache.get(f"{worker}-{n}") != entry:
                    failures.append(f"{worker}-{n}")
            cache.close()  # this thread's connection

        pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert failures == []
        assert cache.stats().entries == threads * per_thread
        missing = [
            (w, n)
            for w in range(threads)
            for n in range(per_thread)
            if cache.get(f"{w}-{n}") != answer(f"thread {w} answer {n}")
        ]
        assert missing == []


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from codemodkit.cache import AnswerCache, CachedAnswer

    directory, go, worker = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    with AnswerCache(directory) as cache:
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        for n in range(200):
            cache.put(f"{worker}-{n}", CachedAnswer(f"{worker} {n}", n, n, "m", "p"))
            # every process also rewrites the same shared keys
            cache.put(f"shared-{n % 10}", CachedAnswer(f"{worker} shared", 1, 1, "m", "p"))
            assert cache.get(f"{worker}-{n}") is not None
    """
)


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    directory, go = tmp_path / "answers", tmp_path / "go"
    AnswerCache(directory).close()  # created once, so the writers race on writes only
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), str(go), f"p{i}"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    time.sleep(0.3)  # let them import and open the cache, then start all at once
    go.touch()
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr
    with AnswerCache(directory) as cache:
        for i in range(3):
            for n in range(200):
                got = cache.get(f"p{i}-{n}")
                assert got is not None and (got.text, got.tokens_in) == (f"p{i} {n}", n)
        for n in range(10):
            shared = cache.get(f"shared-{n}")
            assert shared is not None and shared.text in {"p0 shared", "p1 shared", "p2 shared"}
        assert cache.stats().entries == 3 * 200 + 10

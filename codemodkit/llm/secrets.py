"""API keys: where they come from, and keeping them out of every message we print.

``resolve_api_key`` looks at the flag, then the environment, then the nearest ``.env``
file (read with python-dotenv's ``dotenv_values``; ``os.environ`` is never modified).
``REDACTOR`` is process-wide: every key that is resolved or handed to a provider is
registered there, and every error message a provider builds goes through ``redact``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from dotenv import dotenv_values

__all__ = [
    "ENV_VARS",
    "REDACTOR",
    "Redactor",
    "find_dotenv",
    "redact",
    "register_secret",
    "resolve_api_key",
]

#: the environment variable that holds each provider's key
ENV_VARS: Mapping[str, str] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "ollama": "OLLAMA_API_KEY",
}

MASK = "***"
# Authorization values that are never registered (a key typed into a curl command, a
# proxy's token) are still masked when they appear in the usual header form.
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")


class Redactor:
    """Replaces registered secrets, and their obvious encodings, with ``***``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, secret: str | None) -> None:
        # short secrets are redacted too; only an empty one is ignored (it matches everywhere)
        if not secret or not secret.strip():
            return
        with self._lock:
            if secret in self._secrets:
                return
            self._secrets.add(secret)
            forms = {f for s in self._secrets for f in _encodings(s)}
            # longest first, so a secret that contains another is masked whole
            alternatives = sorted(forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(f) for f in alternatives))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        return _BEARER.sub(lambda m: m.group(1) + MASK, text)

    def clear(self) -> None:
        """Forget every secret (tests only)."""
        with self._lock:
            self._secrets.clear()
            self._pattern = None


def _encodings(secret: str) -> set[str]:
    """The secret as it may appear in a URL, a JSON string or a basic-auth header."""
    forms = {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
    raw = secret.encode()
    forms.add(base64.b64encode(raw).decode())
    forms.add(base64.urlsafe_b64encode(raw).decode())
    forms.add(base64.b64encode(b":" + raw).decode())  # HTTP basic auth with an empty user
    return {f for f in forms if f}


REDACTOR = Redactor()
register_secret = REDACTOR.register
redact = REDACTOR.redact


def resolve_api_key(
    provider: str,
    flag: str | None,
    env: Mapping[str, str] | None = None,
    dotenv_dir: Path | None = None,
) -> str | None:
    """The key for ``provider``: the flag, else its environment variable, else ``.env``.

    ``.env`` is the nearest one found walking up from ``dotenv_dir`` (default: the
    current directory). Empty values count as unset. The key found is registered with
    the redactor. Providers without a key variable (``template``) get None.
    """
    key = _first_key(provider, flag, os.environ if env is None else env, dotenv_dir)
    register_secret(key)
    return key


def _first_key(
    provider: str, flag: str | None, env: Mapping[str, str], dotenv_dir: Path | None
) -> str | None:
    if flag:
        return flag
    variable = ENV_VARS.get(provider)
    if variable is None:
        return None
    if env.get(variable):
        return env[variable]
    dotenv = find_dotenv(dotenv_dir if dotenv_dir is not None else Path.cwd())
    if dotenv is not None:
        return dotenv_values(dotenv).get(variable) or None
    return None


def find_dotenv(start: Path) -> Path | None:
    """The nearest ``.env`` file in ``start`` or one of its parents."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / ".env"
        if candidate.is_file():
            return candidate
    return None

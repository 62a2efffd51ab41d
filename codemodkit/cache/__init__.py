"""Disk cache of model answers (diskcache), keyed by provider, model, messages,
parameters, schema and prompt-template version; see ``store``.
"""

from .store import (
    AnswerCache,
    CachedAnswer,
    CacheError,
    CacheStats,
    cache_key,
    cache_stats,
    clear_cache,
    default_cache_dir,
)

__all__ = [
    "AnswerCache",
    "CacheError",
    "CacheStats",
    "CachedAnswer",
    "cache_key",
    "cache_stats",
    "clear_cache",
    "default_cache_dir",
]

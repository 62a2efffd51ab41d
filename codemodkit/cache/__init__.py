"""Disk cache of model answers (diskcache), keyed by provider, model, messages,
parameters and prompt-template version.

Only the built-in template provider exists so far and its answers are computed, not
fetched, so nothing is cached yet; the cache arrives with the model providers.
"""

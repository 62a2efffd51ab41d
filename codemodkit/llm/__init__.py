"""LLM access: providers, the manager and capacity detection (no knowledge of CSTs)."""

from .base import Answer, Completion, Prompt, Provider, ProviderError
from .manager import LLMManager, Tier

__all__ = ["Answer", "Completion", "LLMManager", "Prompt", "Provider", "ProviderError", "Tier"]

"""LLM access: providers, the manager and capacity detection (no knowledge of CSTs)."""

from .base import Completion, Prompt, Provider
from .manager import LLMManager
from .template import TemplateProvider

__all__ = ["Completion", "LLMManager", "Prompt", "Provider", "TemplateProvider"]

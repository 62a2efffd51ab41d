"""Fixtures for the tsfix tests: real Node, the pinned TypeScript 5.9.3."""

from js_support import node_tools

__all__ = ["node_tools"]

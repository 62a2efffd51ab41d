"""Fixtures for the tsfix tests: real Node, the pinned tsc."""

from js_support import node_tools

__all__ = ["node_tools"]

"""Fixtures for the JS/TS codemod's tests: real Node, the pinned tsc."""

from js_support import node_tools

__all__ = ["node_tools"]

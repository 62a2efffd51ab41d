"""``codemod telemetry`` for JavaScript and TypeScript (tree-sitter)."""

"""codemodkit: bulk source rewrites with LLM help (``codemod telemetry``, ``codemod tsfix``)."""

__version__ = "0.1.0"

"""Turn unexpected failures into one line and the documented exit status."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from codemodkit.config import ConfigError
from codemodkit.llm.secrets import redact

__all__ = ["guarded"]

F = TypeVar("F", bound=Callable[..., Any])

EXIT_INTERNAL = 2
EXIT_INTERRUPTED = 130


def guarded(function: F) -> F:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, SystemExit):
            raise
        except BrokenPipeError:
            # The reader went away (``codemod ... | head``): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo(
                "codemod: interrupted; files already written are complete, "
                "model answers received so far are cached",
                err=True,
            )
            sys.exit(EXIT_INTERRUPTED)
        except ConfigError as exc:
            click.echo(f"codemod: configuration error: {redact(str(exc))}", err=True)
            sys.exit(EXIT_INTERNAL)
        except Exception as exc:
            message = redact(f"{type(exc).__name__}: {exc}")
            click.echo(f"codemod: internal error: {message}", err=True)
            if os.environ.get("CODEMOD_DEBUG"):
                traceback.print_exc()
            sys.exit(EXIT_INTERNAL)

    return wrapper  # type: ignore[return-value]

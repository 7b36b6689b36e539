"""What every ``speechlab`` command shares: the consoles and the error wrapper."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from speechlab.errors import SpeechlabError

__all__ = ["console", "err_console", "friendly"]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def friendly(fn: F) -> F:
    """Print a SpeechlabError as one clear ``error:`` line and exit with status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SpeechlabError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from exc

    return wrapper  # type: ignore[return-value]

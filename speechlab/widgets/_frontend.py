"""Where the browser modules (ESM + CSS) are: ``speechlab/_frontend`` in a wheel,
``<repo>/widgets`` in an editable install."""

from __future__ import annotations

from pathlib import Path

from speechlab.widgets.errors import WidgetError

__all__ = ["frontend_dirs", "frontend_file"]

_PACKAGE = Path(__file__).resolve().parent.parent  # .../speechlab


def frontend_dirs() -> list[Path]:
    """The folders searched, in order: the wheel's copy first, then the source tree's."""
    return [_PACKAGE / "_frontend", _PACKAGE.parent / "widgets"]


def frontend_file(name: str) -> Path:
    """The path of the browser file ``name`` (e.g. ``"viewer.js"``)."""
    for folder in frontend_dirs():
        path = folder / name
        if path.is_file():
            return path
    searched = ", ".join(str(d) for d in frontend_dirs())
    raise WidgetError(
        f"The widget front-end file {name!r} is missing (searched {searched}). "
        "Reinstall speechlab (`pip install --force-reinstall speechlab`, or `pip install -e .` "
        "from a source checkout)."
    )

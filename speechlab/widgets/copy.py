"""A button that copies a string to the browser's clipboard (the kernel cannot reach it)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

__all__ = ["CopyButton"]

log = logging.getLogger(__name__)


class CopyButton(anywidget.AnyWidget):
    """Copies ``text`` to the clipboard when clicked; disabled while ``text`` is empty."""

    _esm = Path(__file__).parent / "static" / "copy.js"

    text = t.Unicode("").tag(sync=True)
    label = t.Unicode("Copy").tag(sync=True)

    def __init__(self, text: str = "", label: str = "Copy", **kwargs: Any) -> None:
        super().__init__(text=text, label=label, **kwargs)
        #: What the browser last reported: ``"copied"`` or ``"copy-failed: <reason>"``.
        self.last_event: str | None = None
        self.on_msg(self._handle_message)

    def _handle_message(self, _widget: Any, content: Any, _buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("event") == "copied":
            self.last_event = "copied"
        elif isinstance(content, dict) and content.get("event") == "copy-failed":
            self.last_event = f"copy-failed: {content.get('error')}"
            log.warning("Copying to the clipboard failed in the browser: %s", content.get("error"))

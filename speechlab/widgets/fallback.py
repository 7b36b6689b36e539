"""A static rendering beside every speechlab widget's live view.

A widget displays as ``application/vnd.jupyter.widget-view+json``, which only a page with a
widget manager (and the widget's JavaScript) can draw; executed notebooks and ``report.html``
opened offline have neither. :class:`StaticFallback` adds ``text/html`` to the display
bundle: JupyterLab keeps drawing the live widget (its widget renderer ranks first), while
nbconvert and static viewers show the HTML. ``speechlab.notebook_runs.export_html`` drops
the widget view where this HTML exists, so reports show it offline.

```python
class Recorder(StaticFallback, anywidget.AnyWidget):
    def static_html(self) -> str:
        return "<div>…</div>"       # self-contained: data URIs, inline styles, no script
```
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["STATIC_MIME", "WIDGET_VIEW_MIME", "StaticFallback"]

log = logging.getLogger(__name__)

WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"
STATIC_MIME = "text/html"


class StaticFallback:
    """Mixin (put it before the widget class): the widget's display bundle gets
    ``text/html`` from :meth:`static_html` besides the live widget view."""

    def static_html(self) -> str:
        """Self-contained HTML of what the widget shows now ("" for none)."""
        return ""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's own bundle (ipywidgets: a dict; anywidget: ``(data, metadata)``)
        with ``text/html`` added to its data."""
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if bundle is None:  # a widget without a view
            return None
        try:
            static = self.static_html()
        except Exception:  # the live widget must still display: log it, leave the HTML out
            log.warning("%s: no static rendering", type(self).__name__, exc_info=True)
            return bundle
        if not static:
            return bundle
        if isinstance(bundle, tuple):
            data, metadata = bundle
            return {**data, STATIC_MIME: static}, metadata
        return {**bundle, STATIC_MIME: static}

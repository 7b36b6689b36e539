"""Jupyter widgets: the spectrogram / alignment viewer and the voice mixer.

```python
from speechlab.widgets import view, mixer
view(transcript, audio=speech)   # words over the spectrogram; click one to hear it
mixer(tts)                       # blend voices, listen, copy the blend spec
```

The browser side (ESM + CSS) lives in the repository's ``widgets/`` folder and ships in the
wheel as ``speechlab/_frontend``. Imported eagerly: the function ``mixer`` shares its name
with the module ``speechlab.widgets.mixer``, and a lazy attribute would lose to the module.
"""

from __future__ import annotations

from speechlab.widgets.errors import WidgetError
from speechlab.widgets.mixer import VoiceMixer, mixer
from speechlab.widgets.viewer import AlignmentViewer, view

__all__ = ["AlignmentViewer", "VoiceMixer", "WidgetError", "mixer", "view"]

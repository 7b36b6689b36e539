"""Jupyter widgets: the spectrogram / alignment viewer, the voice mixer and the mic recorder.

```python
from speechlab.widgets import view, mixer
view(transcript, audio=speech)   # words over the spectrogram; click one to hear it
mixer(tts)                       # blend voices, listen, copy the blend spec
record(asr)                      # the microphone with a live transcript (rec.audio, rec.transcript)
```

The browser side (ESM + CSS) sits beside the classes in ``speechlab/widgets/static/``;
each anywidget points ``_esm``/``_css`` at its files there.
"""

from __future__ import annotations

from speechlab.widgets.errors import WidgetError
from speechlab.widgets.recorder import Recorder, record
from speechlab.widgets.viewer import AlignmentViewer, view
from speechlab.widgets.voice_mixer import VoiceMixer, mixer

__all__ = ["AlignmentViewer", "Recorder", "VoiceMixer", "WidgetError", "mixer", "record", "view"]

"""Speech recognition: ``load_asr(spec) -> Recognizer`` over wav2vec2 CTC and Whisper backends.

```python
asr = speechlab.load_asr("whisper-base", language="pl")
t = asr.transcribe("wywiad.flac")            # a Transcript: text, words, chars
ts = asr.transcribe(["a.wav", "b.mp3"])      # a list, input order
```

The contract every backend implements is :class:`Recognizer` (``asr/base.py``); a new
backend is one module beside ``wav2vec2.py`` and ``whisper.py`` and one branch in
``asr/loading.py``.
"""

from __future__ import annotations

from speechlab.asr.base import Recognizer, TranscribeOptions
from speechlab.asr.loading import BACKENDS, DEFAULT_MODEL, detect_backend, load_asr
from speechlab.errors import DatasetError
from speechlab.transcript import Segment, Transcript

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "DatasetError",
    "Recognizer",
    "Segment",
    "TranscribeOptions",
    "Transcript",
    "detect_backend",
    "load_asr",
]

"""Speech recognition: ``load_asr(spec) -> Recognizer`` over wav2vec2 CTC and Whisper backends.

```python
asr = speechlab.load_asr("whisper-base", language="pl")
t = asr.transcribe("wywiad.flac")            # a Transcript: text, words, chars
ts = asr.transcribe(["a.wav", "b.mp3"])      # a list, input order
```

Live recognition (``asr/streaming.py``): ``asr.stream()`` returns a RecognitionStream to push
blocks into and read Partial/Final events from; ``asr.listen(path, realtime=True)`` is its
iterator form. Silero VAD (``asr/vad.py``) gates streams and ``transcribe(..., vad=True)``.

The contract every backend implements is :class:`Recognizer` (``asr/base.py``); a new
backend is one module beside ``wav2vec2.py`` and ``whisper.py`` and one branch in
``asr/loading.py``.
"""

from __future__ import annotations

from speechlab.asr.base import Recognizer, TranscribeOptions
from speechlab.asr.loading import BACKENDS, DEFAULT_MODEL, detect_backend, load_asr
from speechlab.asr.onnx_export import export_ctc_onnx
from speechlab.asr.sources import MicrophoneError
from speechlab.asr.streaming import (
    Final,
    Partial,
    RecognitionStream,
    StreamClosedError,
    StreamError,
    StreamingUnsupportedError,
)
from speechlab.asr.vad import VadOptions
from speechlab.errors import DatasetError
from speechlab.transcript import Segment, Transcript

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "DatasetError",
    "Final",
    "MicrophoneError",
    "Partial",
    "RecognitionStream",
    "Recognizer",
    "Segment",
    "StreamClosedError",
    "StreamError",
    "StreamingUnsupportedError",
    "TranscribeOptions",
    "Transcript",
    "VadOptions",
    "detect_backend",
    "export_ctc_onnx",
    "load_asr",
]

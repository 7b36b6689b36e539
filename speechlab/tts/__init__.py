"""Text to speech: ``load_tts(spec) -> Synthesizer`` over Kokoro-82M (ONNX Runtime or torch).

```python
tts = speechlab.load_tts()                       # kokoro-82m-int8 from the store, offline
speech = tts.synthesize("Dzień dobry!", voice="jm_kumo", lang="pl", speed=1.1)
for chunk in tts.stream(long_text, lang="pl"):   # chunks as soon as each is ready
    play(chunk.audio)
```

Modules: ``loading`` (``load_tts``, file discovery), ``synthesizer`` (``Synthesizer``),
``speech`` (the result records), ``base`` (the runtime contract that ``kokoro_onnx`` and
``kokoro_torch`` implement), ``g2p``, ``chunking``, ``voices``, ``export``, ``espeak_speech``.
"""

from __future__ import annotations

from speechlab.tts.base import SAMPLE_RATE, SAMPLES_PER_DURATION_FRAME, KokoroRuntime, Output
from speechlab.tts.g2p import LANGUAGES
from speechlab.tts.loading import BACKENDS, DEFAULT_MODEL, detect_backend, load_tts
from speechlab.tts.speech import Speech, SpeechChunk
from speechlab.tts.synthesizer import (
    AHEAD,
    DEFAULT_VOICE,
    MAX_CHARACTERS,
    MAX_SPEED,
    MIN_SPEED,
    Synthesizer,
    TextError,
)
from speechlab.tts.voices import VoiceError

__all__ = [
    "AHEAD",
    "BACKENDS",
    "DEFAULT_MODEL",
    "DEFAULT_VOICE",
    "LANGUAGES",
    "MAX_CHARACTERS",
    "MAX_SPEED",
    "MIN_SPEED",
    "SAMPLES_PER_DURATION_FRAME",
    "SAMPLE_RATE",
    "KokoroRuntime",
    "Output",
    "Speech",
    "SpeechChunk",
    "Synthesizer",
    "TextError",
    "VoiceError",
    "detect_backend",
    "load_tts",
]

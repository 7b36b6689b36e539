"""espeak-ng as a speech engine (formant synthesis), through the library in espeakng-loader.

Not a natural voice, but a *different* one from Kokoro's, in any espeak-ng language, and very
fast: speechlab uses it to widen synthetic training corpora and as a held-out voice. Voices
are espeak-ng names with an optional variant: ``"pl"``, ``"pl+m3"``, ``"pl+f2"``,
``"pl+croak"``. The object has the ``synthesize(text, voice=, speed=, lang=)`` shape that
``speechlab.train.synth_corpus`` takes.

The library is loaded from its own copy of the shared object (phonemizer loads another for
phonemes), and calls are serialised: espeak-ng is not thread-safe.
"""

from __future__ import annotations

import ctypes
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechlab.errors import SpeechlabError, UnsupportedLanguageError

__all__ = ["EspeakSpeech", "EspeakSynthesizer"]

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_CHARS_UTF8 = 1
_RATE, _PITCH = 1, 3
_DEFAULT_WPM = 175
_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


@dataclass
class EspeakSpeech:
    """Synthesised audio (float32 mono) at ``sample_rate``."""

    audio: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.audio) / self.sample_rate


class EspeakSynthesizer:
    """espeak-ng speech: ``synthesize("Dzień dobry", voice="pl+m3", speed=1.1)``."""

    name = "espeak-ng"
    label = "espeak-ng"  # how reports name it, as ``Synthesizer.label``
    model_dir: Path | None = None  # no model folder: the voices are espeak-ng's own

    def __init__(self, default_voice: str = "pl") -> None:
        import espeakng_loader

        self._dir = tempfile.TemporaryDirectory(prefix="speechlab-espeak-")
        library = Path(self._dir.name) / "libespeak-ng-synth.so"
        shutil.copyfile(espeakng_loader.get_library_path(), library)
        self._lib = ctypes.cdll.LoadLibrary(str(library))
        data_parent = str(Path(espeakng_loader.get_data_path()).parent).encode()
        self.sample_rate = self._lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_parent, 0)
        if self.sample_rate <= 0:
            raise SpeechlabError("espeak-ng did not initialise (espeakng-loader's data missing?).")
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # kept alive as long as the library uses it
        self._lib.espeak_SetSynthCallback(self._callback)
        self._lock = threading.Lock()
        self.default_voice = default_voice

    def _collect(self, samples: ctypes.POINTER(ctypes.c_short), count: int, events: int) -> int:
        if samples and count > 0:
            self._chunks.append(np.ctypeslib.as_array(samples, shape=(count,)).copy())
        return 0

    def synthesize(
        self, text: str, *, voice: str | None = None, speed: float = 1.0, lang: str | None = None
    ) -> EspeakSpeech:
        """Speak ``text``; ``voice`` is an espeak-ng voice (``lang`` is used when it is None)."""
        if not isinstance(text, str) or not text.strip():
            raise SpeechlabError("The text is empty; give at least one word to speak.")
        name = voice or lang or self.default_voice
        with self._lock:
            if self._lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise UnsupportedLanguageError(
                    f"espeak-ng has no voice {name!r}; use a language code such as 'pl', "
                    "optionally with a variant: 'pl+m3', 'pl+f2'."
                )
            self._lib.espeak_SetParameter(_RATE, round(_DEFAULT_WPM * float(speed)), 0)
            self._chunks = []
            data = text.encode("utf-8") + b"\0"
            self._lib.espeak_Synth(data, len(data), 0, 0, 0, _CHARS_UTF8, None, None)
            self._lib.espeak_Synchronize()
            pcm = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return EspeakSpeech(pcm.astype(np.float32) / 32768.0, self.sample_rate)

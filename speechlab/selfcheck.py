"""A short end-to-end check that the store's real models load and work.

Through the public APIs, Kokoro-82M (int8 ONNX, ``speechlab.tts``) speaks a Polish
sentence and Whisper base (``speechlab.load_asr``) transcribes it back; the check reports
timings and the word error rate. It is the README's first command until the tour notebook
takes over. ``speak_phonemes`` (fixed espeak-ng phonemes, no G2P) serves tests and
benchmarks that must not depend on the G2P.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from speechlab import audio as audio_io
from speechlab.errors import SpeechlabError
from speechlab.store import STORE, assemble
from speechlab.textnorm import plain

__all__ = [
    "SELF_CHECK_PHONEMES",
    "SELF_CHECK_TEXT",
    "CheckResult",
    "passed",
    "run_self_check",
    "speak_phonemes",
]

SELF_CHECK_TEXT = "Dzień dobry. Nazywam się Jan Kowalski i mieszkam w Warszawie."
#: espeak-ng (pl, tie '^', affricates folded into Kokoro's single symbols) for SELF_CHECK_TEXT.
SELF_CHECK_PHONEMES = "ʥˈɛɲ dˈɔbrɨ. nazˈɨvam ɕɛ jˈan kɔvˈalski i mʲˈɛʃkam w varʃˈavʲɛ."
SELF_CHECK_VOICE = "jm_kumo"
MAX_WER = 0.5  # measured here: 0.00-0.10 for this sentence


@dataclass
class CheckResult:
    """The outcome of one step of the self-check."""

    name: str
    ok: bool
    seconds: float
    detail: str
    values: dict[str, object] = field(default_factory=dict)


def run_self_check(
    out_dir: Path | None = None, on_step: Callable[[CheckResult], None] | None = None
) -> list[CheckResult]:
    """Assemble every store model, synthesise with Kokoro, transcribe with Whisper.

    Writes ``selfcheck.wav`` into ``out_dir`` when given. Failures are reported as
    results with ``ok=False`` (and later steps that depend on them are skipped).
    """
    results: list[CheckResult] = []

    def record(result: CheckResult) -> CheckResult:
        results.append(result)
        if on_step is not None:
            on_step(result)
        return result

    paths: dict[str, Path] = {}
    for name in STORE:
        step = _timed(f"assemble {name}", lambda n=name: _assemble_step(n))
        if record(step).ok:
            paths[name] = Path(str(step.values["path"]))

    speech = None
    if "kokoro-82m-int8" in paths:
        step = record(
            _timed("kokoro-82m-int8 speaks", lambda: _kokoro_step(paths["kokoro-82m-int8"]))
        )
        speech = step.values.get("audio") if step.ok else None
        if speech is not None and out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            speech.save(out_dir / "selfcheck.wav")
    if "whisper-base" in paths and speech is not None:
        record(
            _timed("whisper-base transcribes", lambda: _whisper_step(paths["whisper-base"], speech))
        )
    return results


def passed(results: list[CheckResult]) -> bool:
    """True when every step (assembling each store model, synthesis, recognition) ran and passed."""
    return len(results) == len(STORE) + 2 and all(r.ok for r in results)


def _timed(name: str, fn: Callable[[], tuple[str, dict[str, object]]]) -> CheckResult:
    start = time.perf_counter()
    try:
        detail, values = fn()
        ok = True
    except (SpeechlabError, ImportError, RuntimeError, OSError, ValueError) as exc:
        detail, values, ok = f"{type(exc).__name__}: {exc}", {}, False
    return CheckResult(name, ok, time.perf_counter() - start, detail, values)


def _assemble_step(name: str) -> tuple[str, dict[str, object]]:
    path = assemble(name)
    size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
    return f"{path} ({size / 1e6:.1f} MB, sha256 verified)", {"path": str(path)}


def speak_phonemes(
    model_dir: Path, phonemes: str = SELF_CHECK_PHONEMES, voice: str = SELF_CHECK_VOICE
) -> tuple[audio_io.Audio, float]:
    """Kokoro from a phoneme string, no G2P: (24 kHz Audio, seconds spent synthesising)."""
    from speechlab.tts import load_tts

    tts = load_tts(model_dir, voice=voice)
    start = time.perf_counter()
    speech = tts.synthesize_phonemes(phonemes)
    return speech.to_audio(), time.perf_counter() - start


def _kokoro_step(model_dir: Path) -> tuple[str, dict[str, object]]:
    from speechlab.tts import load_tts

    tts = load_tts(model_dir, voice=SELF_CHECK_VOICE, lang="pl")
    start = time.perf_counter()
    speech = tts.synthesize(SELF_CHECK_TEXT)
    elapsed = time.perf_counter() - start
    phonemes = sum(len(c.phonemes) for c in speech.chunks)
    return (
        f"{phonemes} phonemes -> {speech.duration:.2f} s of audio in {elapsed:.2f} s "
        f"(RTFx {speech.duration / elapsed:.1f}), voice {SELF_CHECK_VOICE}",
        {"audio": speech.to_audio()},
    )


def _whisper_step(model_dir: Path, speech: audio_io.Audio) -> tuple[str, dict[str, object]]:
    import jiwer

    from speechlab.asr import load_asr

    recognizer = load_asr(model_dir, language="pl")
    start = time.perf_counter()
    text = recognizer.transcribe(speech).text
    elapsed = time.perf_counter() - start
    wer = jiwer.wer(plain(SELF_CHECK_TEXT), plain(text) or "<empty>")
    if wer > MAX_WER:
        raise SpeechlabError(
            f"Whisper heard {text!r} (WER {wer:.2f} > {MAX_WER}): the models load but do not "
            "work together; run `speechlab models verify` and report the output."
        )
    return f"{text!r} in {elapsed:.2f} s, WER {wer:.2f}", {"text": text, "wer": wer}

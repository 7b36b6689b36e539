"""TTS→ASR round trip: speak texts with each voice, transcribe them back, score per voice.

```python
result = roundtrip(load_tts(), load_asr("whisper-base"), POLISH_SENTENCES,
                   voices=["jm_kumo", "jf_alpha"], lang="pl")
result.table   # voice, wer, wer_low, wer_high, cer, cer_low, cer_high, utterances, audio_seconds
result.rows    # one row per (voice, text)
```

It measures how intelligible the synthesis is *to this recognizer*: the numbers mix TTS and
ASR errors, and the audio is synthetic. Every output says so (``kind``, ``synthetic``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechlab import __version__
from speechlab.eval.errors import EvalError
from speechlab.eval.metrics import bootstrap_cis, error_rate
from speechlab.eval.models import open_recognizer, open_synthesizer
from speechlab.eval.results import (
    ensure_folder,
    load_json,
    now,
    percent,
    rate_columns,
    score_rows,
    write_json,
)
from speechlab.samples import POLISH_SENTENCES
from speechlab.textnorm import Normalizer, get_normalizer, normalizer_name

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KIND", "RoundTripResult", "pooled_rates", "roundtrip"]

KIND = "TTS→ASR round trip"
RESULTS_FILE = "roundtrip.json"
VOICES_FILE = "voices.csv"
ROWS_FILE = "rows.csv"


@dataclass
class RoundTripResult:
    """``table``: one row per voice; ``rows``: one per (voice, text); ``summary``."""

    table: pd.DataFrame
    rows: pd.DataFrame
    summary: dict[str, Any]

    def save(self, directory: str | Path) -> Path:
        """roundtrip.json (summary, voices, rows), voices.csv and rows.csv."""
        folder = ensure_folder(directory)
        write_json(
            folder / RESULTS_FILE,
            {
                "summary": self.summary,
                "voices": self.table.to_dict(orient="records"),
                "rows": self.rows.to_dict(orient="records"),
            },
        )
        self.table.to_csv(folder / VOICES_FILE, index=False)
        self.rows.to_csv(folder / ROWS_FILE, index=False)
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> RoundTripResult:
        import pandas as pd

        data = load_json(Path(directory).expanduser() / RESULTS_FILE)
        return cls(pd.DataFrame(data["voices"]), pd.DataFrame(data["rows"]), data["summary"])

    def __repr__(self) -> str:
        voices = ", ".join(
            f"{r.voice} WER {percent(r.wer)} CER {percent(r.cer)}" for r in self.table.itertuples()
        )
        return f"RoundTripResult({KIND}, {self.summary.get('language')}: {voices})"


def roundtrip(
    synthesizer: Any,
    recognizer: Any,
    texts: Sequence[str] = POLISH_SENTENCES,
    *,
    voices: str | Sequence[str] = ("jm_kumo",),
    lang: str = "pl",
    speed: float = 1.0,
    normalizer: str | Normalizer = "model-card",
    out: str | Path | None = None,
    keep_audio: bool = False,
    progress: bool = True,
    n_boot: int = 1000,
    seed: int = 0,
) -> RoundTripResult:
    """Synthesise every text with every voice, transcribe it, score it per voice.

    ``synthesizer``/``recognizer``: objects or model specs. ``lang`` goes to the TTS and
    (as ``pl``, ``cs``, ``en`` ...) to Whisper. With ``out`` the result is saved there, and
    with ``keep_audio`` the speech too (``out/audio/<voice>-NNN.wav``).
    """
    from tqdm.auto import tqdm

    normalize = get_normalizer(normalizer)
    texts = [texts] if isinstance(texts, str) else list(texts)
    voices = [voices] if isinstance(voices, str) else list(voices)
    if not texts or not voices:
        raise EvalError("Give at least one text and one voice, e.g. voices=['jm_kumo'].")
    if keep_audio and out is None:
        raise EvalError("keep_audio needs out=FOLDER to write the audio into.")
    if out is not None:
        ensure_folder(out)  # an unwritable folder fails before any model is opened
    tts, tts_label = open_synthesizer(synthesizer)
    asr, asr_label = open_recognizer(recognizer)
    audio_dir = ensure_folder(Path(out) / "audio") if keep_audio and out is not None else None
    rows: list[dict[str, Any]] = []
    with tqdm(total=len(texts) * len(voices), unit="utt", desc=KIND, disable=not progress) as bar:
        for voice in voices:
            speech = []
            for i, text in enumerate(texts, start=1):
                audio = tts.synthesize(text, voice=voice, speed=speed, lang=lang).to_audio()
                if audio_dir is not None:
                    audio.save(audio_dir / f"{voice}-{i:03d}.wav")
                speech.append(audio)
            transcripts = asr.transcribe_iter(speech, language=lang, progress=False)
            for i, (text, transcript) in enumerate(zip(texts, transcripts, strict=True), 1):
                rows.append(
                    {
                        "voice": voice,
                        "text_id": i,
                        "reference": text,
                        "hypothesis": transcript.text,
                        "duration": round(float(transcript.duration), 3),
                    }
                )
                bar.update(1)
    table_rows, voice_rows = [], []
    for voice in voices:
        mine = [row for row in rows if row["voice"] == voice]
        frame, corpus = score_rows(mine, normalize, n_boot=n_boot, seed=seed)
        table_rows.append(frame)
        voice_rows.append(_voice_row(voice, corpus, frame))
    import pandas as pd

    per_text = pd.concat(table_rows, ignore_index=True)
    per_text["synthetic"] = True
    table = pd.DataFrame(voice_rows)
    pooled = pooled_rates(per_text, n_boot=n_boot, seed=seed)
    summary = {
        "kind": KIND,
        "synthetic": True,
        "tts": tts_label,
        "asr": asr_label,
        "language": lang,
        "speed": speed,
        "voices": voices,
        "texts": len(texts),
        "normalizer": normalizer_name(normalizer),
        **pooled,
        "n_boot": n_boot,
        "seed": seed,
        "speechlab": __version__,
        "created": now(),
    }
    result = RoundTripResult(table, per_text, summary)
    if out is not None:
        result.save(out)
    return result


def pooled_rates(rows: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """WER/CER over every voice with 95 % intervals (``wer_ci``, ``cer_ci``).

    The voices speak the same texts, so their rows are not independent: the bootstrap
    resamples texts, each with its errors and lengths summed over the voices.
    """
    frame = rows.assign(word_errors=rows["substitutions"] + rows["insertions"] + rows["deletions"])
    columns = ["word_errors", "ref_words", "char_errors", "ref_chars"]
    by_text = frame.groupby("text_id")[columns].sum()
    series = {
        "wer": (by_text["word_errors"].tolist(), by_text["ref_words"].tolist()),
        "cer": (by_text["char_errors"].tolist(), by_text["ref_chars"].tolist()),
    }
    intervals = bootstrap_cis(series, n_boot=n_boot, seed=seed)
    out: dict[str, Any] = {}
    for name, (errors, lengths) in series.items():
        out[name] = error_rate(sum(errors), sum(lengths))
        out[f"{name}_ci"] = list(intervals[name])
    return out


def _voice_row(voice: str, corpus: dict[str, Any], frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "voice": voice,
        **rate_columns(corpus),
        "audio_seconds": float(frame["duration"].sum()),
        "kind": KIND,
        "synthetic": True,
    }

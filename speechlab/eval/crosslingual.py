"""One recognizer over several languages, and small synthetic test sets to run it on.

```python
sets = synth_test_set(load_tts(), None, "jm_kumo", "runs/synth")   # {lang: manifest}
result = cross_lingual(load_asr("whisper-base"), sets)
result.table   # language, wer, wer_low, wer_high, cer, ..., utterances, audio_hours, synthetic
```

Synthetic sets are Kokoro speaking espeak-ng phonemes with speechlab's G2P (Czech, Slovak,
Ukrainian and Polish are not Kokoro training languages): they measure the round trip, not
the recognizer on human speech. Each set's ``metadata.json`` says ``"synthetic": true``,
so every result computed from it is labelled synthetic (table column, summary, files).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechlab.eval.errors import EvalError
from speechlab.eval.evaluation import evaluate
from speechlab.eval.models import open_recognizer, open_synthesizer
from speechlab.eval.results import (
    EvalResult,
    ensure_folder,
    load_json,
    now,
    rate_columns,
    write_json,
)
from speechlab.eval.sentences import SENTENCES
from speechlab.textnorm import Normalizer

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CrossLingualResult", "cross_lingual", "synth_test_set"]

LANGUAGES_FILE = "languages.csv"
RESULTS_FILE = "crosslingual.json"
MANIFEST = "manifest.tsv"
_COLUMNS = [
    "language",
    "wer",
    "wer_low",
    "wer_high",
    "cer",
    "cer_low",
    "cer_high",
    "utterances",
    "audio_hours",
    "synthetic",
    "model",
    "normalizer",
]


@dataclass
class CrossLingualResult:
    """``table``: one row per language; ``results``: the full EvalResult of each."""

    table: pd.DataFrame
    results: dict[str, EvalResult] = field(default_factory=dict)

    def save(self, directory: str | Path) -> Path:
        """languages.csv, crosslingual.json, and each language's result in a subfolder."""
        folder = ensure_folder(directory)
        self.table.to_csv(folder / LANGUAGES_FILE, index=False)
        write_json(
            folder / RESULTS_FILE,
            {
                "kind": "cross-lingual ASR evaluation",
                "synthetic": bool(self.table["synthetic"].any()),
                "languages": self.table.to_dict(orient="records"),
            },
        )
        for lang, result in self.results.items():
            result.save(folder / lang)
        return folder

    @classmethod
    def load(cls, directory: str | Path) -> CrossLingualResult:
        import pandas as pd

        folder = Path(directory).expanduser()
        data = load_json(folder / RESULTS_FILE)
        table = pd.DataFrame(data["languages"], columns=_COLUMNS)
        results = {
            lang: EvalResult.load(folder / lang)
            for lang in table["language"]
            if (folder / lang).is_dir()
        }
        return cls(table, results)


def cross_lingual(
    recognizer: Any,
    sets: Mapping[str, Any],
    *,
    normalizer: str | Normalizer = "model-card",
    out: str | Path | None = None,
    batch_size: int = 8,
    progress: bool = True,
    synthetic: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
) -> CrossLingualResult:
    """``evaluate`` on each ``language: data`` of ``sets``; one table row per language.

    With ``out``, each language runs (resumably) in ``out/<language>`` and the table is
    saved in ``out``.
    """
    if not sets:
        raise EvalError("No test sets given; pass {language: data}, e.g. from synth_test_set.")
    import pandas as pd

    recognizer, _ = open_recognizer(recognizer)
    results = {}
    for lang, data in sets.items():
        results[lang] = evaluate(
            recognizer,
            data,
            normalizer=normalizer,
            out=Path(out) / lang if out is not None else None,
            lang=lang,
            batch_size=batch_size,
            progress=progress,
            synthetic=synthetic,
            n_boot=n_boot,
            seed=seed,
        )
    rows = []
    for lang, result in results.items():
        s = result.summary
        rows.append(
            {
                "language": lang,
                **rate_columns(s),
                "audio_hours": s["audio_hours"],
                "synthetic": s["synthetic"],
                "model": s["model"],
                "normalizer": s["normalizer"],
            }
        )
    result = CrossLingualResult(pd.DataFrame(rows, columns=_COLUMNS), results)
    if out is not None:
        result.save(out)
    return result


def synth_test_set(
    synthesizer: Any,
    texts_by_lang: Mapping[str, Sequence[str]] | None,
    voices: str | Sequence[str] | Mapping[str, str | Sequence[str]],
    out_dir: str | Path,
    *,
    speed: float = 1.0,
    progress: bool = True,
) -> dict[str, Path]:
    """Speak ``texts_by_lang`` (None: ``SENTENCES``, for cs, sk, uk, pl) into a labelled,
    SYNTHETIC corpus; returns ``{language: manifest path}`` for ``cross_lingual``.

    ``voices``: one voice, a list (used in turn, sentence by sentence) or one of those per
    language. Writes ``out_dir/<lang>/<lang>-NNN.wav``, ``manifest.tsv`` (path, text,
    voice), ``metadata.json`` (``"synthetic": true``, TTS, voices, speed) and a README.
    """
    from tqdm.auto import tqdm

    texts_by_lang = dict(SENTENCES if texts_by_lang is None else texts_by_lang)
    if not texts_by_lang or not all(texts_by_lang.values()):
        raise EvalError("Give at least one sentence per language: {'pl': ['Dzień dobry.']}.")
    tts, label = open_synthesizer(synthesizer)
    root = ensure_folder(out_dir)
    manifests = {}
    total = sum(len(texts) for texts in texts_by_lang.values())
    with tqdm(total=total, unit="utt", desc="synthesise", disable=not progress) as bar:
        for lang, texts in texts_by_lang.items():
            folder = ensure_folder(root / lang)
            cycle = itertools.cycle(_voices_for(voices, lang))
            lines, used = ["path\ttext\tvoice"], []
            for i, text in enumerate(texts, start=1):
                voice = next(cycle)
                name = f"{lang}-{i:03d}.wav"
                tts.synthesize(text, voice=voice, speed=speed, lang=lang).save(folder / name)
                lines.append(f"{name}\t{' '.join(str(text).split())}\t{voice}")
                used.append(voice)
                bar.update(1)
            (folder / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")
            write_json(
                folder / "metadata.json",
                {
                    "synthetic": True,
                    "kind": "SYNTHETIC speech: speechlab TTS, not human recordings",
                    "tts": label,
                    "language": lang,
                    "voices": sorted(set(used)),
                    "speed": speed,
                    "utterances": len(texts),
                    "created": now(),
                },
            )
            manifests[lang] = folder / MANIFEST
    (root / "README.md").write_text(_README.format(tts=label), encoding="utf-8")
    return manifests


_README = """# SYNTHETIC test set

Every audio file here was generated by speechlab's text-to-speech ({tts}); none is a human
recording. Use it to compare recognizers on the same synthetic speech, never as a measure of
accuracy on real speech. Each language folder holds the audio, `manifest.tsv` (path, text,
voice) and `metadata.json` (`"synthetic": true`), which speechlab.eval reads to label every
result computed from it as synthetic.
"""


def _voices_for(voices: str | Sequence[str] | Mapping[str, Any], lang: str) -> list[str]:
    chosen = voices
    if isinstance(voices, Mapping):
        if lang not in voices:
            raise EvalError(f"No voice given for {lang!r}; voices has {sorted(voices)}.")
        chosen = voices[lang]
    listed = [chosen] if isinstance(chosen, str) else list(chosen)
    if not listed:
        raise EvalError("Give at least one voice, e.g. voices='jm_kumo'.")
    return listed

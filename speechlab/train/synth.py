"""Synthetic training corpora: texts spoken by Kokoro with varied voices, speeds and noise.

```python
corpus = synth_corpus(sentences, "data/synth", voices=["jm_kumo", "jm_kumo:0.7,jf_alpha:0.3"],
                      speeds=[0.9, 1.0, 1.1], noise_snr_db=[None, 20, 10])
finetune(load_config("ft.yaml", {"train": str(corpus.manifest)}))
```

Layout of ``out_dir``: ``audio/000000.flac`` ... (16 kHz), ``manifest.tsv`` (path, text,
voice, speed, snr, duration), ``metadata.json`` (``"synthetic": true`` and the recipe, so
``read_data`` and every evaluation label it SYNTHETIC) and a README.

Reproducible *plan*: item ``i`` draws its voice, speed, SNR and noise seed from a generator
seeded by ``(seed, i)`` alone, so it gets the same choices whether the corpus was made in
one go or resumed, and whatever other items exist. The audio is not bit-identical between
runs: Kokoro's vocoder draws random phases on every call (the same text, voice and speed
give slightly different waveforms, same words and timing).

Resumable: an item is finished when its audio file is in place (written atomically) *and*
its manifest row is appended (one ``write`` + ``fsync`` per row); a rerun skips finished
items, redoes the rest, and drops a torn last row.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.audio import Audio
from speechlab.train.augment import add_noise, check_choices, seeded
from speechlab.train.errors import ConfigError, TrainDataError

__all__ = [
    "MANIFEST_COLUMNS",
    "SynthCorpus",
    "SynthPlan",
    "plan_corpus",
    "synth_corpus",
    "synth_plans",
]

MANIFEST = "manifest.tsv"
METADATA = "metadata.json"
MANIFEST_COLUMNS = ("path", "text", "voice", "speed", "snr", "duration")
_FORMATS = ("flac", "wav")
_PEAK = 0.99


@dataclass(frozen=True)
class SynthPlan:
    """What item ``index`` will be: its text, voice (a name or a ``"a:0.7,b:0.3"`` blend),
    speed, noise SNR in dB (None: clean) and noise seed."""

    index: int
    text: str
    voice: str
    speed: float
    snr_db: float | None
    noise_seed: int

    @property
    def name(self) -> str:
        return f"{self.index:06d}"

    def row(self, path: str, duration: float) -> dict[str, str]:
        snr = "" if self.snr_db is None else f"{self.snr_db:g}"
        return {
            "path": path,
            "text": self.text,
            "voice": self.voice,
            "speed": f"{self.speed:g}",
            "snr": snr,
            "duration": f"{duration:.3f}",
        }


@dataclass
class SynthCorpus:
    """The corpus folder, its manifest, and what this call did."""

    out_dir: Path
    manifest: Path
    total: int
    written: int
    skipped: int


def plan_corpus(
    texts: Sequence[str],
    *,
    voices: Sequence[str] = ("jm_kumo",),
    speeds: Sequence[float] = (1.0,),
    noise_snr_db: Sequence[float | None] = (None,),
    seed: int = 0,
) -> list[SynthPlan]:
    """One plan per text; item ``i``'s choices depend only on ``(seed, i)``."""
    voices = [str(v).strip() for v in voices]
    if not voices or not all(voices):
        raise ConfigError("Give at least one voice, e.g. voices=['jm_kumo'].")
    check_choices(speeds, noise_snr_db, ("white",))
    cleaned = [" ".join(str(t).split()) for t in texts]
    empty = [i for i, t in enumerate(cleaned) if not t]
    if not cleaned:
        raise TrainDataError("No texts to speak; give a list of sentences.")
    if empty:
        raise TrainDataError(f"Texts {empty[:10]} are empty; remove them.")
    plans = []
    for i, text in enumerate(cleaned):
        rng = seeded(seed, i)
        voice = voices[int(rng.integers(len(voices)))]
        speed = float(speeds[int(rng.integers(len(speeds)))])
        snr = noise_snr_db[int(rng.integers(len(noise_snr_db)))]
        noise_seed = int(rng.integers(2**31))
        plans.append(
            SynthPlan(i, text, voice, speed, None if snr is None else float(snr), noise_seed)
        )
    return plans


def synth_corpus(
    texts: Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    voices: Sequence[str] = ("jm_kumo",),
    speeds: Sequence[float] = (1.0,),
    noise_snr_db: Sequence[float | None] = (None,),
    noise_color: str = "white",
    seed: int = 0,
    lang: str = "pl",
    tts: Any = "kokoro-82m-int8",
    sample_rate: int = 16_000,
    audio_format: str = "flac",
    progress: bool = True,
) -> SynthCorpus:
    """Speak ``texts`` into a labelled SYNTHETIC corpus (see the module doc); a rerun into
    the same ``out_dir`` with the same texts and recipe finishes what is missing.

    ``tts``: a spec for ``load_tts`` or a synthesizer with ``.synthesize(text, voice=,
    speed=, lang=)`` returning audio and its rate.
    """
    check_choices(speeds, noise_snr_db, (noise_color,))
    plans = plan_corpus(texts, voices=voices, speeds=speeds, noise_snr_db=noise_snr_db, seed=seed)
    recipe = {
        "voices": list(voices),
        "speeds": [float(s) for s in speeds],
        "noise_snr_db": [None if s is None else float(s) for s in noise_snr_db],
        "noise_color": noise_color,
        "seed": seed,
    }
    return synth_plans(
        plans,
        out_dir,
        recipe=recipe,
        noise_color=noise_color,
        lang=lang,
        tts=tts,
        sample_rate=sample_rate,
        audio_format=audio_format,
        progress=progress,
    )


def synth_plans(
    plans: Sequence[SynthPlan],
    out_dir: str | os.PathLike[str],
    *,
    recipe: dict[str, Any],
    noise_color: str = "white",
    lang: str = "pl",
    tts: Any = "kokoro-82m-int8",
    sample_rate: int = 16_000,
    audio_format: str = "flac",
    progress: bool = True,
) -> SynthCorpus:
    """Speak explicit per-item ``plans`` (e.g. from
    :class:`speechlab.train.voice_plan.VoicePlanner`) into ``out_dir``, resumably, as
    :func:`synth_corpus` does; ``recipe`` (plain data: how the plans were drawn) is
    recorded in the metadata, and a rerun must bring the same recipe."""
    from tqdm.auto import tqdm

    if audio_format not in _FORMATS:
        raise ConfigError(f"audio_format must be one of {_FORMATS}, got {audio_format!r}.")
    if not plans:
        raise TrainDataError("No items to speak; give at least one plan.")
    root = Path(out_dir).expanduser()
    (root / "audio").mkdir(parents=True, exist_ok=True)
    if isinstance(tts, str | os.PathLike):
        from speechlab.tts import load_tts

        tts = load_tts(tts)
    synthesizer, label = tts, str(getattr(tts, "label", None) or type(tts).__name__)
    bank = getattr(synthesizer, "voice_bank", None)
    if bank is not None:
        for voice in dict.fromkeys(p.voice for p in plans):
            bank.pack(voice)  # unknown voices fail before any audio is made
    recipe = {
        "tts": label,
        "lang": lang,
        **recipe,
        "sample_rate": sample_rate,
        "audio_format": audio_format,
    }
    _check_recipe(root / METADATA, recipe)
    _write_metadata(root / METADATA, recipe, len(plans), complete=False)
    manifest = root / MANIFEST
    done = _read_manifest(manifest)
    written = skipped = 0
    with tqdm(total=len(plans), unit="utt", desc="synthesise", disable=not progress) as bar:
        for plan in plans:
            path = f"audio/{plan.name}.{audio_format}"
            if path in done and (root / path).is_file():
                _check_row(done[path], plan, manifest)
                skipped += 1
                bar.update(1)
                continue
            wave = _speak(synthesizer, plan, lang, sample_rate, noise_color)
            Audio(wave, sample_rate).save(root / path)
            _append_row(manifest, plan.row(path, len(wave) / sample_rate))
            written += 1
            bar.update(1)
    final = _read_manifest(manifest)
    planned = [f"audio/{plan.name}.{audio_format}" for plan in plans]
    rows = [final[p] for p in planned if p in final]  # item order
    wanted = set(planned)
    extra = [row for p, row in final.items() if p not in wanted]  # made by a longer run
    _write_rows(manifest, rows + extra)
    _write_metadata(root / METADATA, recipe, len(plans), complete=True)
    (root / "README.md").write_text(_README.format(tts=label), encoding="utf-8")
    return SynthCorpus(root, manifest, len(plans), written, skipped)


def _speak(
    synthesizer: Any, plan: SynthPlan, lang: str, sample_rate: int, color: str
) -> np.ndarray:
    speech = synthesizer.synthesize(plan.text, voice=plan.voice, speed=plan.speed, lang=lang)
    audio = Audio(np.asarray(speech.audio, dtype=np.float32), int(speech.sample_rate))
    wave = (
        audio.resample(sample_rate).samples if audio.sample_rate != sample_rate else audio.samples
    )
    if plan.snr_db is not None:
        wave = add_noise(wave, plan.snr_db, color, seeded(plan.noise_seed))
    peak = float(np.max(np.abs(wave))) if len(wave) else 0.0
    if peak > _PEAK:
        wave = wave * (_PEAK / peak)
    return np.asarray(wave, dtype=np.float32)


def _read_manifest(path: Path) -> dict[str, dict[str, str]]:
    """Finished rows by path. Rows whose audio file is gone, repeated rows and a torn last
    row (no newline) are dropped from the file."""
    if not path.is_file():
        _write_rows(path, [])
        return {}
    content = path.read_text(encoding="utf-8")
    lines = content.splitlines()
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_COLUMNS:
        raise TrainDataError(
            f"{path} is not a synth_corpus manifest (header {lines[:1]}); use a new out_dir."
        )
    complete = lines[1:] if content.endswith("\n") else lines[1:-1]
    rows: dict[str, dict[str, str]] = {}
    for line in complete:
        cells = line.split("\t")
        if len(cells) != len(MANIFEST_COLUMNS):
            continue
        row = dict(zip(MANIFEST_COLUMNS, cells, strict=True))
        if (path.parent / row["path"]).is_file():
            rows[row["path"]] = row
    if len(rows) != len(lines) - 1:
        _write_rows(path, list(rows.values()))
    return rows


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    """The whole manifest, atomically."""
    lines = ["\t".join(MANIFEST_COLUMNS)] + [
        "\t".join(r[c] for c in MANIFEST_COLUMNS) for r in rows
    ]
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _append_row(path: Path, row: dict[str, str]) -> None:
    line = "\t".join(row[c] for c in MANIFEST_COLUMNS) + "\n"
    with path.open("a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _check_row(row: dict[str, str], plan: SynthPlan, manifest: Path) -> None:
    expected = plan.row(row["path"], 0.0)
    differs = [k for k in ("text", "voice", "speed", "snr") if row[k] != expected[k]]
    if differs:
        raise ConfigError(
            f"{manifest} has {row['path']} with a different {', '.join(differs)} than this "
            "call plans (other texts or recipe). Use a new out_dir, or the same texts and seed."
        )


def _check_recipe(path: Path, recipe: dict[str, Any]) -> None:
    if not path.is_file():
        return
    before = json.loads(path.read_text(encoding="utf-8")).get("recipe", {})
    differs = [k for k in recipe if before.get(k) != recipe[k]]
    if differs:
        raise ConfigError(
            f"{path.parent} was made with a different {', '.join(differs)}; a rerun must use "
            "the same recipe (or choose a new out_dir)."
        )


def _write_metadata(path: Path, recipe: dict[str, Any], total: int, *, complete: bool) -> None:
    data = {
        "synthetic": True,
        "kind": "SYNTHETIC speech: speechlab TTS, not human recordings",
        "recipe": recipe,
        "utterances": total,
        "complete": complete,
        "reproducibility": (
            "Each item's voice, speed, SNR and noise seed depend only on (seed, item index); "
            "Kokoro's vocoder is random per call, so audio is not bit-identical across runs."
        ),
        "updated": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


_README = """# SYNTHETIC training corpus

Every audio file here was generated by speechlab's text-to-speech ({tts}); none is a human
recording. `manifest.tsv` lists path, text, voice, speed, noise SNR (dB, empty = clean) and
duration; `metadata.json` holds the recipe and `"synthetic": true`, which speechlab reads to
label every result computed from this folder as synthetic. Train on it, but never report
accuracy measured on it as accuracy on real speech.
"""

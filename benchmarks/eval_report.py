"""Evaluation tables for the README: the Polish TTS→ASR round trip per voice, and Whisper
base zero-shot on synthetic Polish, Czech, Slovak and Ukrainian.

Speech: the store's ``kokoro-82m-int8`` (espeak-ng phonemes for pl/cs/sk/uk); recognizer:
the store's ``whisper-base`` (int8, told the language). Every number here is on SYNTHETIC
speech: it measures intelligibility of speechlab's TTS to a weak recognizer, and ranks
voices and languages; it is not a human-speech WER.

Results: ``results/eval_report.md`` and the full tables under ``results/eval_report/``
(each part is skipped when its folder already holds a result: rerun to resume). Each part's
folder keeps the machine and commit it was measured on (``machine.json``); the .md lists them.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import RESULTS, machine, machine_lines

OUT = RESULTS / "eval_report"
VOICES = ["jm_kumo", "jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro"]
LANGUAGES = ("pl", "cs", "sk", "uk")


def main() -> None:
    from speechlab.asr import load_asr
    from speechlab.eval import SENTENCES, cross_lingual, roundtrip, synth_test_set
    from speechlab.eval.crosslingual import CrossLingualResult
    from speechlab.eval.round_trip import RoundTripResult
    from speechlab.tts import load_tts

    tts, asr = load_tts("kokoro-82m-int8"), load_asr("whisper-base")
    trip_dir, cross_dir = OUT / "roundtrip-pl", OUT / "crosslingual"
    if (trip_dir / "roundtrip.json").is_file():
        trip = RoundTripResult.load(trip_dir)
    else:
        trip = roundtrip(tts, asr, SENTENCES["pl"], voices=VOICES, lang="pl", out=trip_dir)
        _record_machine(trip_dir)
    if (cross_dir / "crosslingual.json").is_file():
        cross = CrossLingualResult.load(cross_dir)
    else:
        texts = {lang: SENTENCES[lang] for lang in LANGUAGES}
        sets = synth_test_set(tts, texts, "jm_kumo", OUT / "synthetic-sets")
        cross = cross_lingual(asr, sets, out=cross_dir)
        _record_machine(cross_dir)
    parts = {"roundtrip-pl": trip_dir, "crosslingual": cross_dir}
    machines = {name: _recorded_machine(folder) for name, folder in parts.items()}
    where = machine_lines({"parts": machines, "part_machines": machines})
    write_markdown(trip, cross.table, len(SENTENCES["pl"]), where)


def _record_machine(folder: Path) -> None:
    (folder / "machine.json").write_text(json.dumps(machine(), indent=2) + "\n")


def _recorded_machine(folder: Path) -> dict:
    """The machine a part was measured on; parts measured before it was kept say so."""
    path = folder / "machine.json"
    if path.is_file():
        return json.loads(path.read_text())
    return {"not recorded": "measured before the script kept the machine; delete to rerun"}


def write_markdown(trip, cross, n_pl: int, where: list[str]) -> None:
    """``trip``: the RoundTripResult (per voice, and pooled in its summary); ``cross``: the
    cross-lingual table."""

    def pct(x: float) -> str:
        return f"{100 * x:.1f}"

    lines = [
        "# Evaluation tables (synthetic speech)",
        "",
        "Made by `python benchmarks/eval_report.py`. Speech: store `kokoro-82m-int8` "
        "(speechlab's espeak-ng G2P; Polish mapped onto Kokoro's vocabulary). Recognizer: "
        "store `whisper-base` (int8, language given). Normaliser: the model card's. Corpus "
        "WER/CER = total edits / total reference words (characters), 95 % bootstrap CIs. "
        "**All speech is synthetic**: these rank voices and languages, they are not "
        "human-speech error rates.",
        "",
        f"## Polish TTS→ASR round trip, {n_pl} everyday sentences (every diacritic), per voice",
        "",
        "| voice | WER % | 95 % CI | CER % | 95 % CI |",
        "|---|---|---|---|---|",
    ]
    for row in trip.table.itertuples():
        lines.append(
            f"| {row.voice} | {pct(row.wer)} | {pct(row.wer_low)}–{pct(row.wer_high)} | "
            f"{pct(row.cer)} | {pct(row.cer_low)}–{pct(row.cer_high)} |"
        )
    pooled = trip.summary
    if "wer_ci" in pooled:  # measured before the summary kept intervals: rerun the backfill
        (wl, wh), (cl, ch) = pooled["wer_ci"], pooled["cer_ci"]
        lines.append(
            f"| all voices (CI resamples the texts) | {pct(pooled['wer'])} | {pct(wl)}–{pct(wh)} "
            f"| {pct(pooled['cer'])} | {pct(cl)}–{pct(ch)} |"
        )
    lines += [
        "",
        "## Whisper base zero-shot on synthetic pl / cs / sk / uk (voice jm_kumo)",
        "",
        "| language | utterances | audio min | WER % | 95 % CI | CER % | 95 % CI |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in cross.itertuples():
        lines.append(
            f"| {row.language} | {row.utterances} | {60 * row.audio_hours:.1f} | {pct(row.wer)} "
            f"| {pct(row.wer_low)}–{pct(row.wer_high)} | {pct(row.cer)} | "
            f"{pct(row.cer_low)}–{pct(row.cer_high)} |"
        )
    lines += ["", *where, ""]
    (RESULTS / "eval_report.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

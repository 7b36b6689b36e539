"""Polish through Kokoro: which phoneme mapping and which voice are most intelligible?

Kokoro-82M has no Polish. speechlab feeds it espeak-ng Polish phonemes mapped onto its
vocabulary. This script measures the round trip: speechlab TTS (store model
``kokoro-82m-int8``) → Whisper base (``language="pl"``) → WER/CER against the text, on
everyday sentences that together contain every Polish diacritic. Whisper base is itself
weak on Polish, so the numbers are relative: they rank mappings and voices.

Results: ``results/polish_g2p.json`` (resumable: finished rows are kept, each with the
machine and commit it was measured on) and ``results/polish_g2p.md``. Voices are ranked by
``eval_report.py`` (``results/eval_report.md``, with confidence intervals): the one source of
the per-voice numbers. ``--markdown`` rewrites the .md from the .json without measuring.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, machine, machine_lines, rate_text

#: Mapping variants for the one Polish symbol outside Kokoro's vocabulary (ʑ), and stress.
VARIANTS = {
    "ʑ→ʒ (default)": {"replacements": {"ʑ": "ʒ"}, "stress": True},
    "ʑ→ʝ": {"replacements": {"ʑ": "ʝ"}, "stress": True},
    "ʑ→ʒʲ": {"replacements": {"ʑ": "ʒʲ"}, "stress": True},
    "ʑ dropped": {"replacements": {"ʑ": ""}, "stress": True},
    "ʑ→ʒ, no stress marks": {"replacements": {"ʑ": "ʒ"}, "stress": False},
}


def measure(tts, asr, voice: str) -> dict:
    from speechlab.samples import POLISH_SENTENCES
    from speechlab.textnorm import plain

    hyps = []
    start = time.perf_counter()
    for sentence in POLISH_SENTENCES:
        speech = tts.synthesize(sentence, voice=voice, lang="pl")
        hyps.append(plain(asr.transcribe(speech.to_audio()).text) or "-")
    return {
        **scores(hyps),
        "wall_seconds": time.perf_counter() - start,
        "hypotheses": hyps,
        "machine": machine(),
    }


def scores(hypotheses: list[str]) -> dict:
    """Corpus WER/CER of ``hypotheses`` (already ``plain``) against the sentences, with 95 %
    bootstrap intervals over the sentences (``wer_low``/``wer_high``, ``cer_low``/...)."""
    from speechlab.eval.metrics import score
    from speechlab.eval.results import rate_columns
    from speechlab.samples import POLISH_SENTENCES
    from speechlab.textnorm import plain

    return rate_columns(score([plain(s) for s in POLISH_SENTENCES], hypotheses)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--markdown", action="store_true", help="only rewrite the .md")
    parser.add_argument("--fresh", action="store_true", help="ignore earlier results")
    args = parser.parse_args()
    path = RESULTS / "polish_g2p.json"
    results = json.loads(path.read_text()) if path.is_file() and not args.fresh else {}
    results.setdefault("variants", {})
    if not args.markdown:
        measure_variants(results, path)
    write_markdown(results)


def measure_variants(results: dict, path: Path) -> None:
    """Measure the mapping variants not in ``results`` yet, saving after each."""
    import speechlab
    from speechlab.tts import load_tts
    from speechlab.tts.g2p import REPLACEMENTS

    RESULTS.mkdir(exist_ok=True)
    asr = speechlab.load_asr("whisper-base", language="pl")
    for name, variant in VARIANTS.items():
        if name not in results["variants"]:
            tts = load_tts(
                replacements={**REPLACEMENTS, **variant["replacements"]}, stress=variant["stress"]
            )
            results["variants"][name] = measure(tts, asr, "jm_kumo")
            path.write_text(json.dumps(results, indent=2, ensure_ascii=False))
            print(name, results["variants"][name]["cer"], flush=True)


def write_markdown(results: dict) -> None:
    from speechlab.samples import POLISH_SENTENCES

    rows = results["variants"]
    # rows measured before machines were recorded say so instead of borrowing today's machine
    unknown = {"not recorded": "measured before the script kept the machine; rerun with --fresh"}
    where = machine_lines(
        {"parts": rows, "part_machines": {n: r.get("machine", unknown) for n, r in rows.items()}}
    )
    lines = [
        "# Polish through Kokoro: round-trip intelligibility",
        "",
        f"speechlab TTS (kokoro-82m-int8, espeak-ng Polish phonemes) → Whisper base "
        f"(int8, language='pl'), {len(POLISH_SENTENCES)} everyday sentences containing every "
        "Polish diacritic. Whisper base is weak on Polish: read these as relative numbers.",
        "",
        *where,
        "",
        "## Mapping of ʑ (the one espeak-ng Polish symbol outside Kokoro's vocabulary), "
        "voice jm_kumo",
        "",
        "| variant | WER (95 % CI) | CER (95 % CI) |",
        "|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | {rate_text(row, 'wer')} | {rate_text(row, 'cer')} |")
    lines += [
        "",
        "Voices (default mapping) are ranked in [eval_report.md](eval_report.md) "
        "(`eval_report.py`, with 95 % confidence intervals): the one source of per-voice numbers.",
    ]
    (RESULTS / "polish_g2p.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

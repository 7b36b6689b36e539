"""TTS benchmark: speechlab vs kokoro-onnx 0.6.1 on the same Kokoro int8 model.

Same model file and voice pack (the store's ``kokoro-82m-int8``), same voice (jm_kumo), same
texts, same threads, one run. kokoro-onnx runs in its own virtual environment
(``benchmarks/.cache/peer-venv``, created on first use with ``pip install kokoro-onnx==0.6.1``)
so its ``phonemizer`` does not replace speechlab's. It has no Polish, so for the Polish
paragraph it gets speechlab's phonemes (``is_phonemes=True``): the model work is identical.

Reported per text: wall seconds, audio seconds, throughput (audio s per wall s), time to the
first audio in streaming mode, and peak RSS. kokoro-onnx trims silence between chunks and
adds its own pauses, so its audio length differs slightly; compare wall time for the same
text as well as throughput.

Other runtimes of the same weights (``RUNTIME_PARTS``): the torch backend on the store's
``kokoro-82m-int8-torch`` (the int8 file imported into ``KModel``) in float32, and in
bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX; elsewhere the row says why
it was skipped), and speechlab's own ONNX exports of that torch model (``speechlab export
tts``: fp32, fp16, int8, exported once into ``benchmarks/.cache/kokoro-export``).
``--smoke`` runs any parts on one short sentence per language and writes
``benchmarks/.cache/smoke/`` instead of ``results/``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, THREADS, peak_rss_mb, run_all, run_part

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
PEER_VENV = CACHE / "peer-venv"
VOICE = "jm_kumo"
EXPORT_DIR = CACHE / "kokoro-export"
#: part -> (model spec, load_tts keyword arguments, autocast dtype)
RUNTIME_PARTS: dict[str, tuple[str, dict, str | None]] = {
    "torch_fp32": ("kokoro-82m-int8-torch", {}, None),
    "torch_bf16": ("kokoro-82m-int8-torch", {}, "bfloat16"),
    "export_fp32": (str(EXPORT_DIR), {"model_file": "model.onnx"}, None),
    "export_fp16": (str(EXPORT_DIR), {"model_file": "model_fp16.onnx"}, None),
    "export_int8": (str(EXPORT_DIR), {"model_file": "model_int8.onnx"}, None),
}
PARTS = ["speechlab", "speechlab_plain", "kokoro_onnx", *RUNTIME_PARTS]
FIRST_WORDS = 2  # stream(first_chunk_words=...) for the low-latency row
SMOKE_TEXTS = {
    "en": "The old lighthouse keeper climbed the winding stairs.",
    "pl": "Stary latarnik wspinał się po krętych schodach.",
}

TEXTS = {
    "en": (
        "The old lighthouse keeper climbed the winding stairs every evening, long after the "
        "ships had stopped needing his light. He polished the great lens, trimmed the wick, and "
        "watched the horizon until the stars came out. Nobody in the village remembered when he "
        "had first arrived, and nobody asked. In winter the storms rolled in from the north, "
        "and the waves broke against the rocks with a sound like distant thunder. Still he "
        "climbed, still he polished, still he watched. When the children asked him why, he only "
        "smiled and said that a light is a promise, and promises should be kept."
    ),
    "pl": (
        "Stary latarnik co wieczór wspinał się po krętych schodach, choć statki dawno przestały "
        "potrzebować jego światła. Polerował wielką soczewkę, przycinał knot i patrzył na "
        "horyzont, aż pojawiły się gwiazdy. Nikt we wsi nie pamiętał, kiedy przybył, i nikt o "
        "to nie pytał. Zimą od północy nadciągały sztormy, a fale rozbijały się o skały z "
        "hukiem podobnym do odległego grzmotu. Mimo to wspinał się, polerował i patrzył. Gdy "
        "dzieci pytały go dlaczego, tylko się uśmiechał i mówił, że światło jest obietnicą, a "
        "obietnic trzeba dotrzymywać."
    ),
}


def store_dir() -> Path:
    import speechlab

    return speechlab.store.assemble("kokoro-82m-int8")


def peer_python() -> str:
    python = PEER_VENV / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "kokoro-onnx==0.6.1"], check=True
        )
    return str(python)


def work_speechlab(fast_int8: bool = True) -> dict:
    from speechlab.tts import load_tts

    tts = load_tts(store_dir(), voice=VOICE, threads=THREADS, fast_int8=fast_int8)
    tts.synthesize("Rozgrzewka.", lang="pl")  # warm-up: session, and both G2Ps loaded
    tts.synthesize("Warm up.", lang="en-us")
    out: dict = {}
    for lang, text in TEXTS.items():
        code = "pl" if lang == "pl" else "en-us"
        start = time.perf_counter()
        next(tts.stream(text, lang=code))
        first_audio = time.perf_counter() - start
        start = time.perf_counter()
        next(tts.stream(text, lang=code, first_chunk_words=FIRST_WORDS))
        first_audio_quick = time.perf_counter() - start
        start = time.perf_counter()
        next(tts.stream(text, lang=code, first_chunk_words=1))
        first_audio_one_word = time.perf_counter() - start
        start = time.perf_counter()
        serial = sum(c.duration for c in tts.stream(text, lang=code, ahead=0))
        wall_serial = time.perf_counter() - start
        start = time.perf_counter()
        speech = tts.synthesize(text, lang=code)  # stream(ahead=AHEAD): synthesis ahead
        wall = time.perf_counter() - start
        out[lang] = {
            "wall_seconds_serial": wall_serial,
            "audio_seconds_serial": serial,
            "first_audio_one_word_seconds": first_audio_one_word,
            "chars": len(text),
            "wall_seconds": wall,
            "audio_seconds": speech.duration,
            "throughput": speech.duration / wall,
            "first_audio_seconds": first_audio,
            "first_audio_quick_seconds": first_audio_quick,
            "chunks": len(speech.chunks),
        }
    out["phonemes_pl"] = tts.phonemize(TEXTS["pl"], "pl")
    out["rewritten_convs"] = tts.model.rewritten_convs
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def bf16_is_native() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16)."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = cpuinfo.read_text() if cpuinfo.is_file() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def export_dir() -> Path:
    """speechlab's fp32/fp16/int8 ONNX exports of kokoro-82m-int8-torch (made once)."""
    from speechlab.tts.export import VARIANT_FILES, export_onnx

    if not all((EXPORT_DIR / f).is_file() for f in VARIANT_FILES.values()):
        export_onnx("kokoro-82m-int8-torch", EXPORT_DIR)
    return EXPORT_DIR


def work_runtime(part: str, texts: dict[str, str]) -> dict:
    """One of RUNTIME_PARTS on ``texts``: wall, audio, throughput, first audio, peak RSS."""
    import contextlib

    import torch

    from speechlab.tts import load_tts

    spec, kwargs, dtype = RUNTIME_PARTS[part]
    if dtype == "bfloat16" and not bf16_is_native():
        return {"skipped": "no AVX512-BF16 or AMX on this CPU: bfloat16 would be emulated"}
    if part.startswith("export_"):
        export_dir()
    tts = load_tts(spec, voice=VOICE, threads=THREADS, **kwargs)

    def precision() -> contextlib.AbstractContextManager:
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cpu", dtype=getattr(torch, dtype))

    with precision():
        tts.synthesize("Rozgrzewka.", lang="pl")
        tts.synthesize("Warm up.", lang="en-us")
    out: dict = {}
    for lang, text in texts.items():
        code = "pl" if lang == "pl" else "en-us"
        with precision():
            start = time.perf_counter()
            next(tts.stream(text, lang=code))
            first_audio = time.perf_counter() - start
            start = time.perf_counter()
            speech = tts.synthesize(text, lang=code)
            wall = time.perf_counter() - start
        out[lang] = {
            "chars": len(text),
            "wall_seconds": wall,
            "audio_seconds": speech.duration,
            "throughput": speech.duration / wall,
            "first_audio_seconds": first_audio,
        }
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def work_peer(model_dir: str, phonemes_pl: str) -> dict:
    import asyncio

    import onnxruntime as ort
    from kokoro_onnx import Kokoro

    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        str(Path(model_dir) / "kokoro-v1.0.int8.onnx"),
        options,
        providers=["CPUExecutionProvider"],
    )
    kokoro = Kokoro.from_session(
        session,
        str(Path(model_dir) / "voices.npz"),
        vocab_config=str(Path(model_dir) / "vocab.json"),
    )
    kokoro.create("Warm up.", voice=VOICE, lang="en-us")

    async def first_chunk(text: str, is_phonemes: bool) -> float:
        start = time.perf_counter()
        stream = kokoro.create_stream(text, voice=VOICE, lang="en-us", is_phonemes=is_phonemes)
        async for _audio, _rate in stream:
            return time.perf_counter() - start
        return float("nan")

    out: dict = {}
    for lang, text, is_phonemes in (("en", TEXTS["en"], False), ("pl", phonemes_pl, True)):
        first_audio = asyncio.run(first_chunk(text, is_phonemes))
        start = time.perf_counter()
        audio, rate = kokoro.create(text, voice=VOICE, lang="en-us", is_phonemes=is_phonemes)
        wall = time.perf_counter() - start
        out[lang] = {
            "chars": len(TEXTS[lang]),
            "wall_seconds": wall,
            "audio_seconds": len(audio) / rate,
            "throughput": len(audio) / rate / wall,
            "first_audio_seconds": first_audio,
        }
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def write_markdown(results: dict) -> None:
    r = results["parts"]
    lines = [
        "# TTS benchmark",
        "",
        f"Machine: `{json.dumps(results['machine'])}`",
        "",
        "Same Kokoro-82M int8 ONNX file and voice pack (store `kokoro-82m-int8`), voice "
        f"`{VOICE}`, same texts (a ~600-character English and Polish paragraph), "
        f"{THREADS} threads, one run. kokoro-onnx 0.6.1 has no Polish: it gets speechlab's "
        "phonemes for the Polish paragraph. speechlab opens the file with its int8 "
        "convolutions rewritten in memory as signed-weight `MatMulInteger` (`fast_int8=True`, "
        "the default; bit-identical integer arithmetic); the `fast_int8=False` row runs the "
        "graph as stored.",
        "",
        "| text | system | wall s | audio s | throughput (audio s / s) | first audio (stream) "
        "| speed vs peer (wall) |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in TEXTS:
        for part, label in (
            ("speechlab", "speechlab"),
            ("speechlab_plain", "speechlab, `fast_int8=False`"),
            ("kokoro_onnx", "kokoro-onnx 0.6.1"),
        ):
            if part not in r:
                continue
            row = r[part][lang]
            ratio = ""
            if part.startswith("speechlab") and "kokoro_onnx" in r:
                ratio = f"{r['kokoro_onnx'][lang]['wall_seconds'] / row['wall_seconds']:.2f}×"
            first = f"{1000 * row['first_audio_seconds']:.0f} ms"
            if "first_audio_quick_seconds" in row:
                first += (
                    f" ({1000 * row['first_audio_quick_seconds']:.0f} ms with "
                    f"`first_chunk_words={FIRST_WORDS}`"
                )
                if "first_audio_one_word_seconds" in row:
                    first += f", {1000 * row['first_audio_one_word_seconds']:.0f} ms with 1"
                first += ")"
            lines.append(
                f"| {lang} | {label} | {row['wall_seconds']:.2f} | {row['audio_seconds']:.1f} | "
                f"{row['throughput']:.2f} | {first} | {ratio} |"
            )
    lines.append("")
    if "speechlab" in r and "wall_seconds_serial" in r["speechlab"][next(iter(TEXTS))]:
        lines.append(
            "speechlab's `synthesize` synthesises the next chunk while the current one is "
            "finished (`stream(ahead=1)`, the default); one chunk at a time (`ahead=0`):"
        )
        for lang in TEXTS:
            row = r["speechlab"][lang]
            lines.append(
                f"- {lang}: {row['wall_seconds_serial']:.2f} s with ahead=0 vs "
                f"{row['wall_seconds']:.2f} s with ahead=1"
            )
        lines.append("")
    for part, label in (
        ("speechlab", "speechlab"),
        ("speechlab_plain", "speechlab, fast_int8=False"),
        ("kokoro_onnx", "kokoro-onnx"),
    ):
        if part in r:
            lines.append(f"- peak RSS {label}: {r[part]['peak_rss_mb']:.0f} MB")
    if "speechlab" in r and "kokoro_onnx" in r:
        lines += ["", "Targets:"]
        for lang in TEXTS:
            mine, peer = r["speechlab"][lang], r["kokoro_onnx"][lang]
            ratio = mine["throughput"] / peer["throughput"]
            lines.append(
                f"- {lang}: throughput ≥ 1.25× kokoro-onnx: {ratio:.2f}× — "
                + ("met" if ratio >= 1.25 else "NOT met")
                + f"; first audio < 300 ms: {1000 * mine['first_audio_quick_seconds']:.0f} ms "
                f"with first_chunk_words={FIRST_WORDS}, "
                f"{1000 * mine.get('first_audio_one_word_seconds', float('nan')):.0f} ms with 1 — "
                + (
                    "met"
                    if min(
                        mine["first_audio_quick_seconds"],
                        mine.get("first_audio_one_word_seconds", 9),
                    )
                    < 0.3
                    else "NOT met"
                )
            )
    lines += _runtime_rows(r)
    (OUT["dir"] / f"{OUT['name']}.md").write_text("\n".join(lines) + "\n")


def _runtime_rows(r: dict) -> list[str]:
    """The table of other runtimes of the same weights (torch, speechlab's exports)."""
    parts = [p for p in RUNTIME_PARTS if p in r]
    if not parts:
        return []
    lines = [
        "",
        "## Other runtimes of the same weights",
        "",
        "The torch backend on `kokoro-82m-int8-torch` (the int8 file imported into `KModel`, "
        "float32 weights) and speechlab's own ONNX exports of it (`speechlab export tts`), "
        "beside the store's int8 file; same voice, texts and threads.",
        "",
        "| text | runtime | wall s | audio s | throughput (audio s / s) | first audio (stream) "
        "| wall vs store int8 |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang in next(iter(r[p] for p in parts if "skipped" not in r[p]), {}):
        if lang == "peak_rss_mb":
            continue
        for part in ("speechlab", "kokoro_onnx", *parts):
            if part not in r or "skipped" in r[part] or lang not in r[part]:
                continue
            row = r[part][lang]
            base = r.get("speechlab", {}).get(lang)
            ratio = f"{base['wall_seconds'] / row['wall_seconds']:.2f}×" if base else ""
            lines.append(
                f"| {lang} | {part} | {row['wall_seconds']:.2f} | {row['audio_seconds']:.1f} | "
                f"{row['throughput']:.2f} | {1000 * row['first_audio_seconds']:.0f} ms | {ratio} |"
            )
    lines.append("")
    for part in parts:
        if "skipped" in r[part]:
            lines.append(f"- {part}: skipped ({r[part]['skipped']})")
        else:
            lines.append(f"- peak RSS {part}: {r[part]['peak_rss_mb']:.0f} MB")
    return lines


OUT = {"dir": RESULTS, "name": "tts_bench"}  # --smoke writes elsewhere


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker")
    parser.add_argument("--model-dir")
    parser.add_argument("--phonemes-pl")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="one short sentence per language")
    args = parser.parse_args()
    if args.worker in RUNTIME_PARTS:
        texts = SMOKE_TEXTS if args.smoke else TEXTS
        print(json.dumps(work_runtime(args.worker, texts), ensure_ascii=False))
        return
    if args.worker in ("speechlab", "speechlab_plain"):
        fast = args.worker == "speechlab"
        print(json.dumps(work_speechlab(fast_int8=fast), ensure_ascii=False))
        return
    if args.worker == "kokoro_onnx":
        print(json.dumps(work_peer(args.model_dir, args.phonemes_pl), ensure_ascii=False))
        return

    state: dict = {}

    def run(part: str) -> dict:
        if part in RUNTIME_PARTS:
            return run_part(__file__, part, *(["--smoke"] if args.smoke else []))
        if part in ("speechlab", "speechlab_plain"):
            out = run_part(__file__, part)
            state["phonemes_pl"] = out["phonemes_pl"]
            return out
        phonemes = state.get("phonemes_pl") or saved_phonemes()
        return run_part(
            __file__,
            "kokoro_onnx",
            "--model-dir",
            str(store_dir()),
            "--phonemes-pl",
            phonemes,
            python=peer_python(),
        )

    if args.smoke:
        import harness

        OUT.update(dir=CACHE / "smoke", name="tts_bench_smoke")
        harness.RESULTS = OUT["dir"]
    run_all(OUT["name"], args.parts.split(","), run, write_markdown, fresh=args.fresh)


def saved_phonemes() -> str:
    saved = json.loads((RESULTS / "tts_bench.json").read_text())
    return saved["parts"]["speechlab"]["phonemes_pl"]


if __name__ == "__main__":
    main()

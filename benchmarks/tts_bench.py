"""TTS benchmark: speechlab vs kokoro-onnx 0.6.1 on the same Kokoro int8 model.

Same model file and voice pack (the store's ``kokoro-82m-int8``), same voice (jm_kumo), same
texts, same threads. kokoro-onnx runs in its own virtual environment
(``benchmarks/.cache/peer-venv``, created on first use with ``pip install kokoro-onnx==0.6.1``)
so its ``phonemizer`` does not replace speechlab's. It has no Polish, so for the Polish
paragraph it gets speechlab's phonemes (``is_phonemes=True``): the model work is identical.

The headline (part ``headline``): the **wall time for the same text**, speechlab vs
kokoro-onnx, as the median (min–max) of ``--repeats`` (≥ 5) alternating runs in one invocation
(speechlab, peer, speechlab, peer, …; each run a fresh process). Both sides get the same
warm-up: one untimed synthesis of the very text, per language, before anything is timed.
Throughput (audio s per wall s) stands beside it: kokoro-onnx trims silence at chunk edges, so
it emits less audio for the same text. Each run also times the first audio of a stream, for
Polish and English with the same setting: speechlab with its default chunking and with
``first_chunk_words`` 2 and 1, the peer with its only setting.

The single-run parts (``speechlab``, ``speechlab_plain``, ``kokoro_onnx``) add details: the
``fast_int8=False`` graph, ``ahead=0``, peak RSS.

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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import RESULTS, THREADS, machine_lines, peak_rss_mb, run_all, run_part, spread

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
PARTS = ["headline", "speechlab", "speechlab_plain", "kokoro_onnx", *RUNTIME_PARTS]
FIRST_WORDS = 2  # stream(first_chunk_words=...) for the low-latency row
REPEATS = 5  # alternating runs behind every headline number
#: speechlab's stream settings whose first audio the headline runs time, by label
FIRST_AUDIO_SETTINGS = {"default": None, "first_chunk_words=2": 2, "first_chunk_words=1": 1}
FIRST_AUDIO_TARGET_S = 0.3
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


def ab_speechlab(texts: dict[str, str]) -> dict:
    """One headline run of speechlab: per language, one untimed synthesis of the text (the
    warm-up), the first audio of a stream for each setting, then the timed synthesis."""
    from speechlab.tts import load_tts

    tts = load_tts(store_dir(), voice=VOICE, threads=THREADS)
    out: dict = {}
    for lang, text in texts.items():
        code = "pl" if lang == "pl" else "en-us"
        tts.synthesize(text, lang=code)  # warm-up, the same as the peer's
        first = {}
        for label, words in FIRST_AUDIO_SETTINGS.items():
            start = time.perf_counter()
            next(tts.stream(text, lang=code, first_chunk_words=words))
            first[label] = time.perf_counter() - start
        start = time.perf_counter()
        speech = tts.synthesize(text, lang=code)
        wall = time.perf_counter() - start
        out[lang] = {
            "wall_seconds": wall,
            "audio_seconds": speech.duration,
            "first_audio_seconds": first,
            "chunks": len(speech.chunks),
        }
    out["phonemes_pl"] = tts.phonemize(texts["pl"], "pl")
    return out


def ab_peer(model_dir: str, texts: dict[str, str], phonemes_pl: str) -> dict:
    """One headline run of kokoro-onnx, with speechlab's protocol (see :func:`ab_speechlab`)."""
    import asyncio

    kokoro = _peer(model_dir)

    async def first_chunk(text: str, is_phonemes: bool) -> float:
        start = time.perf_counter()
        stream = kokoro.create_stream(text, voice=VOICE, lang="en-us", is_phonemes=is_phonemes)
        async for _audio, _rate in stream:
            return time.perf_counter() - start
        return float("nan")

    out: dict = {}
    for lang, text, is_phonemes in (("en", texts["en"], False), ("pl", phonemes_pl, True)):
        kokoro.create(text, voice=VOICE, lang="en-us", is_phonemes=is_phonemes)  # warm-up
        first = {"default": asyncio.run(first_chunk(text, is_phonemes))}
        start = time.perf_counter()
        audio, rate = kokoro.create(text, voice=VOICE, lang="en-us", is_phonemes=is_phonemes)
        wall = time.perf_counter() - start
        out[lang] = {
            "wall_seconds": wall,
            "audio_seconds": len(audio) / rate,
            "first_audio_seconds": first,
        }
    return out


def headline(repeats: int, smoke: bool) -> dict:
    """``repeats`` alternating runs (speechlab, peer, speechlab, peer, …), then per language
    the median and range of each side's wall time, throughput and first audio, and of the
    per-round wall-time ratio (peer / speechlab: above 1, speechlab is faster)."""
    flag = ["--smoke"] if smoke else []
    runs: dict[str, list[dict]] = {"speechlab": [], "kokoro_onnx": []}
    for i in range(repeats):
        print(f"  headline round {i + 1}/{repeats}", flush=True)
        mine = run_part(__file__, "ab_speechlab", *flag)
        runs["speechlab"].append(mine)
        runs["kokoro_onnx"].append(
            run_part(
                __file__,
                "ab_peer",
                "--model-dir",
                str(store_dir()),
                "--phonemes-pl",
                mine["phonemes_pl"],
                *flag,
                python=peer_python(),
            )
        )
    summary: dict = {}
    for lang in ("pl", "en"):
        rows = {name: [run[lang] for run in found] for name, found in runs.items()}
        summary[lang] = {
            name: {
                "wall_seconds": spread([r["wall_seconds"] for r in found]),
                "audio_seconds": spread([r["audio_seconds"] for r in found]),
                "throughput": spread([r["audio_seconds"] / r["wall_seconds"] for r in found]),
                "first_audio_seconds": {
                    label: spread([r["first_audio_seconds"][label] for r in found])
                    for label in found[0]["first_audio_seconds"]
                },
            }
            for name, found in rows.items()
        }
        pairs = zip(rows["speechlab"], rows["kokoro_onnx"], strict=True)
        summary[lang]["wall_ratio"] = spread(
            [peer["wall_seconds"] / mine["wall_seconds"] for mine, peer in pairs]
        )
        summary[lang]["chunks"] = rows["speechlab"][0].get("chunks")
    return {"repeats": repeats, "order": "speechlab, peer, speechlab, peer, …", "runs": runs,
            "summary": summary}  # fmt: skip


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


def _peer(model_dir: str) -> Any:  # a kokoro_onnx.Kokoro (in the peer venv only)
    """kokoro-onnx on the store's int8 file, voices and vocabulary, with our thread count."""
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
    return Kokoro.from_session(
        session,
        str(Path(model_dir) / "voices.npz"),
        vocab_config=str(Path(model_dir) / "vocab.json"),
    )


def work_peer(model_dir: str, phonemes_pl: str) -> dict:
    import asyncio

    kokoro = _peer(model_dir)
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
        *machine_lines(results),
        "",
        "Same Kokoro-82M int8 ONNX file and voice pack (store `kokoro-82m-int8`), voice "
        f"`{VOICE}`, same texts (a ~600-character English and Polish paragraph), "
        f"{THREADS} threads. kokoro-onnx 0.6.1 has no Polish: it gets speechlab's "
        "phonemes for the Polish paragraph. speechlab opens the file with its int8 "
        "convolutions rewritten in memory as signed-weight `MatMulInteger` (`fast_int8=True`, "
        "the default; bit-identical integer arithmetic) where the CPU makes that exact "
        "(VNNI/AMX); the `fast_int8=False` row runs the graph as stored. "
        + _rewrite_line(r.get("speechlab")),
        "",
        *_headline_lines(r.get("headline")),
        "## Single runs (details: one run each, possibly at different times; compare "
        "speeds only in the headline)",
        "",
        "| text | system | wall s | audio s | throughput (audio s / s) | first audio (stream) |",
        "|---|---|---|---|---|---|",
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
                f"{row['throughput']:.2f} | {first} |"
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
    lines += _runtime_rows(r)
    (OUT["dir"] / f"{OUT['name']}.md").write_text("\n".join(lines) + "\n")


def _rewrite_line(part: dict | None) -> str:
    """Whether the int8 rewrite applied on the machine the speechlab row ran on."""
    if not part or "rewritten_convs" not in part:
        return ""
    n = part["rewritten_convs"]
    if n:
        return f"On this machine it rewrote {n} convolutions."
    return (
        "On this machine it rewrote nothing (no VNNI or AMX: the rewrite would not be exact), "
        "so speechlab and the `fast_int8=False` row run the same graph as kokoro-onnx."
    )


def _range(s: dict, scale: float = 1.0, digits: int = 2) -> str:
    """``median (min–max)`` of a :func:`harness.spread` record."""
    f = f"{{:.{digits}f}}"
    return (
        f"{f.format(scale * s['median'])} ({f.format(scale * s['min'])}–"
        f"{f.format(scale * s['max'])})"
    )


def _headline_lines(h: dict | None) -> list[str]:
    """The headline section: wall time for the same text, first audio per setting, targets."""
    if not h:
        return []
    n, s = h["repeats"], h["summary"]
    lines = [
        f"## Headline: wall time for the same text (median and range of {n} alternating runs)",
        "",
        f"{n} runs of each, alternating speechlab and kokoro-onnx, each run a fresh process "
        "with the same warm-up (one untimed synthesis of the same text per language). Ratio "
        "= kokoro-onnx wall / speechlab wall, per round: above 1, speechlab is faster.",
        "",
        "| text | speechlab wall s | kokoro-onnx wall s | **speed ratio (wall)** | throughput "
        "speechlab / kokoro-onnx (audio s / s) | audio s speechlab / kokoro-onnx |",
        "|---|---|---|---|---|---|",
    ]
    for lang in ("pl", "en"):
        mine, peer = s[lang]["speechlab"], s[lang]["kokoro_onnx"]
        lines.append(
            f"| {lang} | {_range(mine['wall_seconds'])} | {_range(peer['wall_seconds'])} | "
            f"**{_range(s[lang]['wall_ratio'])}×** | {_range(mine['throughput'])} / "
            f"{_range(peer['throughput'])} | {mine['audio_seconds']['median']:.1f} / "
            f"{peer['audio_seconds']['median']:.1f} |"
        )
    lines += [
        "",
        "First audio of a stream, ms (median and range), Polish and English with the same setting:",
        "",
        "| system, setting | pl | en | < 300 ms in both |",
        "|---|---|---|---|",
    ]
    for name, label in (("speechlab", "speechlab"), ("kokoro_onnx", "kokoro-onnx")):
        for setting in s["pl"][name]["first_audio_seconds"]:
            pl = s["pl"][name]["first_audio_seconds"][setting]
            en = s["en"][name]["first_audio_seconds"][setting]
            met = max(pl["median"], en["median"]) < FIRST_AUDIO_TARGET_S
            lines.append(
                f"| {label}, {setting} | {_range(pl, 1000, 0)} | {_range(en, 1000, 0)} | "
                + ("met" if met else "NOT met")
                + " |"
            )
    lines += [
        "",
        "How the two differ on the same text: English phonemes come from misaki (spaCy "
        "`en_core_web_sm`, Kokoro's own G2P) in speechlab and from espeak-ng (`phonemizer`) in "
        "kokoro-onnx, so the two English phoneme strings and their lengths differ; the Polish "
        "phonemes are speechlab's for both. speechlab speaks one chunk per sentence (split "
        "further only past 510 tokens) and keeps the model's audio as it comes; kokoro-onnx "
        "cuts the phoneme string into pieces of at most 510 at punctuation and trims the "
        f"silence at every piece's edges (speechlab: {s['pl'].get('chunks')} Polish chunks, "
        f"{s['en'].get('chunks')} English).",
        "",
        "Targets (medians):",
    ]
    for lang in ("pl", "en"):
        ratio = s[lang]["wall_ratio"]["median"]
        lines.append(
            f"- {lang}: speed for the same text (kokoro-onnx wall / speechlab wall) ≥ 1.25×: "
            f"{ratio:.2f}× — " + ("met" if ratio >= 1.25 else "NOT met")
        )
    lines.append("")
    return lines


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
        "beside the store's int8 file run by speechlab; same voice, texts and threads; one run "
        "each.",
        "",
        "| text | runtime | wall s | audio s | throughput (audio s / s) | first audio (stream) |",
        "|---|---|---|---|---|---|",
    ]
    for lang in next(iter(r[p] for p in parts if "skipped" not in r[p]), {}):
        if lang == "peak_rss_mb":
            continue
        for part in ("speechlab", *parts):
            if part not in r or "skipped" in r[part] or lang not in r[part]:
                continue
            row = r[part][lang]
            lines.append(
                f"| {lang} | {part} | {row['wall_seconds']:.2f} | {row['audio_seconds']:.1f} | "
                f"{row['throughput']:.2f} | {1000 * row['first_audio_seconds']:.0f} ms |"
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
    parser.add_argument("--repeats", type=int, default=REPEATS, help="headline runs (≥ 5)")
    args = parser.parse_args()
    texts = SMOKE_TEXTS if args.smoke else TEXTS
    if args.worker == "ab_speechlab":
        print(json.dumps(ab_speechlab(texts), ensure_ascii=False))
        return
    if args.worker == "ab_peer":
        print(json.dumps(ab_peer(args.model_dir, texts, args.phonemes_pl), ensure_ascii=False))
        return
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
        if part == "headline":
            if args.repeats < 5 and not args.smoke:
                raise SystemExit("--repeats must be at least 5: headline ratios are medians")
            return headline(args.repeats, args.smoke)
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

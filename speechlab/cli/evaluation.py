"""``speechlab eval`` and ``speechlab roundtrip``: error rates from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from speechlab.cli.support import console, friendly
from speechlab.eval import EvalError, evaluate, roundtrip
from speechlab.eval.results import percent, percent_range
from speechlab.files import read_text, writable_folder
from speechlab.textnorm import get_normalizer

__all__ = ["eval_command", "roundtrip_command"]


@friendly
def eval_command(
    model: Annotated[str, typer.Option(help="ASR model: store name, directory or Hub id.")],
    data: Annotated[
        str,
        typer.Option(
            help="Folder (audio + same-stem .txt), .tsv/.csv manifest, or a datasets name "
            "(loaded with load_dataset(NAME, LANG, split=SPLIT))."
        ),
    ],
    lang: Annotated[str | None, typer.Option(help="Language code, e.g. pl.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results folder; a rerun with it resumes.")
    ] = None,
    normalizer: Annotated[str, typer.Option(help="model-card, whisper or none.")] = "model-card",
    split: Annotated[str, typer.Option(help="Dataset split (datasets names only).")] = "test",
    audio_column: Annotated[str | None, typer.Option(help="Audio column.")] = None,
    text_column: Annotated[str | None, typer.Option(help="Text column.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    encoding: Annotated[
        str, typer.Option(help="Encoding of a manifest or .txt transcripts, e.g. cp1250.")
    ] = "utf-8",
    engine: Annotated[
        str, typer.Option(help="local, or ray: transcribe on a Ray cluster, then score.")
    ] = "local",
    address: Annotated[
        str | None, typer.Option(help="Ray cluster (auto or HOST:PORT); else a local one.")
    ] = None,
    actors: Annotated[int, typer.Option(min=1, help="Ray: recognizer actors.")] = 2,
) -> None:
    """Word and character error rates (95 % bootstrap CIs) of an ASR model on labelled speech."""
    get_normalizer(normalizer)  # a typo fails before any model is loaded
    if engine not in ("local", "ray"):
        raise EvalError(f"Unknown engine {engine!r}; use local or ray.")
    if out is not None:
        writable_folder(out, what="results folder")  # and so does an unwritable --out
    source = open_data(data, lang, split)
    recognizer: Any = model
    if engine == "ray":
        recognizer = _ray_transcripts(
            model, source, out, lang, batch_size, address, actors, audio_column, text_column
        )
    result = evaluate(
        recognizer,
        source,
        normalizer=normalizer,
        out=out,
        lang=lang,
        batch_size=batch_size,
        audio_column=audio_column,
        text_column=text_column,
        encoding=encoding,
    )
    _print_summary("ASR evaluation", result.summary, out)


@friendly
def roundtrip_command(
    tts: Annotated[str, typer.Option(help="TTS model spec.")] = "kokoro-82m-int8",
    asr: Annotated[str, typer.Option(help="ASR model spec.")] = "whisper-base",
    texts: Annotated[
        Path | None,
        typer.Option(help="Text file, one text per line (default: speechlab's Polish set)."),
    ] = None,
    voices: Annotated[str, typer.Option(help="Comma-separated voices.")] = "jm_kumo",
    lang: Annotated[str, typer.Option(help="Language code, e.g. pl.")] = "pl",
    speed: Annotated[float, typer.Option(min=0.5, max=2.0)] = 1.0,
    normalizer: Annotated[str, typer.Option(help="model-card, whisper or none.")] = "model-card",
    out: Annotated[Path | None, typer.Option(help="Results folder.")] = None,
    encoding: Annotated[str, typer.Option(help="Encoding of --texts, e.g. cp1250.")] = "utf-8",
) -> None:
    """TTS→ASR round trip: speak texts with each voice, transcribe them, WER/CER per voice."""
    from speechlab.samples import POLISH_SENTENCES

    get_normalizer(normalizer)
    lines: list[str] = list(POLISH_SENTENCES)
    if texts is not None:
        if not texts.is_file():
            raise EvalError(f"Text file not found: {texts}.")
        text = read_text(texts, encoding=encoding, what="texts file", error=EvalError)
        lines = [line.strip() for line in text.splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            raise EvalError(f"{texts} holds no text; write one sentence per line.")
    chosen = [v.strip() for v in voices.split(",") if v.strip()]
    result = roundtrip(
        tts, asr, lines, voices=chosen, lang=lang, speed=speed, normalizer=normalizer, out=out
    )
    table = Table(title=f"{result.summary['kind']} (synthetic speech)", title_justify="left")
    for column in ("voice", "WER", "95% CI", "CER", "95% CI", "texts", "audio s"):
        table.add_column(column)
    for row in result.table.itertuples():
        table.add_row(
            str(row.voice),
            percent(row.wer),
            percent_range(row.wer_low, row.wer_high),
            percent(row.cer),
            percent_range(row.cer_low, row.cer_high),
            str(row.utterances),
            f"{row.audio_seconds:.1f}",
        )
    console.print(table)
    s = result.summary
    console.print(
        f"tts {s['tts']}, asr {s['asr']}, language {s['language']}, normaliser "
        f"{s['normalizer']}" + (f"; saved in {out}" if out else ""),
        highlight=False,
        markup=False,
    )


def _ray_transcripts(
    model: str,
    source: Any,
    out: Path | None,
    lang: str | None,
    batch_size: int,
    address: str | None,
    actors: int,
    audio_column: str | None,
    text_column: str | None,
) -> Any:
    """Transcribe ``source`` on Ray (into ``out/ray`` or a temporary folder) and return a
    recognizer that replays the transcripts, so ``evaluate`` scores them as it always does."""
    import tempfile

    from speechlab.scale import ReplayRecognizer, read_manifest, transcribe_corpus

    with tempfile.TemporaryDirectory(prefix="speechlab-eval-ray-") as scratch:
        folder = (out / "ray") if out is not None else Path(scratch)
        transcribe_corpus(
            model,
            source,
            folder,
            engine="ray",
            address=address,
            actors=actors,
            batch_size=batch_size,
            language=lang,
            audio_column=audio_column,
            text_column=text_column,
        )
        rows = read_manifest(folder)
    return ReplayRecognizer(rows, label=rows[0]["model"] if rows else model)


def open_data(data: str, lang: str | None, split: str) -> Any:
    """A local path as it is; anything else is a datasets name, loaded here."""
    if Path(data).expanduser().exists():
        return data
    if not _looks_like_dataset_name(data):
        raise EvalError(
            f"{data} is not a file or folder here, nor a datasets name (org/name). Check the path."
        )
    try:
        import datasets
    except ImportError as exc:
        raise EvalError("Loading a dataset by name needs the datasets package.") from exc
    try:
        return datasets.load_dataset(data, lang, split=split)
    except (OSError, ValueError, KeyError, ConnectionError, ImportError) as exc:
        # DatasetNotFoundError and the Hub's HTTP errors are OSErrors; bad configs ValueErrors
        raise EvalError(
            f"Could not load the dataset {data!r} (config {lang!r}, split {split!r}): "
            f"{type(exc).__name__}: {exc}. Offline, or for gated sets like Common Voice, "
            "download it first and pass a local folder or .tsv manifest."
        ) from exc


def _looks_like_dataset_name(data: str) -> bool:
    parts = data.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith(".") for p in parts)


def _print_summary(kind: str, s: dict[str, Any], out: Path | None) -> None:
    title = f"{kind}: {s['model']}" + (" — SYNTHETIC data" if s.get("synthetic") else "")
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = [
        ("WER", f"{percent(s['wer'])}  95% CI {percent_range(*s['wer_ci'])}"),
        ("CER", f"{percent(s['cer'])}  95% CI {percent_range(*s['cer_ci'])}"),
        (
            "substitutions / insertions / deletions",
            f"{s['substitutions']} / {s['insertions']} / {s['deletions']}",
        ),
        ("reference words", str(s["ref_words"])),
        ("utterances", str(s["utterances"])),
        ("audio", f"{s['audio_hours']:.3f} h"),
        ("data", str(s["data"])),
        ("language", str(s["language"])),
        ("normaliser", str(s["normalizer"])),
        ("synthetic", "yes" if s.get("synthetic") else "no"),
    ]
    if out is not None:
        rows.append(("saved in", str(out)))
    for key, value in rows:
        table.add_row(key, escape(value))
    console.print(table)

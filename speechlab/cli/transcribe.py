"""``speechlab transcribe``: audio files to text, JSON, SRT or VTT."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from speechlab.cli.support import err_console, friendly
from speechlab.errors import SpeechlabError
from speechlab.transcript import Transcript

__all__ = ["OutputFormat", "transcribe_command"]


class OutputFormat(StrEnum):
    txt = "txt"
    json = "json"
    srt = "srt"
    vtt = "vtt"


@friendly
def transcribe_command(
    files: Annotated[list[str], typer.Argument(help="Audio files; '-' reads paths from stdin.")],
    model: Annotated[str, typer.Option(help="Store name, directory or Hub id.")] = "whisper-base",
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.txt,
    out: Annotated[
        Path | None, typer.Option(help="Folder for one output file per input (else stdout).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 8,
    language: Annotated[str | None, typer.Option(help="e.g. pl; Whisper detects if unset.")] = None,
    lm: Annotated[Path | None, typer.Option(help="KenLM .arpa/.bin for CTC beam search.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1, ...")] = "cpu",
    threads: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Transcribe audio files with a wav2vec2 CTC or Whisper model (progress on stderr)."""
    from speechlab.asr import load_asr

    paths = _expand_stdin(files)
    options: dict[str, Any] = {"device": device, "threads": threads, "language": language}
    if lm is not None:
        options["lm"] = lm
    recognizer = load_asr(model, **options)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    transcripts = recognizer.transcribe_iter(paths, batch_size=batch_size, progress=True)
    for path, transcript in zip(paths, transcripts, strict=True):
        text = _render(transcript, format)
        if out is None:
            print(text if format != OutputFormat.txt else f"{path}\t{text}")
            continue
        target = _unique_name(out, Path(path).stem, format.value, names)
        target.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        err_console.print(f"{path} -> {target}", highlight=False, markup=False)


def _expand_stdin(files: list[str]) -> list[str]:
    paths: list[str] = []
    for name in files:
        if name == "-":
            paths += [line.strip() for line in sys.stdin if line.strip()]
        else:
            paths.append(name)
    if not paths:
        raise SpeechlabError("No input files (stdin gave none).")
    return paths


def _render(transcript: Transcript, format: OutputFormat) -> str:
    if format == OutputFormat.json:
        return transcript.to_json()
    if format == OutputFormat.srt:
        return transcript.to_srt()
    if format == OutputFormat.vtt:
        return transcript.to_vtt()
    return transcript.text


def _unique_name(folder: Path, stem: str, suffix: str, taken: set[str]) -> Path:
    name, n = f"{stem}.{suffix}", 1
    while name in taken:
        n += 1
        name = f"{stem}-{n}.{suffix}"
    taken.add(name)
    return folder / name

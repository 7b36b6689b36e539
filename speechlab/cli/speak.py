"""``speechlab say`` and ``speechlab voices``: speech synthesis with Kokoro."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from speechlab.audio import output_format
from speechlab.cli.support import console, err_console, friendly
from speechlab.errors import SpeechlabError
from speechlab.files import decode_text, read_text, writable_file

__all__ = ["say", "voices"]


@friendly
def say(
    text: Annotated[
        str, typer.Argument(help="Text to speak; '-' reads stdin, @FILE reads a file.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="WAV/FLAC/OGG/MP3 path.")] = Path(
        "speech.wav"
    ),
    voice: Annotated[str | None, typer.Option(help="Voice or blend 'a:0.7,b:0.3'.")] = None,
    speed: Annotated[float, typer.Option(min=0.5, max=2.0)] = 1.0,
    lang: Annotated[str, typer.Option(help="Language code, e.g. pl, en-us, cs.")] = "pl",
    model: Annotated[
        str, typer.Option(help="Store name, directory or Hub id.")
    ] = "kokoro-82m-int8",
    batch: Annotated[
        bool, typer.Option(help="One output file per input line: OUTPUT-0001.wav, ...")
    ] = False,
    threads: Annotated[int | None, typer.Option(min=1)] = None,
    backend: Annotated[str, typer.Option(help="onnx, torch or auto.")] = "auto",
    encoding: Annotated[
        str, typer.Option(help="Encoding of @FILE or stdin, e.g. cp1250.")
    ] = "utf-8",
) -> None:
    """Synthesise speech with Kokoro (Polish included)."""
    from speechlab.tts import load_tts

    if text == "-":
        text = decode_text(sys.stdin.buffer.read(), encoding=encoding, what="text on stdin")
    elif text.startswith("@"):
        source = Path(text[1:])
        if not source.is_file():
            raise SpeechlabError(f"Text file not found: {source}.")
        text = read_text(source, encoding=encoding)
    lines = [line for line in text.splitlines() if line.strip()] if batch else [text]
    if not lines:
        raise SpeechlabError("No text to speak (the input is empty).")
    targets = [_numbered(output, i) if batch else output for i in range(1, len(lines) + 1)]
    output_format(output)  # an unknown extension or an unwritable place fails before synthesis
    writable_file(targets[-1], what="audio file")  # the longest name of a batch
    tts = load_tts(model, lang=lang, threads=threads, backend=backend)
    for line, target in zip(lines, targets, strict=True):
        speech = tts.synthesize(line, voice=voice, speed=speed, lang=lang)
        speech.save(target)
        err_console.print(
            f"{target}: {speech.duration:.2f} s, {len(speech.chunks)} chunk(s)",
            highlight=False,
            markup=False,
        )


def _numbered(output: Path, i: int) -> Path:
    return output.with_name(f"{output.stem}-{i:04d}{output.suffix}")


@friendly
def voices(
    model: Annotated[
        str, typer.Option(help="Store name, directory or Hub id.")
    ] = "kokoro-82m-int8",
) -> None:
    """List the voices of a Kokoro model and the languages speechlab can speak."""
    from speechlab.tts import LANGUAGES, load_tts

    tts = load_tts(model)
    console.print("voices: " + ", ".join(tts.voices), highlight=False, markup=False)
    console.print(
        "languages: " + ", ".join(f"{c} ({v.name})" for c, v in LANGUAGES.items()),
        highlight=False,
        markup=False,
    )

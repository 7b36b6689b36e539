"""``speechlab listen``: live recognition of a file (in simulated real time) or a microphone."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.text import Text

from speechlab.cli.support import console, friendly
from speechlab.errors import SpeechlabError

__all__ = ["listen_command"]


@friendly
def listen_command(
    file: Annotated[
        Path | None, typer.Argument(help="Audio file to stream (leave out with --mic).")
    ] = None,
    model: Annotated[str, typer.Option(help="Store name, directory or Hub id.")] = "whisper-base",
    realtime: Annotated[
        bool, typer.Option(help="Feed the file at the pace of real time, as if recorded live.")
    ] = False,
    speed: Annotated[float, typer.Option(min=0.01, help="With --realtime: x real time.")] = 1.0,
    mic: Annotated[bool, typer.Option(help="Listen to a microphone (needs sounddevice).")] = False,
    device: Annotated[
        str | None, typer.Option(help="Input device (number or name) for --mic.")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="With --mic: stop after this long.")
    ] = None,
    language: Annotated[str | None, typer.Option(help="e.g. pl; Whisper detects if unset.")] = None,
    vad: Annotated[bool, typer.Option(help="Skip silence with Silero VAD (endpoints).")] = False,
    block_ms: Annotated[int, typer.Option(min=1, max=10_000, help="Block size pushed.")] = 100,
    threads: Annotated[int | None, typer.Option(min=1)] = None,
) -> None:
    """Print partial results as they change and a line per final result (endpoint).

    On a terminal a live display shows the committed words in bold and the tail that may
    still change dimmed; elsewhere every change is a plain line: ``partial<TAB>END<TAB>
    STABLE<TAB>UNSTABLE`` and ``final<TAB>START<TAB>END<TAB>TEXT``.
    """
    from speechlab.asr import load_asr
    from speechlab.asr.sources import microphone_blocks

    if mic == (file is not None):
        raise SpeechlabError("Give an audio FILE or --mic (one of them).")
    source: Any = file
    live_source = False
    if mic:
        picked: int | str | None = int(device) if device and device.isdigit() else device
        source = microphone_blocks(block_ms / 1000, device=picked, seconds=seconds)
        live_source = True
    recognizer = load_asr(model, threads=threads, language=language)
    events = recognizer.listen(
        source,
        block_seconds=block_ms / 1000,
        realtime=realtime or live_source,
        speed=speed,
        language=language,
        vad=vad,
    )
    if console.is_terminal:
        _show_live(events)
    else:
        _print_lines(events)


def _print_lines(events: Any) -> None:
    from speechlab.asr.streaming import Partial

    shown = None
    for event in events:
        if isinstance(event, Partial):
            key = (event.stable_text, event.unstable_text)
            if key != shown and event.words:
                print(f"partial\t{event.end:.2f}\t{key[0]}\t{key[1]}", flush=True)
                shown = key
        else:
            print(f"final\t{event.start:.2f}\t{event.end:.2f}\t{event.text}", flush=True)
            shown = None


def _show_live(events: Any) -> None:
    from speechlab.asr.streaming import Partial

    with Live(Text(""), console=console, refresh_per_second=20, transient=True) as live:
        for event in events:
            if isinstance(event, Partial):
                line = Text(f"{event.end:7.2f}  ", style="dim")
                line.append(event.stable_text, style="bold")
                if event.stable_text and event.unstable_text:
                    line.append(" ")
                line.append(event.unstable_text, style="dim italic")
                live.update(line)
            else:
                live.console.print(
                    Text(f"{event.start:7.2f}–{event.end:.2f}  ", style="dim") + Text(event.text)
                )
                live.update(Text(""))

"""``speechlab export tts|asr``: a torch Kokoro, or a CTC speech recognizer, to ONNX."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from speechlab.cli.support import console, friendly

__all__ = ["ExportTarget", "export_app", "export_asr", "export_tts"]

export_app = typer.Typer(help="Export models to other runtimes.", no_args_is_help=True)


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


@export_app.command("asr")
@friendly
def export_asr(
    model: Annotated[
        str, typer.Argument(help="CTC model: store name, directory or Hub id (wav2vec2 family).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the exported model.")],
    to: Annotated[ExportTarget, typer.Option("--to", help="Target runtime.")] = ExportTarget.onnx,
    opset: Annotated[int, typer.Option(help="ONNX opset (14-20).")] = 17,
    dtype: Annotated[str, typer.Option(help="float32 or float16.")] = "float32",
) -> None:
    """Export a wav2vec2-family CTC model to an ONNX model folder that load_asr opens."""
    from speechlab.asr.onnx_export import export_ctc_onnx

    folder = export_ctc_onnx(model, out, opset=opset, dtype=dtype)
    size = (folder / "model.onnx").stat().st_size / 1e6
    console.print(
        f"{model} -> {folder} (model.onnx {size:.1f} MB, {dtype}, opset {opset}); open it with "
        f"speechlab.load_asr({str(folder)!r})",
        highlight=False,
        markup=False,
    )

"""``speechlab quantize``: a CTC model to a quantized model folder that load_asr opens."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated, Any

import typer

from speechlab.cli.support import console, err_console, friendly
from speechlab.quantization.errors import QuantizationError
from speechlab.quantization.methods import METHODS

__all__ = ["parse_options", "quantize_command"]


@friendly
def quantize_command(
    model: Annotated[
        str, typer.Argument(help="CTC model: store name, directory or Hub id (wav2vec2 family).")
    ],
    method: Annotated[str, typer.Option("--method", "-m", help=f"One of: {', '.join(METHODS)}.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New folder for the quantized model.")],
    calibration: Annotated[
        str | None,
        typer.Option(help="Calibration audio (onnx-int8-static): a .tsv/.csv manifest or folder."),
    ] = None,
    train: Annotated[
        str | None,
        typer.Option(
            help="Training audio with transcripts (qat-int8, qat-int4): a .tsv/.csv manifest "
            "or a folder of audio + .txt."
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            help="A method option as KEY=VALUE (JSON values: 'calibrate_method=entropy', "
            "'per_channel=false', 'skip=[\"lm_head\"]'); repeat for several.",
        ),
    ] = None,
) -> None:
    """Quantize a wav2vec2-family CTC model (fp16, bf16, int8, int4; torch or ONNX Runtime)."""
    from speechlab.quantization import quantize

    options = parse_options(option or [])
    if train is not None:
        options["train"] = train
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        folder = quantize(model, method, out, calibration, **options)
    for warning in caught:
        if issubclass(warning.category, RuntimeWarning) and "bf16" in str(warning.message):
            err_console.print(f"warning: {warning.message}", highlight=False, markup=False)
    info = json.loads((folder / "speechlab-model.json").read_text(encoding="utf-8"))
    size = sum(entry["size"] for entry in info["files"].values()) / 1e6
    console.print(
        f"{model} -> {folder} ({method}, {size:.1f} MB); open it with "
        f"speechlab.load_asr({str(folder)!r}); check it with `speechlab models verify {folder}`",
        highlight=False,
        markup=False,
    )


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """``["k=v", ...]`` to a dict, each value read as JSON when it parses, else as text."""
    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise QuantizationError(
                f"--option {pair!r} is not KEY=VALUE; e.g. --option calibrate_method=entropy."
            )
        try:
            options[key.strip()] = json.loads(text)
        except ValueError:
            options[key.strip()] = text
    return options

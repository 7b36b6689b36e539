"""The ONNX Runtime methods: dynamic int8, static int8 (QDQ, calibrated), int4 weight-only.

Each exports the source with :func:`speechlab.asr.onnx_export.export_ctc_onnx` (float32,
opset 17) into a scratch folder, quantizes its ``model.onnx`` into the work folder and
returns notes for the manifest; ``load_asr`` opens the result on ONNX Runtime.
Only ``MatMul`` weights are quantized by default: measured on the xlsr-53 config,
quantizing the convolutions too (ConvInteger) was slower than float32.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from speechlab.quantization.calibration import Calibration
from speechlab.quantization.errors import QuantizationError

__all__ = ["CALIBRATE_METHODS", "int4", "int8_dynamic", "int8_static"]

log = logging.getLogger(__name__)
_MODEL = "model.onnx"  # the file name load_asr's ONNX runtime looks for first
#: ``calibrate_method`` values of ``onnx-int8-static``, by ONNX Runtime's names.
CALIBRATE_METHODS = {"minmax": "MinMax", "percentile": "Percentile", "entropy": "Entropy"}
_WINDOW_S = 4.0  # seconds per calibration window


def int8_dynamic(
    source: Path,
    work: Path,
    calibration: Calibration | None,
    *,
    progress: bool,
    per_channel: bool,
    op_types: Any,
) -> dict:
    """Weights int8 (symmetric), activations quantized per call by ONNX Runtime."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _exported(source, work, progress) as graph:
        quantize_dynamic(
            graph,
            work / _MODEL,
            op_types_to_quantize=list(op_types),
            per_channel=per_channel,
            weight_type=QuantType.QInt8,
        )
    return {}


def int8_static(
    source: Path,
    work: Path,
    calibration: Calibration | None,
    *,
    progress: bool,
    calibrate_method: str,
    percentile: float,
    per_channel: bool,
    op_types: Any,
) -> dict:
    """Weights and activations int8 in QDQ format; activation ranges from ``calibration``
    (``calibrate_method``: ``"minmax"``, ``"percentile"`` or ``"entropy"``)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if calibrate_method not in CALIBRATE_METHODS:
        raise QuantizationError(
            f"calibrate_method {calibrate_method!r} is not one of {', '.join(CALIBRATE_METHODS)}."
        )
    if not 90.0 <= percentile < 100.0:
        raise QuantizationError(f"percentile must be in [90, 100), got {percentile!r}.")
    assert calibration is not None  # quantize() reads it for calibrated methods
    extra: dict[str, Any] = {}
    if calibrate_method == "percentile":
        extra["CalibPercentile"] = percentile
    with _exported(source, work, progress) as graph:
        reader = _CalibrationReader(calibration, work, graph, progress)
        quantize_static(
            graph,
            work / _MODEL,
            reader,
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=list(op_types),
            per_channel=per_channel,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=getattr(CalibrationMethod, CALIBRATE_METHODS[calibrate_method]),
            extra_options=extra,
        )
    for scratch in work.glob("augmented_model*.onnx"):  # ONNX Runtime's calibration copy
        scratch.unlink()
    return {}


def int4(
    source: Path,
    work: Path,
    calibration: Calibration | None,
    *,
    progress: bool,
    block_size: int,
    symmetric: bool,
    accuracy_level: int | None,
) -> dict:
    """``MatMul`` weights as 4-bit blocks (``MatMulNBits``); ``accuracy_level`` 4 computes
    with int8 activations (fastest on CPUs), 0 in float32."""
    import onnx

    MatMulNBitsQuantizer = _nbits_quantizer()
    if block_size not in (16, 32, 64, 128, 256):
        raise QuantizationError(f"block_size must be 16, 32, 64, 128 or 256, got {block_size!r}.")
    with _exported(source, work, progress) as graph:
        quantizer = MatMulNBitsQuantizer(
            onnx.load(str(graph)),
            bits=4,
            block_size=block_size,
            is_symmetric=symmetric,
            accuracy_level=accuracy_level,
            op_types_to_quantize=("MatMul",),
        )
        quantizer.process()
        quantizer.model.save_model_to_file(str(work / _MODEL), False)
    nodes = sum(n.op_type == "MatMulNBits" for n in onnx.load(str(work / _MODEL)).graph.node)
    if nodes == 0:
        raise QuantizationError(
            "ONNX Runtime's int4 quantizer found no MatMul weights to quantize in this graph; "
            "use onnx-int8-dynamic instead."
        )
    return {"matmulnbits_nodes": nodes}


def _nbits_quantizer() -> Any:
    """ONNX Runtime's ``MatMulNBitsQuantizer``, imported without the side effects of its
    module: it calls ``logging.basicConfig(level=INFO)`` on import (the root logger of the
    whole process) and logs every node it visits at INFO."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    return MatMulNBitsQuantizer


@contextmanager
def _exported(source: Path, work: Path, progress: bool) -> Iterator[Path]:
    """The source exported to float32 ONNX in a scratch folder inside ``work`` (removed
    afterwards); its ``config.json`` (dtype float32) replaces the copied one."""
    from speechlab.asr.onnx_export import export_ctc_onnx

    scratch = work / ".export"
    try:
        folder = export_ctc_onnx(source, scratch, progress=progress)
        shutil.copy2(folder / "config.json", work / "config.json")
        yield folder / _MODEL
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class _CalibrationReader:
    """ONNX Runtime's CalibrationDataReader over the calibration audio, normalised and masked
    as the recognizer feeds the graph. The normalised utterances are joined and cut into
    windows of equal length (``_WINDOW_S``): ONNX Runtime's histogram calibrators (percentile,
    entropy) stack what they collect, which needs one shape."""

    def __init__(self, calibration: Calibration, work: Path, graph: Path, progress: bool) -> None:
        import onnxruntime as ort
        from tqdm.auto import tqdm

        from speechlab.store.model_folders import read_json

        features = read_json(work / "preprocessor_config.json")
        normalize = bool(features.get("do_normalize", True))
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        self.uses_mask = "attention_mask" in {i.name for i in session.get_inputs()}
        waves = [
            (w - w.mean()) / np.sqrt(w.var() + 1e-7) if normalize else w for w in calibration.waves
        ]
        stream = np.concatenate(waves).astype(np.float32)
        size = min(stream.size, int(_WINDOW_S * calibration.sample_rate))
        self.windows = [stream[i : i + size] for i in range(0, stream.size - size + 1, size)]
        self.position = 0
        self.bar = tqdm(total=len(self.windows), desc="calibrating", unit="window")
        self.bar.disable = not progress

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= len(self.windows):
            self.bar.close()
            return None
        window = self.windows[self.position]
        self.position += 1
        self.bar.update(1)
        feed = {"input_values": window[None, :]}
        if self.uses_mask:
            feed["attention_mask"] = np.ones((1, window.size), dtype=np.int64)
        return feed

    def rewind(self) -> None:
        """Start again from the first window (part of ONNX Runtime's reader protocol)."""
        self.position = 0

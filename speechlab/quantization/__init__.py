"""Quantization of CTC speech recognizers: smaller, faster folders that ``load_asr`` opens.

```python
import speechlab

out = speechlab.quantize("speechlab-pl-ctc-small", "torch-int8-dynamic", "pl-int8")
asr = speechlab.load_asr(out)
```

* :mod:`~speechlab.quantization.quantizing` — :func:`quantize` (atomic folder, manifest);
* :mod:`~speechlab.quantization.methods` — :data:`METHODS`, what each takes;
* :mod:`~speechlab.quantization.torch_methods`, :mod:`~speechlab.quantization.onnx_methods` — the
  writers; :mod:`~speechlab.quantization.calibration` — calibration audio;
* :mod:`~speechlab.quantization.qat_method` — ``qat-int8``/``qat-int4``: quantization-aware
  fine-tuning (:mod:`speechlab.train.qat`), then the matching post-training method;
* :mod:`~speechlab.quantization.comparing` — :func:`compare_variants`: size, speed and error
  of variants side by side.
"""

from __future__ import annotations

from speechlab.quantization.comparing import compare_variants, measure_variant
from speechlab.quantization.errors import AlreadyQuantizedError, QuantizationError
from speechlab.quantization.methods import METHODS, Method
from speechlab.quantization.quantizing import quantize

__all__ = [
    "METHODS",
    "AlreadyQuantizedError",
    "Method",
    "QuantizationError",
    "compare_variants",
    "measure_variant",
    "quantize",
]

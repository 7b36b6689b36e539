"""Quantization of CTC speech recognizers: smaller, faster folders that ``load_asr`` opens.

```python
import speechlab

out = speechlab.quantize("speechlab-pl-ctc-small", "torch-int8-dynamic", "pl-int8")
asr = speechlab.load_asr(out)
```

* :mod:`~speechlab.quantization.quantizing` — :func:`quantize` (atomic folder, manifest);
* :mod:`~speechlab.quantization.methods` — :data:`METHODS`, what each takes;
* :mod:`~speechlab.quantization.torch_methods`, :mod:`~speechlab.quantization.onnx_methods` — the
  writers; :mod:`~speechlab.quantization.calibration` — calibration audio.
"""

from __future__ import annotations

from speechlab.quantization.errors import AlreadyQuantizedError, QuantizationError
from speechlab.quantization.methods import METHODS, Method
from speechlab.quantization.quantizing import quantize

__all__ = ["METHODS", "AlreadyQuantizedError", "Method", "QuantizationError", "quantize"]

"""The errors of ``speechlab.quantize``: each names what to do instead."""

from __future__ import annotations

from speechlab.errors import SpeechlabError

__all__ = ["AlreadyQuantizedError", "QuantizationError"]


class QuantizationError(SpeechlabError, ValueError):
    """A quantization that cannot be done as asked: an unknown method, an option the method
    does not take, calibration data missing or unusable. The message names the alternatives."""


class AlreadyQuantizedError(QuantizationError):
    """The model given is itself the output of ``speechlab.quantize``; the message names the
    model it was made from, which is what to quantize instead."""

"""Which post-training methods quantization-aware training can target (no torch import)."""

from __future__ import annotations

from speechlab.train.errors import ConfigError

__all__ = ["QAT_METHODS", "check_qat"]

#: The methods ``qat:`` accepts: each is a ``speechlab.quantize`` method whose rounding
#: :mod:`speechlab.train.qat` copies during training.
QAT_METHODS = ("torch-int8-dynamic", "onnx-int8-dynamic", "onnx-int4")


def check_qat(method: str, strategy: str) -> None:
    """A :class:`ConfigError` naming the choices for a ``qat`` value training cannot do."""
    if method not in QAT_METHODS:
        raise ConfigError(
            f"Unknown qat method {method!r}; quantization-aware training targets one of "
            f"{', '.join(QAT_METHODS)} (the post-training method that writes the model)."
        )
    if strategy == "adapter":
        raise ConfigError(
            "qat needs the weights it rounds to be the ones trained: use strategy encoder, "
            "full or head (LoRA adapters are merged after training, off the rounding grid)."
        )

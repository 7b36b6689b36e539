"""Inference runtimes for wav2vec2 CTC checkpoints: speechlab's own, or transformers'.

``SpeechlabCTC`` runs ``Wav2Vec2ForCTC`` checkpoints (the seed model's family) for inference
with the same weights and arithmetic as transformers, organised for speed and memory:

* the conv feature encoder runs frames-major, ``(batch, frames, channels)``, each layer one
  im2col GEMM whose rows layer norm and GELU then use in place; transformers runs it
  channels-first and transposes around every layer norm (1.8x faster for that encoder);
* it never imports transformers' modeling code (about 130 MB of resident memory);
* for ``feat_extract_norm="layer"`` models the feature encoder runs in slices of time
  (see :mod:`speechlab.asr.feature_chunks`).

Same results up to float rounding: tested against transformers on tiny random models of every
variant it accepts and on the real ``speechlab-pl-ctc-small``. Checkpoints it does not cover
(other model types, adapters, sharded weights) load through ``TransformersCTC``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechlab.asr.feature_chunks import (
    DEFAULT_CHUNK_FRAMES,
    chunk_feature_encoder,
    receptive_field,
    run_in_slices,
)
from speechlab.errors import ModelNotFoundError
from speechlab.store.model_folders import check_safetensors, load_tensors, pickled_code_refused
from speechlab.store.written_folders import find_weights

if TYPE_CHECKING:
    from speechlab.asr.ctc_onnx import OnnxCTC

__all__ = [
    "RUNTIMES",
    "SpeechlabCTC",
    "TransformersCTC",
    "conv_output_frames",
    "load_ctc_model",
    "unsupported",
]

RUNTIMES = ("auto", "speechlab", "transformers", "onnx")
_CONV_NORM_EPS = 1e-5  # transformers' conv-layer LayerNorm/GroupNorm use the torch default


class _Unsupported(Exception):
    """This checkpoint needs transformers' runtime (the message says why)."""


def unsupported(config: Any, model_dir: Path) -> str | None:
    """Why ``SpeechlabCTC`` cannot run this checkpoint, or None when it can."""
    reasons = {
        f"model type {config.model_type!r} is not 'wav2vec2'": config.model_type != "wav2vec2",
        f"architectures {config.architectures} are not Wav2Vec2ForCTC": (
            list(config.architectures or ["Wav2Vec2ForCTC"]) != ["Wav2Vec2ForCTC"]
        ),
        "it has adapter layers": bool(
            getattr(config, "add_adapter", False) or getattr(config, "adapter_attn_dim", None)
        ),
        "its activations are not GELU": (config.hidden_act, config.feat_extract_activation)
        != ("gelu", "gelu"),
        f"feat_extract_norm {config.feat_extract_norm!r}": config.feat_extract_norm
        not in ("layer", "group"),
        "its weights are not one model.safetensors or pytorch_model.bin": find_weights(model_dir)
        is None,
    }
    found = [reason for reason, applies in reasons.items() if applies]
    return "; ".join(found) or None


def load_ctc_model(
    model_dir: Path,
    config: Any,
    *,
    runtime: str = "auto",
    dtype: Any = None,
    device: Any = "cpu",
    feature_chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    threads: int | None = None,
) -> SpeechlabCTC | TransformersCTC | OnnxCTC:
    """Open a CTC checkpoint with ``runtime`` (``"auto"``: speechlab's where it applies; an
    int8 folder written by ``speechlab.quantize`` runs on torch's quantized kernels, a folder
    holding an ``.onnx`` export on ONNX Runtime; ``threads`` sizes ONNX Runtime's pool)."""
    if runtime not in RUNTIMES:
        raise ModelNotFoundError(f"runtime must be one of {RUNTIMES}, got {runtime!r}.")
    from speechlab.asr.ctc_quantized import Int8DynamicCTC, quantization_recipe

    recipe = quantization_recipe(model_dir)  # a folder written by speechlab.quantize
    if recipe is not None and recipe.get("method") == "torch-int8-dynamic":
        return Int8DynamicCTC(model_dir, config, recipe, device, feature_chunk_frames)
    if dtype is None and recipe is None:
        dtype = default_dtype(config, device)
    from speechlab.asr.ctc_onnx import OnnxCTC, onnx_model_file

    exported = onnx_model_file(model_dir)  # an ONNX export runs on ONNX Runtime by default
    if runtime == "onnx" or (runtime == "auto" and exported is not None):
        return OnnxCTC(model_dir, config, dtype=dtype, device=device, threads=threads)
    if exported is not None and find_weights(model_dir) is None:
        raise ModelNotFoundError(
            f"{model_dir} holds an ONNX export ({exported.name}) and no torch weights; open it "
            "with runtime='onnx' (or 'auto')."
        )
    if runtime != "transformers":
        reason = unsupported(config, model_dir)
        if reason is None:
            try:
                return SpeechlabCTC(model_dir, config, dtype, device, feature_chunk_frames)
            except _Unsupported as exc:
                reason = str(exc)
        if runtime == "speechlab":
            raise ModelNotFoundError(
                f"speechlab's CTC runtime cannot run {model_dir}: {reason}. "
                "Use runtime='transformers' (or 'auto')."
            )
    return TransformersCTC(model_dir, config, dtype, device, feature_chunk_frames)


def default_dtype(config: Any, device: Any) -> Any:
    """The compute dtype when none is asked for: on a CPU float32, even for a checkpoint
    stored in float16 or bfloat16 (the weights widen exactly, and CPU half-precision compute
    is slow: ``speechlab-pl-ctc-small``, stored in fp16, transcribed 8x faster in fp32 here);
    elsewhere the dtype the checkpoint was saved in, as transformers does (None)."""
    import torch

    if torch.device(str(device)).type == "cpu":
        return torch.float32
    return None


def conv_output_frames(config: Any, samples: Any) -> Any:
    """Frames a wav2vec2-family conv feature encoder outputs for ``samples`` input samples
    (a tensor, an array or an int)."""
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        samples = (samples - kernel) // stride + 1
    return samples


class TransformersCTC:
    """Any ``*ForCTC`` checkpoint through transformers' ``AutoModelForCTC``."""

    name = "transformers"

    def __init__(
        self, model_dir: Path, config: Any, dtype: Any, device: Any, feature_chunk_frames: int
    ) -> None:
        from transformers import AutoModelForCTC

        try:
            with pickled_code_refused(find_weights(model_dir) or model_dir):
                self.module = AutoModelForCTC.from_pretrained(
                    model_dir, dtype=dtype, trust_remote_code=False
                )
        except ValueError as exc:
            raise ModelNotFoundError(
                f"{model_dir} ({config.model_type}) cannot be loaded as a CTC model: {exc}"
            ) from exc
        self.module.eval().to(device)
        self.config = self.module.config
        self.dtype = self.module.dtype
        self.chunked_features = chunk_feature_encoder(self.module, feature_chunk_frames)

    def __call__(self, inputs: Any, attention_mask: Any = None) -> Any:
        kwargs = {} if attention_mask is None else {"attention_mask": attention_mask}
        return self.module(inputs, **kwargs).logits

    def output_frames(self, samples: Any) -> Any:
        return self.module._get_feat_extract_output_lengths(samples)

    def weight(self, name: str) -> Any:
        """Parameter ``name`` of the model (KeyError: it has none by that name)."""
        try:
            return self.module.get_parameter(name).data
        except AttributeError:
            raise KeyError(name) from None

    def set_weight(self, name: str, tensor: Any) -> None:
        """Replace parameter ``name`` (adapters: :mod:`speechlab.asr.adapters`)."""
        import torch

        module_name, _, part = name.rpartition(".")
        module = self.module.get_submodule(module_name)
        setattr(module, part, torch.nn.Parameter(tensor, requires_grad=False))
        if isinstance(module, torch.nn.Linear) and part == "weight":
            module.out_features = tensor.shape[0]

    def parameters(self) -> list[Any]:
        return list(self.module.parameters())

    #: transformers' modules are run whole: live recognition recomputes each window
    cacheable_features = False


class SpeechlabCTC:
    """``Wav2Vec2ForCTC`` inference on plain tensors (see the module docstring)."""

    name = "speechlab"

    def __init__(
        self, model_dir: Path, config: Any, dtype: Any, device: Any, feature_chunk_frames: int
    ) -> None:
        import torch

        self.config = config
        if dtype is None:  # like transformers: the dtype the checkpoint was saved in
            dtype = getattr(config, "dtype", None) or torch.float32
        self.dtype = dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype))
        weights = _read_weights(find_weights(model_dir))
        take = _Taker(weights, self.dtype, device)
        self.convs = []
        for i, (kernel, stride) in enumerate(
            zip(config.conv_kernel, config.conv_stride, strict=True)
        ):
            w = take(f"wav2vec2.feature_extractor.conv_layers.{i}.conv.weight")
            bias = take(f"wav2vec2.feature_extractor.conv_layers.{i}.conv.bias", config.conv_bias)
            norm_name = f"wav2vec2.feature_extractor.conv_layers.{i}.layer_norm"
            has_norm = config.feat_extract_norm == "layer" or i == 0
            norm = (take(norm_name + ".weight"), take(norm_name + ".bias")) if has_norm else None
            # [out, in, k] -> [out, k*in], matching im2col rows (k frames of `in` channels)
            w = w.permute(0, 2, 1).reshape(w.shape[0], -1)
            self.convs.append((w, bias, norm, kernel, stride))
        self.frames_major_norm = config.feat_extract_norm == "layer"
        self.projection_norm = _pair(take, "wav2vec2.feature_projection.layer_norm")
        self.projection = list(_pair(take, "wav2vec2.feature_projection.projection"))
        self.pos_conv = (_pos_conv_weight(take), take("wav2vec2.encoder.pos_conv_embed.conv.bias"))
        self.encoder_norm = _pair(take, "wav2vec2.encoder.layer_norm")
        self.layers = [_layer(take, i) for i in range(config.num_hidden_layers)]
        self.lm_head = list(_pair(take, "lm_head"))
        self.stable = bool(config.do_stable_layer_norm)
        self.heads = config.num_attention_heads
        self.eps = config.layer_norm_eps
        self.field, self.hop = receptive_field(list(config.conv_kernel), list(config.conv_stride))
        self.slice_frames = feature_chunk_frames if self.frames_major_norm else 0
        self.chunked_features = self.slice_frames > 0

    # --------------------------------------------------------------- public

    def __call__(self, inputs: Any, attention_mask: Any = None) -> Any:
        """Logits ``(batch, frames, vocab)`` for ``inputs`` ``(batch, samples)``."""
        lengths = None if attention_mask is None else self.output_frames(attention_mask.sum(-1))
        return self.from_features(self.features(inputs), lengths)

    @property
    def cacheable_features(self) -> bool:
        """Whether each feature-encoder frame depends only on its own receptive field
        (per-frame layer norms), so frames computed once can be kept and reused (live
        recognition does); group norm over time makes every frame depend on the whole input."""
        return self.frames_major_norm

    def from_features(self, h: Any, lengths: Any = None) -> Any:
        """Logits for feature-encoder frames ``h`` ``(batch, frames, channels)``; ``lengths``:
        valid frames per row (None: all)."""
        import torch
        import torch.nn.functional as F

        h = F.layer_norm(h, h.shape[-1:], *self.projection_norm, self.eps)
        h = F.linear(h, *self.projection)
        mask = None
        if lengths is not None:
            mask = torch.arange(h.shape[1], device=h.device) < lengths[:, None]
            h = h.masked_fill(~mask[..., None], 0.0)
            mask = mask[:, None, None, :]
        h = h + self._position(h)
        if not self.stable:
            h = F.layer_norm(h, h.shape[-1:], *self.encoder_norm, self.eps)
        for layer in self.layers:
            h = self._layer(h, layer, mask)
        if self.stable:
            h = F.layer_norm(h, h.shape[-1:], *self.encoder_norm, self.eps)
        return F.linear(h, *self.lm_head)

    def output_frames(self, samples: Any) -> Any:
        """Frames the model outputs for ``samples`` input samples (a tensor or int)."""
        return conv_output_frames(self.config, samples)

    def parameters(self) -> list[Any]:
        tensors = [t for conv in self.convs for t in (conv[0], conv[1], *(conv[2] or ()))]
        tensors += [*self.projection_norm, *self.projection, *self.pos_conv]
        tensors += [*self.encoder_norm, *self.lm_head]
        tensors += [t for layer in self.layers for t in layer.values()]
        return [t for t in tensors if t is not None]

    def weight(self, name: str) -> Any:
        """The linear-layer tensor transformers calls ``name`` (KeyError: not one of them)."""
        holder, key = self._slot(name)
        return holder[key]

    def set_weight(self, name: str, tensor: Any) -> None:
        """Replace tensor ``name`` (adapters: :mod:`speechlab.asr.adapters`)."""
        holder, key = self._slot(name)
        holder[key] = tensor

    def _slot(self, name: str) -> tuple[Any, Any]:
        """Where the runtime keeps the tensor transformers calls ``name``: the transformer
        layers' linear layers, the feature projection and the CTC head."""
        kind = {"weight": 0, "bias": 1}
        module, _, part = name.rpartition(".")
        if part in kind and module in ("lm_head", "wav2vec2.feature_projection.projection"):
            return (self.lm_head if module == "lm_head" else self.projection), kind[part]
        match = re.fullmatch(r"wav2vec2\.encoder\.layers\.(\d+)\.(.+)\.(weight|bias)", name)
        if match and int(match[1]) < len(self.layers) and match[2] in _LINEARS:
            return self.layers[int(match[1])], _LINEARS[match[2]] + (
                "_w" if match[3] == "weight" else "_b"
            )
        raise KeyError(name)

    def features(self, inputs: Any) -> Any:
        """The conv feature encoder, ``(batch, samples) -> (batch, frames, channels)``."""
        if not self.slice_frames:
            return self._features(inputs)
        return run_in_slices(self._features, inputs, self.slice_frames, self.field, self.hop, dim=1)

    # --------------------------------------------------------------- pieces

    def _features(self, inputs: Any) -> Any:
        import torch.nn.functional as F

        h = inputs.unsqueeze(-1)  # (batch, samples, 1): frames-major from the start
        for weight, bias, norm, kernel, stride in self.convs:
            batch, frames, channels = h.shape
            out = (frames - kernel) // stride + 1
            # im2col as a view: row t holds frames t*stride .. t*stride+kernel-1, valid because
            # each frame's channels sit side by side (a GEMM output row, or one sample)
            windows = h.as_strided(
                (batch, out, kernel * channels), (h.stride(0), stride * channels, 1)
            )
            h = F.linear(windows, weight, bias)
            if norm is not None and self.frames_major_norm:
                h = F.layer_norm(h, h.shape[-1:], *norm, _CONV_NORM_EPS)
            elif norm is not None:  # group norm, one group per channel: over time
                mean = h.mean(1, keepdim=True)
                var = h.var(1, unbiased=False, keepdim=True)
                h = (h - mean) * (var + _CONV_NORM_EPS).rsqrt() * norm[0] + norm[1]
            h = F.gelu(h)
        return h

    def _position(self, h: Any) -> Any:
        import torch.nn.functional as F

        weight, bias = self.pos_conv
        kernel = weight.shape[-1]
        groups = self.config.num_conv_pos_embedding_groups
        pos = F.conv1d(h.transpose(1, 2), weight, bias, padding=kernel // 2, groups=groups)
        if kernel % 2 == 0:
            pos = pos[..., :-1]
        return F.gelu(pos).transpose(1, 2)

    def _layer(self, h: Any, p: dict[str, Any], mask: Any) -> Any:
        import torch.nn.functional as F

        shape = h.shape[-1:]
        if self.stable:
            h = h + self._attention(F.layer_norm(h, shape, p["ln_w"], p["ln_b"], self.eps), p, mask)
            ff = F.layer_norm(h, shape, p["fln_w"], p["fln_b"], self.eps)
            return h.add_(self._feed_forward(ff, p))
        h = F.layer_norm(h + self._attention(h, p, mask), shape, p["ln_w"], p["ln_b"], self.eps)
        h = h + self._feed_forward(h, p)
        return F.layer_norm(h, shape, p["fln_w"], p["fln_b"], self.eps)

    def _attention(self, h: Any, p: dict[str, Any], mask: Any) -> Any:
        import torch.nn.functional as F

        batch, frames, width = h.shape
        q, k, v = (
            F.linear(h, p[n + "_w"], p[n + "_b"])
            .view(batch, frames, self.heads, width // self.heads)
            .transpose(1, 2)
            for n in "qkv"
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return F.linear(out.transpose(1, 2).reshape(batch, frames, width), p["o_w"], p["o_b"])

    def _feed_forward(self, h: Any, p: dict[str, Any]) -> Any:
        import torch.nn.functional as F

        return F.linear(F.gelu(F.linear(h, p["in_w"], p["in_b"])), p["out_w"], p["out_b"])


# ------------------------------------------------------------------- loading


def _read_weights(path: Path | None) -> Any:
    """Tensors by name, read one at a time (each its own memory, freed once converted); a
    damaged file is a ModelFileError, pickled code an UnsafeModelError."""
    if path is None:
        raise _Unsupported("no single weights file")
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        check_safetensors(path)
        return _SafetensorsReader(safe_open(path, framework="pt"))
    # zip-format files (torch >= 1.6) map their pages lazily; older ones are read whole
    return load_tensors(path)


class _SafetensorsReader:
    """The dict operations ``_Taker`` needs, over an open safetensors file."""

    def __init__(self, handle: Any) -> None:
        self.handle, self.names = handle, set(handle.keys())

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def pop(self, name: str) -> Any:
        self.names.remove(name)
        return self.handle.get_tensor(name)


class _Taker:
    """Pops named tensors from a checkpoint, converted to the target dtype and device."""

    def __init__(self, weights: Any, dtype: Any, device: Any) -> None:
        self.weights, self.dtype, self.device = weights, dtype, device

    def __call__(self, name: str, present: bool = True) -> Any:
        if not present:
            return None
        if name not in self.weights:
            raise _Unsupported(f"its weights have no {name!r}")
        return self.weights.pop(name).to(self.device, self.dtype)


def _pair(take: _Taker, name: str) -> tuple[Any, Any]:
    return take(name + ".weight"), take(name + ".bias")


def _pos_conv_weight(take: _Taker) -> Any:
    """The positional conv's weight from its weight-norm parts (norm over all dims but 2)."""
    base = "wav2vec2.encoder.pos_conv_embed.conv."
    names = [("parametrizations.weight.original0", "parametrizations.weight.original1")]
    names.append(("weight_g", "weight_v"))
    for g_name, v_name in names:
        if base + g_name in take.weights:
            g, v = take(base + g_name).float(), take(base + v_name).float()
            return (g * v / v.norm(dim=(0, 1), keepdim=True)).to(take.dtype)
    return take(base + "weight")


#: a transformer layer's linear layers: transformers' module name -> the runtime's key
_LINEARS = {
    "attention.q_proj": "q",
    "attention.k_proj": "k",
    "attention.v_proj": "v",
    "attention.out_proj": "o",
    "feed_forward.intermediate_dense": "in",
    "feed_forward.output_dense": "out",
}


def _layer(take: _Taker, i: int) -> dict[str, Any]:
    """One transformer layer's weights, as stored (no copies: file pages stay shared)."""
    base = f"wav2vec2.encoder.layers.{i}."
    layer = {}
    names = {key: name for name, key in _LINEARS.items()} | {
        "ln": "layer_norm",
        "fln": "final_layer_norm",
    }
    for key, name in names.items():
        layer[key + "_w"], layer[key + "_b"] = _pair(take, base + name)
    return layer

"""wav2vec2-family CTC recognizer (transformers ``AutoModelForCTC``).

* Batches are length-sorted with padding and attention masks, and a batch closes when
  padding would exceed ``max_padding`` of its samples; results come back in input order.
* Inputs up to ``whole_length_s`` (default 1.5 × ``chunk_length_s`` = 30 s) are decoded
  in one piece. Longer ones are read in blocks and cut into ``chunk_length_s`` windows
  with ``stride_length_s`` of context on each side; the context frames are dropped and
  the kept frames stitched, then the whole sequence is decoded once (greedy or LM).
  The last window keeps everything to the end of the audio, so nothing is lost.
* Times come from CTC frame indices (``inputs_to_logits_ratio`` samples per frame:
  320 at 16 kHz = 20 ms for wav2vec2).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from speechlab import audio as audio_io
from speechlab.asr.adapters import AdapterError, AdapterSet, read_adapter
from speechlab.asr.base import Recognizer, TranscribeOptions
from speechlab.asr.ctc_checkpoint import ctc_config
from speechlab.asr.ctc_decode import BeamDecoder, CTCVocab, greedy_decode, load_beam_decoder
from speechlab.asr.ctc_runtime import load_ctc_model
from speechlab.asr.feature_chunks import DEFAULT_CHUNK_FRAMES
from speechlab.asr.inputs import AudioItem
from speechlab.devices import check_gpus, check_threads, parse_device
from speechlab.errors import ModelNotFoundError, SpeechlabError
from speechlab.store.model_folders import read_json
from speechlab.transcript import Transcript

__all__ = ["Wav2Vec2Recognizer", "iter_windows", "plan_batches"]

_GROUP = 8  # items gathered per batch_size before length-sorting (bucketing)


class Wav2Vec2Recognizer(Recognizer):
    """CTC speech recognition with any wav2vec2-family checkpoint (local dir or Hub)."""

    name = "wav2vec2"

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        dtype: str | None = None,
        threads: int | None = None,
        language: str | None = None,
        lm: str | Path | None = None,
        decoder: str = "auto",
        alpha: float | None = None,
        beta: float | None = None,
        beam_width: int = 100,
        hotwords: Sequence[str] | None = None,
        hotword_weight: float = 10.0,
        chunk_length_s: float = 20.0,
        stride_length_s: float = 2.0,
        whole_length_s: float | None = None,
        max_padding: float = 0.15,
        max_batch_seconds: float | None = None,
        feature_chunk_frames: int = DEFAULT_CHUNK_FRAMES,
        runtime: str = "auto",
    ) -> None:
        import torch
        from transformers import Wav2Vec2CTCTokenizer

        self.model_dir = Path(model_dir)
        self.threads = check_threads(threads)
        checked = parse_device(device)
        check_gpus(checked, torch.cuda.device_count(), f"torch {torch.__version__}")
        if not 0.0 <= max_padding < 1.0:
            raise SpeechlabError(f"max_padding must be in [0, 1), got {max_padding!r}.")
        self.max_padding = max_padding
        if max_batch_seconds is None:  # CPU: one 20 s window at a time keeps memory bounded
            max_batch_seconds = 240.0 if checked.is_cuda else 20.0
        if not max_batch_seconds > 0:
            raise SpeechlabError(f"max_batch_seconds must be > 0, got {max_batch_seconds!r}.")
        self.language = language
        self.device = torch.device(str(checked))
        config = ctc_config(self.model_dir)
        # speechlab's own inference runtime where it covers the checkpoint, else transformers';
        # ONNX Runtime for a folder holding an .onnx export
        self.model = load_ctc_model(
            self.model_dir,
            config,
            runtime=runtime,
            dtype=_torch_dtype(dtype),
            device=self.device,
            feature_chunk_frames=feature_chunk_frames,
            threads=self.threads,
        )
        try:
            tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(
                self.model_dir, trust_remote_code=False
            )
        except (OSError, TypeError, ValueError) as exc:
            raise ModelNotFoundError(
                f"{self.model_dir} has no usable CTC tokenizer (vocab.json): {exc}"
            ) from exc
        self.vocab = CTCVocab.from_tokenizer(tokenizer)
        if len(self.vocab.labels) != config.vocab_size:
            raise ModelNotFoundError(
                f"The tokenizer has {len(self.vocab.labels)} labels but the model outputs "
                f"{config.vocab_size}: vocab.json does not belong to this model."
            )
        fe = _feature_extractor_config(self.model_dir)
        self.sample_rate = int(fe.get("sampling_rate", 16_000))
        self.normalize = bool(fe.get("do_normalize", True))
        self.use_attention_mask = bool(
            fe.get("return_attention_mask", config.feat_extract_norm == "layer")
        )
        self.samples_per_frame = int(np.prod(config.conv_stride))
        self.frame_seconds = self.samples_per_frame / self.sample_rate
        self.chunk_samples, self.stride_samples = _chunking(
            chunk_length_s, stride_length_s, self.sample_rate, self.samples_per_frame
        )
        if whole_length_s is None:  # 20 s windows: clips up to 30 s (Whisper's window) whole
            whole_length_s = 1.5 * chunk_length_s
        if not isinstance(whole_length_s, int | float) or whole_length_s < 0:
            raise SpeechlabError(f"whole_length_s must be seconds >= 0, got {whole_length_s!r}.")
        # decoding a clip whole avoids the windows' overlap (measured: 8 % more FLOPs on
        # 1-30 s clips cut at 20 s); beyond 30 s, windows keep memory bounded
        self.whole_samples = max(self.chunk_samples, round(whole_length_s * self.sample_rate))
        self.max_batch_samples = max(
            self.whole_samples, round(max_batch_seconds * self.sample_rate)
        )
        if decoder not in {"auto", "greedy", "beam"}:
            raise SpeechlabError(f"decoder must be 'auto', 'greedy' or 'beam', got {decoder!r}.")
        self.hotwords = list(hotwords) if hotwords else None
        self.hotword_weight = hotword_weight
        self._decoding = {"decoder": decoder, "lm": lm, "alpha": alpha, "beta": beta}
        self._decoding["beam_width"] = beam_width
        self.beam = self._beam_decoder(self.vocab)
        self._base_decoding = (self.vocab, self.beam)
        self._adapters: AdapterSet | None = None
        self._adapter_decoding: dict[str, CTCVocab | None] = {}

    def _beam_decoder(self, vocab: CTCVocab) -> BeamDecoder | None:
        """The beam-search decoder the constructor's decoding options ask for (None: greedy)."""
        d = self._decoding
        if d["decoder"] == "greedy":
            return None
        beam = load_beam_decoder(
            vocab, d["lm"], self.model_dir, alpha=d["alpha"], beta=d["beta"],
            beam_width=d["beam_width"],
        )  # fmt: skip
        if beam is None and (d["decoder"] == "beam" or self.hotwords):
            beam = BeamDecoder(vocab, None, beam_width=d["beam_width"])
        return beam

    # ------------------------------------------------------------------ adapters

    def load_adapter(
        self, path: str | os.PathLike[str], name: str | None = None, *, use: bool = True
    ) -> str:
        """Load the LoRA adapter (peft format) in folder ``path`` onto this model and, with
        ``use``, apply it; returns its name (default: the folder's). Adapters change the
        weights in place of the base's and switch with :meth:`use_adapter`; the base
        checkpoint is not read again."""
        adapter = read_adapter(path, name)
        if self._adapters is None:
            self._adapters = AdapterSet(self.model)
        vocab = self._adapter_vocab(adapter)
        self._adapters.add(adapter)
        self._adapter_decoding[adapter.name] = vocab
        if use:
            self.use_adapter(adapter.name)
        return adapter.name

    def use_adapter(self, name: str | None) -> None:
        """Apply the loaded adapter ``name``; None goes back to the base model."""
        if self._adapters is None:
            if name is None:
                return
            raise AdapterError(f"No adapter named {name!r} is loaded; load_adapter() it first.")
        self._adapters.use(name)
        vocab = self._adapter_decoding.get(name) if name is not None else None
        if vocab is None:
            self.vocab, self.beam = self._base_decoding
        elif vocab is not self.vocab:
            self.vocab, self.beam = vocab, self._beam_decoder(vocab)

    @property
    def adapters(self) -> list[str]:
        """Names of the loaded adapters."""
        return sorted(self._adapters.adapters) if self._adapters else []

    @property
    def active_adapter(self) -> str | None:
        """The adapter applied now (None: the base model)."""
        return self._adapters.active if self._adapters else None

    def _adapter_vocab(self, adapter: Any) -> CTCVocab | None:
        """The adapter's own labels when it ships a vocab.json that differs from the base's
        (None: it decodes with the base's); its CTC head must have one row per label."""
        head = adapter.replaced.get("lm_head.weight")
        vocab = self._base_decoding[0]
        if adapter.has_vocab:
            from transformers import Wav2Vec2CTCTokenizer

            own = CTCVocab.from_tokenizer(Wav2Vec2CTCTokenizer.from_pretrained(adapter.path))
            vocab = own if own.labels != vocab.labels else vocab
        rows = head.shape[0] if head is not None else len(self._base_decoding[0].labels)
        if rows != len(vocab.labels):
            raise AdapterError(
                f"Adapter {adapter.name!r} outputs {rows} labels but decodes with "
                f"{len(vocab.labels)}: put the vocab.json its training used in {adapter.path}."
            )
        return None if vocab is self._base_decoding[0] else vocab

    # ------------------------------------------------------------------ model

    @property
    def runtime(self) -> str:
        """Which inference runtime runs the model: ``"speechlab"``, ``"transformers"`` or
        ``"onnx"``."""
        return self.model.name

    @property
    def chunked_features(self) -> bool:
        """Whether the conv feature encoder runs in slices of time (same frames, less memory)."""
        return self.model.chunked_features

    @property
    def stream_options(self) -> Any:
        """Live recognition's engine, whose keyword options ``stream()`` takes."""
        from speechlab.asr.ctc_stream import CTCStreamEngine

        return CTCStreamEngine

    def _stream_engine(self, language: str | None, **tuning: Any) -> Any:
        from speechlab.asr.ctc_stream import CTCStreamEngine

        return CTCStreamEngine(self, **tuning)  # a CTC model hears its own language

    def log_probs(self, waves: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Log-softmax outputs for a batch of 1-D 16 kHz arrays, each cut to its valid frames."""
        import torch

        lengths = np.array([len(w) for w in waves])
        batch = np.zeros((len(waves), int(lengths.max())), dtype=np.float32)
        mask = np.zeros(batch.shape, dtype=np.int64)
        for row, wave in enumerate(waves):
            if self.normalize:
                wave = (wave - wave.mean()) / np.sqrt(wave.var() + 1e-7)
            batch[row, : len(wave)] = wave
            mask[row, : len(wave)] = 1
        inputs = torch.from_numpy(batch).to(self.device, self.model.dtype)
        attention = torch.from_numpy(mask).to(self.device) if self.use_attention_mask else None
        with self._threads(), torch.inference_mode():
            logits = self.model(inputs, attention)
            out = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
            frames = self.model.output_frames(torch.from_numpy(lengths))
        return [out[i, : int(frames[i])] for i in range(len(waves))]

    def frames_for(self, n_samples: int) -> int:
        import torch

        return int(self.model.output_frames(torch.tensor(n_samples)))

    @contextlib.contextmanager
    def _threads(self) -> Iterator[None]:
        if self.threads is None:
            yield
            return
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # ------------------------------------------------------------------ transcription

    def _decodes_whole(self, item: AudioItem) -> bool:
        return item.duration * self.sample_rate <= self.whole_samples  # longer: in windows

    def _result_language(self, options: TranscribeOptions) -> str | None:
        return self.language  # a CTC model hears the language it was trained on

    def _transcribe_items(
        self, items: Iterator[AudioItem], options: TranscribeOptions
    ) -> Iterator[Transcript]:
        batch_size = options.batch_size
        group: list[AudioItem] = []
        for item in items:
            group.append(item)
            if len(group) >= batch_size * _GROUP:
                yield from self._transcribe_group(group, batch_size)
                group = []
        if group:
            yield from self._transcribe_group(group, batch_size)

    def _transcribe_group(self, group: list[AudioItem], batch_size: int) -> Iterator[Transcript]:
        done: dict[int, Transcript] = {}
        short: list[tuple[AudioItem, np.ndarray]] = []
        for item in group:
            if self._decodes_whole(item):  # else long: streamed below, in order
                short.append((item, item.load(self.sample_rate).samples))
        short.sort(key=lambda pair: len(pair[1]), reverse=True)
        lengths = [len(w) for _, w in short]
        for batch in plan_batches(lengths, batch_size, self.max_padding, self.max_batch_samples):
            chunk = [short[i] for i in batch]
            for (item, _), lp in zip(chunk, self.log_probs([w for _, w in chunk]), strict=True):
                done[item.index] = self._finish(item, lp)
        for item in group:
            if item.index not in done:
                done[item.index] = self._finish(item, self._long_log_probs(item, batch_size))
            yield done.pop(item.index)

    def _long_log_probs(self, item: AudioItem, batch_size: int) -> np.ndarray:
        if item.path is not None:
            blocks = (
                b.samples
                for b in audio_io.iter_blocks(item.path, seconds=30.0, sample_rate=self.sample_rate)
            )
        else:
            blocks = iter([item.load(self.sample_rate).samples])
        # one array for the stitched frames, sized from the duration up front: per-window
        # arrays kept alive between windows would pin heap memory among each window's large
        # temporaries and fragment it (measured: +870 MB over an hour of audio)
        expected = self.frames_for(math.ceil(item.duration * self.sample_rate)) + 2
        kept = _FrameBuffer(len(self.vocab.labels), expected)
        pending: list[tuple[np.ndarray, int, int | None]] = []

        def flush() -> None:
            outputs = self.log_probs([w for w, _, _ in pending])
            for (_, first, last), lp in zip(pending, outputs, strict=True):
                kept.append(lp[first:last])
            pending.clear()

        for window in iter_windows(
            blocks, self.chunk_samples, self.stride_samples, self.samples_per_frame
        ):
            pending.append(window)
            if len(pending) >= min(batch_size, self.max_batch_samples // self.chunk_samples):
                flush()
        if pending:
            flush()
        return kept.array()

    def _finish(self, item: AudioItem, log_probs: np.ndarray) -> Transcript:
        if self.beam is not None:
            decoded = self.beam.decode(
                log_probs,
                self.frame_seconds,
                hotwords=self.hotwords,
                hotword_weight=self.hotword_weight,
            )
        else:
            decoded = greedy_decode(log_probs, self.vocab, self.frame_seconds)
        words = [_clip(w, item.duration) for w in decoded.words]
        chars = [_clip(c, item.duration) for c in decoded.chars]
        return Transcript(
            decoded.text,
            words,
            chars,
            self.language,
            item.duration,
            item.source,
            reference=item.reference,
        )


class _FrameBuffer:
    """Rows appended into one preallocated float32 array, grown by half when it runs out."""

    def __init__(self, width: int, capacity: int) -> None:
        self.data = np.empty((max(1, capacity), width), dtype=np.float32)
        self.rows = 0

    def append(self, rows: np.ndarray) -> None:
        end = self.rows + len(rows)
        if end > len(self.data):
            grown = np.empty((max(end, len(self.data) * 3 // 2), self.data.shape[1]), np.float32)
            grown[: self.rows] = self.data[: self.rows]
            self.data = grown
        self.data[self.rows : end] = rows
        self.rows = end

    def array(self) -> np.ndarray:
        return self.data[: self.rows]


def plan_batches(
    lengths: Sequence[int], batch_size: int, max_padding: float, max_samples: int | None = None
) -> list[list[int]]:
    """Split indices of ``lengths`` (sorted longest first) into batches for padding.

    A batch grows up to ``batch_size`` items while the share of padded samples in it stays
    at most ``max_padding`` and its padded size at most ``max_samples``: padded samples cost
    full compute, so on a CPU one 30 s clip beside a 15 s clip is better run alone, and
    activation memory grows with the padded size.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    total = 0
    for i, n in enumerate(lengths):
        if current:
            longest = lengths[current[0]]
            padded = longest * (len(current) + 1)
            waste = 1 - (total + n) / padded
            too_big = max_samples is not None and padded > max_samples
            if len(current) == batch_size or waste > max_padding or too_big:
                batches.append(current)
                current, total = [], 0
        current.append(i)
        total += n
    if current:
        batches.append(current)
    return batches


def iter_windows(
    blocks: Iterator[np.ndarray], chunk: int, stride: int, samples_per_frame: int
) -> Iterator[tuple[np.ndarray, int, int | None]]:
    """Cut a stream of sample blocks into overlapping windows for chunked CTC.

    Yields ``(window, first_kept_frame, end_kept_frame)`` in frames local to the window
    (``None`` = to the window's end). Window ``k`` keeps samples ``[k*step, (k+1)*step)``
    with ``step = chunk - 2*stride`` and sees ``stride`` samples of context on each side;
    the last window keeps everything to the end. ``chunk`` and ``stride`` are multiples of
    ``samples_per_frame``, so kept frames tile the whole audio's frame sequence exactly.
    Memory: one window plus one block.
    """
    step = chunk - 2 * stride
    step_frames = step // samples_per_frame
    buf = np.zeros(0, dtype=np.float32)
    buf_start = 0
    exhausted = False
    k = 0
    while True:
        win_start = max(0, k * step - stride)
        win_end = (k + 1) * step + stride
        while not exhausted and buf_start + len(buf) <= win_end:
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                buf = np.concatenate([buf, block])
        available = buf_start + len(buf)
        last = exhausted and available <= win_end
        window = buf[win_start - buf_start : min(win_end, available) - buf_start]
        first = (k * step - win_start) // samples_per_frame
        yield window, first, None if last else first + step_frames
        if last:
            return
        k += 1
        next_start = max(0, k * step - stride)
        buf = buf[next_start - buf_start :]
        buf_start = next_start


def _chunking(
    chunk_s: float, stride_s: float, rate: int, samples_per_frame: int
) -> tuple[int, int]:
    def frames(seconds: float) -> int:
        return max(1, math.ceil(seconds * rate / samples_per_frame)) * samples_per_frame

    if not (chunk_s > 0 and stride_s > 0 and chunk_s > 2 * stride_s):
        raise SpeechlabError(
            f"Need chunk_length_s > 2 * stride_length_s > 0, got {chunk_s} and {stride_s}."
        )
    return frames(chunk_s), frames(stride_s)


def _feature_extractor_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "preprocessor_config.json"
    if not path.is_file():
        return {}
    return read_json(path)


def _torch_dtype(dtype: str | None) -> Any:
    if dtype is None:
        return None
    import torch

    try:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[
            dtype
        ]
    except KeyError:
        raise SpeechlabError(
            f"dtype must be 'float32', 'float16' or 'bfloat16', got {dtype!r}."
        ) from None


def _clip(segment: Any, duration: float) -> Any:
    if segment.end <= duration:
        return segment
    return type(segment)(segment.text, min(segment.start, duration), duration, segment.confidence)

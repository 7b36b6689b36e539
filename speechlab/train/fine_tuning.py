"""CTC fine-tuning: ``finetune(config) -> TrainResult``.

```python
from speechlab.train import finetune, load_config
result = finetune(load_config("ft.yaml", ["max_steps=2000"]))
speechlab.load_asr(result.model_dir).transcribe("clip.wav")
```

What ``out_dir`` receives:

* ``model/`` — the final model, a standard transformers folder (safetensors, config,
  vocab/tokenizer/feature-extractor files; LoRA merged) that ``load_asr`` opens;
* ``best/`` — the same for the evaluation with the lowest CER (with ``eval``);
* ``checkpoints/step-N/`` — every ``checkpoint_every`` steps (the newest
  ``keep_checkpoints`` kept); a rerun with the same ``out_dir`` resumes from the newest and
  ends with the weights an uninterrupted run would have (same data order, augmentation,
  dropout and SpecAugment draws), losing at most the steps since that checkpoint;
* with ``qat: METHOD`` (quantization-aware training, :mod:`speechlab.train.qat`), ``model/``
  holds the float weights trained under METHOD's rounding; ``speechlab.quantize(model/,
  METHOD, out)`` writes the real quantized model (the ``qat-*`` methods do both steps);
* ``metrics.csv`` (step, loss, lr, cer, elapsed), ``vocab/``, ``config.yaml``,
  ``result.json``.

Several processes (``torchrun --nproc_per_node N -m speechlab finetune --config ft.yaml``, or
``accelerate launch --multi_gpu --num_processes N -m speechlab finetune ...``, also on CPU)
train one model with DistributedDataParallel; rank 0 evaluates and writes. Several nodes:
docs/scale-out.md.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from speechlab.files import replace_folder, writable_folder
from speechlab.train.checkpoint import (
    STATE_FILE,
    WEIGHTS_FILE,
    Checkpoint,
    MetricsLog,
    capture_rng,
    checkpoint_folder,
    latest_checkpoint,
    load_torch,
    load_weights,
    prune_checkpoints,
    restore_rng,
    save_torch,
    save_weights,
)
from speechlab.train.config import RESUME_KEYS, TrainConfig, load_config
from speechlab.train.data import (
    Item,
    Position,
    TrainingData,
    collate,
    load_eval_set,
    prefetch,
    rank_batches,
    read_texts,
)
from speechlab.train.distributed import Dist, init_distributed, wrap
from speechlab.train.errors import ConfigError, TrainError
from speechlab.train.evaluation import ctc_cer
from speechlab.train.model import (
    apply_strategy,
    build_model,
    choose_vocab,
    export_model,
    frames_function,
)
from speechlab.train.optim import (
    autocast,
    lr_lambda,
    make_optimizer,
    pick_device,
    pick_precision,
)
from speechlab.train.vocab import Vocab

__all__ = ["StepInfo", "TrainResult", "finetune"]

RESULT_FILE = "result.json"
TRAINING_FILE = "speechlab-training.json"


@dataclass
class StepInfo:
    """What ``on_step`` sees after each optimizer step (on every rank)."""

    step: int
    loss: float
    lr: float
    cer: float | None
    rank: int
    model: Any  # the model being trained (peft-wrapped for adapters; never the DDP wrapper)


@dataclass
class TrainResult:
    """Where the run left its files and how it went."""

    out_dir: Path
    model_dir: Path
    best_dir: Path | None
    best_cer: float | None
    best_step: int | None
    steps: int
    final_loss: float | None
    metrics_path: Path
    resumed_from: int | None
    vocab: str  # "model", "new" or "folder"
    vocab_size: int
    new_head: bool
    trainable_parameters: int
    total_parameters: int
    world_size: int
    data: str  # what length filtering kept and left out
    train_seconds: float = 0.0  # wall time of training (evaluations included), all resumes

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def finetune(
    config: TrainConfig | Mapping[str, Any] | str | Path,
    *,
    on_step: Callable[[StepInfo], None] | None = None,
) -> TrainResult:
    """Fine-tune (or train from scratch) a CTC model as ``config`` says; resumes from the
    newest checkpoint in ``out_dir``. ``config`` may be a TrainConfig, a mapping or a YAML
    path. ``on_step`` is called after every optimizer step."""
    if isinstance(config, str | Path):
        config = load_config(config)
    elif isinstance(config, Mapping):
        config = TrainConfig.from_dict(config)
    dist = init_distributed(config.device)
    try:
        return _Trainer(config, dist, on_step).run()
    finally:
        dist.close()


class _Trainer:
    """One run: set up (or resume) model, optimiser and data, then step to ``max_steps``."""

    def __init__(
        self, cfg: TrainConfig, dist: Dist, on_step: Callable[[StepInfo], None] | None
    ) -> None:
        import torch

        from speechlab.store import resolve

        self.cfg, self.dist, self.on_step = cfg, dist, on_step
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.out = Path(cfg.out_dir).expanduser()
        self.checkpoints = self.out / "checkpoints"
        if dist.main:  # an unwritable out_dir fails here, before any model or data work
            writable_folder(self.out, what="training output folder (out_dir)")
            writable_folder(self.checkpoints, what="checkpoints folder")
        dist.barrier()
        resume = latest_checkpoint(self.checkpoints)
        if resume is not None and not cfg.resume:
            raise ConfigError(
                f"{self.out} already holds checkpoints (newest: step {resume.step}). Set "
                "resume: true to continue that run, or choose a new out_dir."
            )
        if resume is not None:
            self._check_resumable(resume)
        self.resumed_from = resume.step if resume is not None else None
        self.device = pick_device(cfg.device, dist.local_rank)
        self.precision = pick_precision(cfg.precision, self.device)
        self.model_dir = resolve(cfg.model) if cfg.model else None
        self.normalize_audio, self.sample_rate = _feature_settings(self.model_dir)
        self.vocab, self.vocab_kind = self._vocabulary(resume)
        own = Vocab.from_folder(self.model_dir) if self.model_dir is not None else None
        self.new_head = own is None or own.labels != self.vocab.labels
        model = build_model(cfg, self.model_dir, self.vocab, self.new_head)
        model = apply_strategy(model, cfg)
        if cfg.qat is not None:
            from speechlab.train.qat import prepare_qat

            prepare_qat(model, cfg.qat)  # before the optimizer: it owns the float weights
        self.model = model.to(self.device)
        self.optimizer = make_optimizer(self.model, cfg.learning_rate, cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lr_lambda(cfg.schedule, cfg.warmup_steps, cfg.max_steps)
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.data = TrainingData(
            cfg.train,
            self.vocab,
            frames_function(self.model),
            batch_size=cfg.batch_size,
            group_batches=cfg.group_batches,
            seed=cfg.seed,
            shuffle=cfg.shuffle,
            shuffle_buffer=cfg.shuffle_buffer,
            min_seconds=cfg.min_seconds,
            max_seconds=cfg.max_seconds,
            speeds=cfg.speeds,
            snrs_db=cfg.noise_snr_db,
            colors=cfg.noise_colors,
            effects=cfg.effects(),
            audio_column=cfg.audio_column,
            text_column=cfg.text_column,
            sample_rate=self.sample_rate,
        )
        self.eval_items = None
        if cfg.eval is not None and dist.main:
            self.eval_items = load_eval_set(
                cfg.eval,
                max_items=cfg.eval_max_items,
                audio_column=cfg.audio_column,
                text_column=cfg.text_column,
                sample_rate=self.sample_rate,
            )
        self.step, self.position, self.elapsed = 0, Position(), 0.0
        self.best_cer: float | None = None
        self.best_step: int | None = None
        if resume is not None:
            self._load(resume)
        else:
            _seed_all(cfg.seed + dist.rank)
        # LayerDrop skips layers; SpecAugment's mask embedding is unused when nothing is masked
        masking = cfg.mask_time_prob > 0 or cfg.mask_feature_prob > 0
        self.ddp = wrap(self.model, dist, self.device, find_unused=cfg.layerdrop > 0 or masking)
        self.metrics = (
            MetricsLog(self.out / "metrics.csv", self.resumed_from) if dist.main else None
        )
        if dist.main:
            _write_config(self.out / "config.yaml", cfg)

    # ------------------------------------------------------------------ set-up

    def _check_resumable(self, checkpoint: Checkpoint) -> None:
        now = _plain(self.cfg.to_dict())
        before = checkpoint.state.get("config", {})
        changed = [k for k in RESUME_KEYS if before.get(k) != now.get(k)]
        if checkpoint.state.get("world_size", 1) != self.dist.world:
            changed.append(f"processes ({checkpoint.state.get('world_size')} → {self.dist.world})")
        if changed:
            raise ConfigError(
                f"{self.out} holds a run with a different {', '.join(changed)}; it cannot be "
                "resumed exactly with this config. Use the same settings or a new out_dir."
            )

    def _vocabulary(self, resume: Checkpoint | None) -> tuple[Vocab, str]:
        folder = self.out / "vocab"
        if resume is not None:
            vocab = Vocab.from_folder(folder)
            if vocab is None:
                raise TrainError(f"{folder} is missing; the checkpoints cannot be resumed.")
            return vocab, str(resume.state.get("vocab", "new"))
        if self.dist.main:
            cfg = self.cfg

            def texts() -> list[str]:
                return read_texts(
                    cfg.train,
                    limit=cfg.vocab_max_items,
                    audio_column=cfg.audio_column,
                    text_column=cfg.text_column,
                )

            vocab, kind = choose_vocab(cfg, self.model_dir, texts)
            if folder.exists():
                shutil.rmtree(folder)
            vocab.save(folder, normalize=self.normalize_audio, sample_rate=self.sample_rate)
            (folder / "kind.txt").write_text(kind)
        self.dist.barrier()
        loaded = Vocab.from_folder(folder)
        assert loaded is not None
        return loaded, (folder / "kind.txt").read_text().strip()

    def _load(self, checkpoint: Checkpoint) -> None:
        folder = checkpoint.folder
        load_weights(self.model, folder / WEIGHTS_FILE)
        self.optimizer.load_state_dict(load_torch(folder / "optimizer.pt"))
        self.scheduler.load_state_dict(load_torch(folder / "scheduler.pt"))
        if self.scaler is not None and (folder / "scaler.pt").is_file():
            self.scaler.load_state_dict(load_torch(folder / "scaler.pt"))
        rng = folder / f"rng-rank{self.dist.rank}.pt"
        if not rng.is_file():
            raise TrainError(f"{folder} has no {rng.name}; it was written by another launch.")
        restore_rng(load_torch(rng))
        state = checkpoint.state
        self.step = int(state["step"])
        self.position = Position.from_dict(state["position"])
        self.elapsed = float(state["elapsed"])
        self.best_cer, self.best_step = state.get("best_cer"), state.get("best_step")

    # ------------------------------------------------------------------ loop

    def run(self) -> TrainResult:
        from tqdm.auto import tqdm

        cfg, dist = self.cfg, self.dist
        batches = rank_batches(self.data.batches(self.position), dist.world, dist.rank)
        stream = prefetch(batches, self.sample_rate, cfg.prefetch_batches, cfg.loader_processes)
        started, before = time.perf_counter(), self.elapsed
        loss: float | None = None
        with tqdm(
            total=cfg.max_steps,
            initial=self.step,
            unit="step",
            desc="finetune",
            disable=not (cfg.progress and dist.main),
        ) as bar:
            while self.step < cfg.max_steps:
                loss, lr = self._train_step(stream)
                self.step += 1
                self.elapsed = before + time.perf_counter() - started
                cer = self._evaluate()
                if self.metrics is not None and (
                    self.step % cfg.log_every == 0 or cer is not None or self.step == cfg.max_steps
                ):
                    self.metrics.write(
                        {
                            "step": self.step,
                            "loss": f"{loss:.6g}",
                            "lr": f"{lr:.6g}",
                            "cer": None if cer is None else f"{cer:.6g}",
                            "elapsed": f"{self.elapsed:.2f}",
                        }
                    )
                if (
                    cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0
                ) or self.step == cfg.max_steps:
                    self._save_checkpoint()
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", **({"cer": f"{cer:.3f}"} if cer else {}))
                if self.on_step is not None:
                    self.on_step(StepInfo(self.step, loss, lr, cer, dist.rank, self.model))
        if dist.main:
            self._export(self.out / "model", final=True)
        dist.barrier()
        result = self._result(loss)
        if dist.main:
            (self.out / RESULT_FILE).write_text(json.dumps(result.to_dict(), indent=2))
        return result

    def _train_step(
        self, stream: Iterator[tuple[list[Item], Position, list[Any]]]
    ) -> tuple[float, float]:
        import torch

        cfg, dist, model = self.cfg, self.dist, self.ddp
        model.train()
        lr = float(self.optimizer.param_groups[0]["lr"])
        losses = []
        for micro in range(cfg.grad_accum):
            items, self.position, waves = next(stream)
            batch = collate(waves, [item.labels for item in items], normalize=self.normalize_audio)
            inputs = {k: v.to(self.device) for k, v in batch.items()}
            last = micro == cfg.grad_accum - 1
            sync = contextlib.nullcontext() if last or not dist.enabled else model.no_sync()
            with sync:
                with autocast(self.precision, self.device):
                    loss = model(**inputs).loss
                scaled = loss / cfg.grad_accum
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
            losses.append(float(loss.detach()))
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if cfg.max_grad_norm:
            params = [p for p in self.model.parameters() if p.requires_grad]
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return dist.mean(sum(losses) / len(losses)), lr

    def _evaluate(self) -> float | None:
        cfg = self.cfg
        due = (cfg.eval_every and self.step % cfg.eval_every == 0) or self.step == cfg.max_steps
        if self.eval_items is None or not due:
            return None
        cer, _ = ctc_cer(
            self.model,
            self.eval_items,
            self.vocab,
            device=self.device,
            batch_size=cfg.eval_batch_size or cfg.batch_size,
            normalize_audio=self.normalize_audio,
            precision=self.precision,
        )
        if not math.isnan(cer) and (self.best_cer is None or cer < self.best_cer):
            self.best_cer, self.best_step = cer, self.step
            self._export(self.out / "best", final=False)
        return cer

    # ------------------------------------------------------------------ files

    def _save_checkpoint(self) -> None:
        dist = self.dist
        final = checkpoint_folder(self.checkpoints, self.step)
        partial = final.with_name(final.name + ".partial")
        if dist.main:
            if partial.exists():
                shutil.rmtree(partial)
            partial.mkdir(parents=True)
            save_weights(self.model, partial / WEIGHTS_FILE)
            save_torch(self.optimizer.state_dict(), partial / "optimizer.pt")
            save_torch(self.scheduler.state_dict(), partial / "scheduler.pt")
            if self.scaler is not None:
                save_torch(self.scaler.state_dict(), partial / "scaler.pt")
        dist.barrier()
        save_torch(capture_rng(), partial / f"rng-rank{dist.rank}.pt")
        dist.barrier()
        if dist.main:
            now = _plain(self.cfg.to_dict())
            state = {
                "step": self.step,
                "position": self.position.to_dict(),
                "elapsed": self.elapsed,
                "best_cer": self.best_cer,
                "best_step": self.best_step,
                "world_size": dist.world,
                "vocab": self.vocab_kind,
                "config": {k: now.get(k) for k in RESUME_KEYS},
            }
            (partial / STATE_FILE).write_text(json.dumps(state, indent=2))
            replace_folder(partial, final)  # fsynced, renamed in; a replaced one deleted after
            prune_checkpoints(self.checkpoints, self.cfg.keep_checkpoints)
        dist.barrier()

    def _export(self, folder: Path, *, final: bool) -> None:
        partial = folder.with_name(folder.name + ".partial")
        if partial.exists():
            shutil.rmtree(partial)
        export_model(
            self.model,
            partial,
            self.vocab,
            normalize=self.normalize_audio,
            sample_rate=self.sample_rate,
        )
        info = {
            "step": self.step,
            "cer": self.best_cer if not final else None,
            "strategy": self.cfg.strategy,
            "started_from": self.cfg.model,
            "config": self.cfg.to_dict(),
        }
        (partial / TRAINING_FILE).write_text(json.dumps(info, indent=2, default=str))
        replace_folder(partial, folder)

    def _result(self, loss: float | None) -> TrainResult:
        params = list(self.model.parameters())
        return TrainResult(
            out_dir=self.out,
            model_dir=self.out / "model",
            best_dir=self.out / "best" if self.best_step is not None else None,
            best_cer=self.best_cer,
            best_step=self.best_step,
            steps=self.step,
            final_loss=loss,
            metrics_path=self.out / "metrics.csv",
            resumed_from=self.resumed_from,
            vocab=self.vocab_kind,
            vocab_size=self.vocab.size,
            new_head=self.new_head,
            trainable_parameters=sum(p.numel() for p in params if p.requires_grad),
            total_parameters=sum(p.numel() for p in params),
            world_size=self.dist.world,
            data=self.data.stats.describe(),
            train_seconds=round(self.elapsed, 2),
        )


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(data, default=str))


def _seed_all(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _feature_settings(model_dir: Path | None) -> tuple[bool, int]:
    """``(do_normalize, sampling_rate)`` from the model's preprocessor_config.json."""
    path = model_dir / "preprocessor_config.json" if model_dir is not None else None
    if path is None or not path.is_file():
        return True, 16_000
    data = json.loads(path.read_text())
    return bool(data.get("do_normalize", True)), int(data.get("sampling_rate", 16_000))


def _write_config(path: Path, cfg: TrainConfig) -> None:
    import yaml

    path.write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True))

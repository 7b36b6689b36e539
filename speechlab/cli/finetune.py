"""``speechlab finetune``: CTC fine-tuning from a YAML config.

Several processes: ``torchrun --nproc_per_node N -m speechlab finetune --config ft.yaml``
(``python -m speechlab`` is this command line; see ``speechlab/__main__.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from speechlab.cli.support import console, friendly

__all__ = ["finetune_command"]


@friendly
def finetune_command(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML config (see speechlab.train.config).")
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key, KEY=VALUE (YAML value); repeatable."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (config: out_dir).")] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, help="Config: max_steps.")] = None,
    resume: Annotated[
        bool | None,
        typer.Option("--resume/--no-resume", help="Continue from out_dir's newest checkpoint."),
    ] = None,
) -> None:
    """Fine-tune a wav2vec2-family CTC model; a rerun with the same out_dir resumes.

    Several processes: torchrun --nproc_per_node N -m speechlab finetune --config ft.yaml
    """
    from speechlab.train import finetune, load_config
    from speechlab.train.config import parse_overrides

    changes = parse_overrides(overrides or [])
    if out is not None:
        changes["out_dir"] = str(out)
    if max_steps is not None:
        changes["max_steps"] = max_steps
    if resume is not None:
        changes["resume"] = resume
    result = finetune(load_config(config, changes))
    if int(os.environ.get("RANK", "0")) != 0:
        return
    table = Table(title=f"fine-tuned: {result.model_dir}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    resumed = f" (resumed at {result.resumed_from})" if result.resumed_from else ""
    best = "-"
    if result.best_cer is not None:
        best = f"{result.best_cer:.2%} (step {result.best_step})"
    head = ", new head" if result.new_head else ""
    rows = [
        ("steps", f"{result.steps}{resumed}"),
        ("final loss", "-" if result.final_loss is None else f"{result.final_loss:.4f}"),
        ("best CER", best),
        ("vocabulary", f"{result.vocab} ({result.vocab_size} labels{head})"),
        ("trained", f"{result.trainable_parameters:,} of {result.total_parameters:,} parameters"),
        ("processes", str(result.world_size)),
        ("data", result.data),
        ("metrics", str(result.metrics_path)),
    ]
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)

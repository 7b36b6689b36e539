"""What notebooks 04 and 05 show beside their own numbers: where demo output goes, a plain
note that demo numbers are not results, the committed models' figures, Markdown tables, and
quiet third-party libraries.

```python
from speechlab.recipes.demo_report import held_out_markdown, quiet_libraries, work_folder
quiet_libraries()                                  # no transformers bars or FutureWarnings
work = work_folder(None, out_dir, "pl-ctc-small-demo")   # <project>/runs/..., not notebooks/
Markdown(held_out_markdown(scores, "demo"))       # this run beside the committed model
```
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

__all__ = [
    "COMMITTED_ADAPTATION",
    "COMMITTED_HELD_OUT",
    "adaptation_tables_markdown",
    "held_out_markdown",
    "quiet_libraries",
    "scale_note",
    "shrink_demo_output",
    "work_folder",
]

#: speechlab-pl-ctc-small's held-out scores (its model card:
#: speechlab/store/models/speechlab-pl-ctc-small/README.md; 120 synthetic utterances each).
COMMITTED_HELD_OUT = {
    "heldout": {"cer": 0.075, "cer_ci": (0.062, 0.088), "wer": 0.341},
    "heldout-voice": {"cer": 0.023, "cer_ci": (0.018, 0.029), "wer": 0.139},
}
#: The full-scale adaptation table (README, "Domain adaptation"; 2 CPU cores, synthetic).
COMMITTED_ADAPTATION = [
    {"strategy": "none (base model)", "trainable_parameters": 0, "trainable_share": 0.0,
     "train_seconds": 0, "domain-heldout_cer": 0.476, "domain-heldout_wer": 1.040,
     "general-heldout_cer": 0.054},
    {"strategy": "head", "trainable_parameters": 9_509, "trainable_share": 0.0018,
     "train_seconds": 157, "domain-heldout_cer": 0.359, "domain-heldout_wer": 0.952,
     "general-heldout_cer": 0.168},
    {"strategy": "adapter", "trainable_parameters": 230_693, "trainable_share": 0.0419,
     "train_seconds": 329, "domain-heldout_cer": 0.211, "domain-heldout_wer": 0.702,
     "general-heldout_cer": 0.203},
    {"strategy": "encoder", "trainable_parameters": 4_946_501, "trainable_share": 0.9365,
     "train_seconds": 290, "domain-heldout_cer": 0.190, "domain-heldout_wer": 0.634,
     "general-heldout_cer": 0.141},
]  # fmt: skip
#: Files that mark a project's top folder (its runs/ folder goes there).
_PROJECT_MARKERS = (".git", "pyproject.toml")


def work_folder(work_dir: str | os.PathLike[str] | None, out_dir: str | None, name: str) -> Path:
    """Where a recipe notebook writes: ``work_dir`` if given, else ``out_dir/name`` (a
    ``speechlab run`` sets ``out_dir``), else ``runs/name`` in the project that holds the
    current folder (the folder with ``.git`` or ``pyproject.toml``; JupyterLab starts
    kernels in ``notebooks/``, which must not fill up), else ``./runs/name``."""
    if work_dir:
        return Path(work_dir).expanduser()
    if out_dir:
        return Path(out_dir).expanduser() / name
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in _PROJECT_MARKERS):
            return folder / "runs" / name
    return here / "runs" / name


def scale_note(scale: str) -> str:
    """Markdown: at ``demo`` scale, a plain warning that the numbers are not results."""
    if scale == "demo":
        return (
            "**Demo scale: these numbers are not results.** The demo trains for a few steps "
            "on a dozen synthetic sentences to show that every stage runs; its error rates "
            'say nothing about the method. The committed model\'s figures (`scale="full"`) '
            "stand beside them."
        )
    return f"Scale `{scale}`: all numbers are on **synthetic** speech."


def held_out_markdown(scores: Any, scale: str) -> str:
    """``evaluate_held_out``'s table as Markdown: this run's CER/WER in % beside the
    committed ``speechlab-pl-ctc-small``'s, after :func:`scale_note`."""
    lines = [
        scale_note(scale),
        "",
        f"| held-out set | utterances | CER % ({scale}) | WER % ({scale}) "
        "| CER % (committed model) | WER % (committed model) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for _, row in scores.iterrows():
        committed = COMMITTED_HELD_OUT.get(row["set"], {})
        lines.append(
            f"| {row['what']} | {int(row['utterances'])} | {_pct(row['cer'])} "
            f"| {_pct(row['wer'])} | {_pct(committed.get('cer'))} | {_pct(committed.get('wer'))} |"
        )
    return "\n".join(lines)


def adaptation_tables_markdown(table: Any, scale: str) -> str:
    """This run's adaptation table and, at demo scale, the committed full-scale one, as
    Markdown (``adaptation_markdown`` renders each)."""
    import pandas as pd

    from speechlab.recipes.adaptation import adaptation_markdown

    parts = [scale_note(scale), "", f"**This run ({scale}):**", "", adaptation_markdown(table)]
    if scale != "full":
        parts += [
            "",
            '**Full scale** (`scale="full"`: speechlab-pl-ctc-small adapted to clinical '
            "Polish, the README's first table, 2 CPU cores):",
            "",
            adaptation_markdown(pd.DataFrame(COMMITTED_ADAPTATION)),
        ]
    return "\n".join(parts)


def shrink_demo_output(work: str | os.PathLike[str]) -> str:
    """Delete what a demo run keeps only to resume or to choose from: every training
    ``checkpoints/`` folder (weights plus optimizer state, about 63 MB for the small model)
    and every ``best/`` that has a ``model/`` beside it (a second copy at demo scale).
    The exported ``model/`` folders, corpora and metrics stay. Returns a line saying what
    was freed and what is left."""
    import shutil

    work = Path(work)
    doomed = [p for p in work.rglob("checkpoints") if p.is_dir()]
    doomed += [p for p in work.rglob("best") if p.is_dir() and (p.parent / "model").is_dir()]
    freed = 0
    for folder in sorted(doomed):
        freed += _size(folder)
        shutil.rmtree(folder)
    left = _size(work) / 1e6
    return f"removed {freed / 1e6:.1f} MB (checkpoints, best/ copies); {work} holds {left:.1f} MB"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def quiet_libraries() -> None:
    """Silence what transformers and friends print in a notebook: their progress bars
    (weight loading), info logs and FutureWarnings/deprecation notices. speechlab's own
    progress and errors are unaffected."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    for module in ("transformers", "torch", "peft", "huggingface_hub", "accelerate"):
        warnings.filterwarnings("ignore", category=FutureWarning, module=rf"{module}(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=rf"{module}(\.|$)")
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:  # transformers not installed: nothing of it to silence
        return
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


def _pct(value: Any) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * float(value):.1f}"

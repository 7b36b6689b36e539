"""From corpora and a training run to a shippable model folder.

``merge_manifests`` joins corpora (each ``manifest.tsv`` with paths relative to its folder)
into one manifest with absolute paths. ``publish_fp16`` copies a trained CTC folder with the
weights in fp16 safetensors (half the size, the same transcripts within rounding) and a
``checksums.json`` of every file, which the model store verifies.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from speechlab.store import sha256_file
from speechlab.store.model_folders import check_model_folder, pickled_code_refused
from speechlab.train.errors import TrainDataError

__all__ = ["CHECKSUMS", "merge_manifests", "publish_fp16", "write_checksums"]

CHECKSUMS = "checksums.json"
_PROCESSOR_FILES = ("vocab.json", "tokenizer_config.json", "preprocessor_config.json")


def merge_manifests(
    out: str | os.PathLike[str], manifests: Sequence[str | os.PathLike[str]]
) -> int:
    """Write ``out`` (``path``/``text`` TSV, absolute paths) from ``manifests``; returns rows."""
    rows = 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".partial")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["path", "text"])
        for manifest in map(Path, manifests):
            if not manifest.is_file():
                raise TrainDataError(f"No manifest at {manifest}; make the corpus first.")
            with manifest.open(encoding="utf-8", newline="") as source:
                for row in csv.DictReader(source, delimiter="\t"):
                    path = Path(row["path"])
                    if not path.is_absolute():
                        path = (manifest.parent / path).resolve()
                    writer.writerow([str(path), row["text"]])
                    rows += 1
    os.replace(tmp, out)
    return rows


def publish_fp16(model_dir: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Copy the trained folder ``model_dir`` to ``out`` with fp16 weights and checksums."""
    import torch
    from transformers import AutoModelForCTC

    source, out = Path(model_dir), Path(out)
    missing = [n for n in ("config.json", *_PROCESSOR_FILES) if not (source / n).is_file()]
    if missing:
        raise TrainDataError(f"{source} is not a trained CTC folder: missing {missing}.")
    check_model_folder(source)  # custom code refused, weights whole
    with pickled_code_refused(source):
        model = AutoModelForCTC.from_pretrained(
            source, dtype=torch.float32, trust_remote_code=False
        )
    model = model.half()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.safetensors"):
        stale.unlink()
    model.save_pretrained(out, safe_serialization=True)
    for name in _PROCESSOR_FILES:
        shutil.copyfile(source / name, out / name)
    extra = source / "speechlab-training.json"
    if extra.is_file():
        shutil.copyfile(extra, out / extra.name)
    write_checksums(out)
    return out


def write_checksums(folder: str | os.PathLike[str]) -> dict[str, str]:
    """``checksums.json``: the sha256 of every .json and .safetensors file in ``folder`` as
    it is now (call it again after adding records, or stale sums fail the next load)."""
    folder = Path(folder)
    sums = {
        p.name: sha256_file(p)
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != CHECKSUMS and p.suffix in {".json", ".safetensors"}
    }
    (folder / CHECKSUMS).write_text(json.dumps(sums, indent=2) + "\n", encoding="utf-8")
    return sums

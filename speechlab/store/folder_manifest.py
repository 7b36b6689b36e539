"""Manifests of model folders speechlab writes itself (quantized variants), and their check.

A folder written by speechlab (not assembled from the catalogue) carries the same
``speechlab-model.json`` as a store model: what it is, plus the sha256 and size of every file.
:func:`verify_folder` re-hashes them; ``speechlab models verify DIR`` calls it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from speechlab.errors import ChecksumError, ModelFileError, ModelNotFoundError
from speechlab.store.assembly import MANIFEST, sha256_file
from speechlab.store.model_folders import read_json

__all__ = ["folder_files", "verify_folder", "write_folder_manifest"]


def folder_files(folder: Path) -> dict[str, dict[str, Any]]:
    """sha256 and size of every file under ``folder`` (relative names, the manifest excluded)."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if name == MANIFEST or name.startswith(".") or "/." in name:
            continue
        files[name] = {"sha256": sha256_file(path), "size": path.stat().st_size}
    return files


def write_folder_manifest(folder: Path, info: dict[str, Any]) -> Path:
    """Write ``info`` plus the digests of the folder's files as its manifest (atomically)."""
    manifest = {**info, "files": folder_files(folder)}
    partial = folder / f".{MANIFEST}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(partial, folder / MANIFEST)
    return folder / MANIFEST


def verify_folder(folder: str | os.PathLike[str]) -> Path:
    """Re-hash every file a folder's manifest lists; :class:`ChecksumError` on any mismatch."""
    path = Path(folder).expanduser()
    if not (path / MANIFEST).is_file():
        raise ModelNotFoundError(
            f"{path} has no {MANIFEST}, so there is nothing to verify it against. "
            "`speechlab models verify` checks store models (by name) and folders speechlab "
            "wrote (e.g. by `speechlab quantize`)."
        )
    files = read_json(path / MANIFEST).get("files")
    if not isinstance(files, dict) or not files:
        raise ModelFileError(
            f"{path / MANIFEST} lists no files: it is damaged or not a speechlab manifest. "
            "Write the folder again."
        )
    for name, entry in files.items():
        target = path / name
        digest = sha256_file(target) if target.is_file() else "(missing)"
        if not isinstance(entry, dict) or digest != entry.get("sha256"):
            raise ChecksumError(
                f"{target} has sha256 {digest}, but {path / MANIFEST} records "
                f"{entry.get('sha256') if isinstance(entry, dict) else entry}: the folder "
                "changed after it was written. Write it again (e.g. `speechlab quantize ...`)."
            )
    return path

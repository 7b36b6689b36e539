"""Derived store models: built by a converter from another store model, then checked.

``build_derived`` runs the model's builder (``Derivation.builder``, ``"module:function"``)
on the assembled source folder, writing into a temporary folder inside the model's cache
folder; every file must then have the size and sha256 the catalogue records, and only then
is each moved into place. A converter that fails, or output that differs by one byte,
leaves nothing that looks finished (the manifest, written last by ``assembly``, is absent).
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from speechlab.errors import ChecksumError, ModelNotFoundError
from speechlab.store.assembly import sha256_file
from speechlab.store.catalogue import StoreModel

__all__ = ["build_derived"]

Builder = Callable[[Path, Path, Callable[[int], None]], None]


def build_derived(
    model: StoreModel, source: Path, target: Path, report: Callable[[int], None]
) -> None:
    """Build ``model`` from the assembled ``source`` folder into ``target`` (see module doc)."""
    assert model.derived is not None
    build = target / f".build.{os.getpid()}.partial"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    try:
        _builder(model.derived.builder)(source, build, report)
        for file in model.files:
            path = build / file.name
            if not path.is_file():
                raise ChecksumError(
                    f"Building {model.name!r} from {model.derived.source!r} wrote no "
                    f"{file.name}; nothing was installed. {_versions_hint(model)}"
                )
            digest = sha256_file(path)
            if digest != file.sha256 or path.stat().st_size != file.size:
                raise ChecksumError(
                    f"Building {model.name!r} gave {file.name} with sha256 {digest} "
                    f"({path.stat().st_size:,} bytes), expected {file.sha256} "
                    f"({file.size:,} bytes); nothing was installed. {_versions_hint(model)}"
                )
        for file in model.files:
            os.replace(build / file.name, target / file.name)
    finally:
        shutil.rmtree(build, ignore_errors=True)


def _builder(spec: str) -> Builder:
    module_name, _, function = spec.partition(":")
    try:
        return getattr(importlib.import_module(module_name), function)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ModelNotFoundError(
            f"The store's converter {spec!r} cannot be loaded ({exc}); reinstall speechlab "
            "with its dependencies (`pip install speechlab`)."
        ) from exc


def _versions_hint(model: StoreModel) -> str:
    return (
        f"The digests were recorded with the package versions in pyproject.toml; run "
        f"`speechlab models fetch {model.name} --force` once more, and if it fails again "
        "report it with `pip freeze` attached."
    )

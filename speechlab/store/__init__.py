"""The model store: turn any model spec into local files.

* :mod:`~speechlab.store.catalogue` — the data: every model the store can assemble
  offline, file by file with sha256 digests (PyPI-carried models and speechlab's own,
  which live in ``speechlab/store/models/``);
* :mod:`~speechlab.store.assembly` — the cache (``$SPEECHLAB_HOME``): assemble, verify,
  locks, atomic writes, progress;
* :mod:`~speechlab.store.specs` — :func:`resolve`: a store name, a local path or a Hub id
  to a local path.

```python
from speechlab.store import resolve
resolve("whisper-base")  # ~/.cache/speechlab/models/whisper-base, assembled on first use
```
"""

from __future__ import annotations

from speechlab.store.assembly import (
    MANIFEST,
    ModelStatus,
    assemble,
    cache_dir,
    is_cached,
    list_models,
    sha256_file,
    store_path,
    verify,
    writable_store_path,
)
from speechlab.store.catalogue import STORE, Derivation, Piece, StoreFile, StoreModel
from speechlab.store.folder_manifest import verify_folder, write_folder_manifest
from speechlab.store.specs import model_label, resolve

__all__ = [
    "MANIFEST",
    "STORE",
    "Derivation",
    "ModelStatus",
    "Piece",
    "StoreFile",
    "StoreModel",
    "assemble",
    "cache_dir",
    "is_cached",
    "list_models",
    "model_label",
    "resolve",
    "sha256_file",
    "store_path",
    "verify",
    "verify_folder",
    "writable_store_path",
    "write_folder_manifest",
]

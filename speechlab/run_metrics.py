"""``speechlab.record(name, value)``: keep a run's key numbers where ``speechlab runs`` finds them.

```python
import speechlab
speechlab.record("cer", 0.071)          # under `speechlab run`: <run folder>/metrics.json
speechlab.recorded()                    # {"cer": 0.071}
```

Under ``speechlab run`` (:func:`speechlab.notebook_runs.run_notebook`) the kernel inherits
``SPEECHLAB_RUN_DIR``, the run folder, and every value is written to its ``metrics.json`` at
once (a run that fails later keeps what it recorded). Anywhere else the values stay in this
process's memory and the first call says so. No Jupyter imports.
"""

from __future__ import annotations

import json
import math
import os
from numbers import Real
from pathlib import Path

from speechlab.errors import SpeechlabError

__all__ = ["METRICS_FILE", "RUN_FOLDER_ENV", "RecordError", "record", "recorded", "run_folder"]

#: The environment variable that names the run folder of a ``speechlab run`` kernel.
RUN_FOLDER_ENV = "SPEECHLAB_RUN_DIR"
#: The file in the run folder that holds the recorded values.
METRICS_FILE = "metrics.json"

_in_memory: dict[str, float | int | str | bool | None] = {}
_told = False


class RecordError(SpeechlabError, ValueError):
    """A value or name that a run record cannot hold."""


def run_folder() -> Path | None:
    """The folder of the ``speechlab run`` this process belongs to, or None outside one."""
    folder = os.environ.get(RUN_FOLDER_ENV)
    return Path(folder) if folder else None


def record(name: str, value: float | int | str | bool | None) -> float | int | str | bool | None:
    """Record ``value`` under ``name`` (a later call with the same name replaces it).

    Numbers (numpy scalars included) are stored as ``float``/``int``; short strings,
    booleans and None as they are. Returns the stored value.
    """
    global _told
    if not isinstance(name, str) or not name.strip():
        raise RecordError(f"record() needs a non-empty name, got {name!r}: record('cer', 0.07).")
    stored = _plain(name, value)
    folder = run_folder()
    if folder is None:
        _in_memory[name] = stored
        if not _told:
            print(
                f"speechlab.record: not inside `speechlab run`, so {name} = {stored!r} (and what "
                "follows) stays in memory only: speechlab.recorded() lists it."
            )
            _told = True
        return stored
    path = folder / METRICS_FILE
    values = _read(path)
    values[name] = stored
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(values, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)
    return stored


def recorded() -> dict[str, float | int | str | bool | None]:
    """What this run recorded so far: the run folder's ``metrics.json``, or the in-memory
    values outside ``speechlab run``."""
    folder = run_folder()
    return _read(folder / METRICS_FILE) if folder is not None else dict(_in_memory)


def _plain(name: str, value: object) -> float | int | str | bool | None:
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str) and len(value) > 200:
            raise RecordError(
                f"record({name!r}, ...) got a {len(value)}-character string; "
                "record numbers or short labels (≤ 200 characters)."
            )
        return value
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Real):
        number = float(value)
        return number if math.isfinite(number) else None
    raise RecordError(
        f"record({name!r}, ...) got a {type(value).__name__}; record one number, string, "
        "boolean or None per name (e.g. record('cer', float(result.cer)))."
    )


def _read(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path} is not valid JSON ({exc}); delete or fix it.") from exc
    return values if isinstance(values, dict) else {}

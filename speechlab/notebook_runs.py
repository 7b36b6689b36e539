"""Run a notebook headless with papermill and keep everything about the run in one folder.

```python
from speechlab.notebook_runs import run_notebook
run = run_notebook("03_evaluate", {"n_sentences": 20})
run.folder    # runs/20260101-030000-03_evaluate/
              #   03_evaluate.ipynb  the executed notebook (outputs, the injected parameters)
              #   parameters.json    parameters, defaults, versions, git commit, duration
              #   metrics.json       what the notebook recorded with speechlab.record()
              #   error.txt          only when the run failed: the error and its traceback
              #   report.html        nbconvert HTML, plotly figures and plotly.js inline
              #   outputs/           the notebook's ``out_dir``, when it declares one
```

A notebook is a path or a short name (``00_tour``, ``tour``, ``00``) looked up in
``./notebooks`` (your own), then in the notebooks shipped inside the package
(``speechlab/notebooks/``, read with :mod:`importlib.resources`).
papermill, nbformat and nbconvert are imported only when a notebook is run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from speechlab.errors import SpeechlabError
from speechlab.files import writable_folder
from speechlab.run_metrics import METRICS_FILE, RUN_FOLDER_ENV

__all__ = [
    "OUTPUT_PARAMETER",
    "NotebookCellError",
    "NotebookNotFoundError",
    "NotebookRunError",
    "ParameterError",
    "RunResult",
    "copy_notebooks",
    "export_html",
    "list_notebooks",
    "notebook_folders",
    "parse_parameters",
    "parse_value",
    "python_literal",
    "resolve_notebook",
    "run_notebook",
    "shipped_notebooks",
]

#: A notebook parameter with this name, when not given, is set to ``<run folder>/outputs``.
OUTPUT_PARAMETER = "out_dir"
RECORD_FILE = "parameters.json"
#: Written into the run folder when a run fails: the error and its traceback.
ERROR_FILE = "error.txt"
REPORT_FILE = "report.html"
#: Recorded in parameters.json when installed (read from package metadata, not imported).
RECORDED_PACKAGES = (
    "speechlab",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "plotly",
    "numpy",
    "torch",
    "onnxruntime",
    "faster-whisper",
    "transformers",
    "kokoro",
    "jiwer",
)
_INTEGER = re.compile(r"[-+]?\d+")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DECIMAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


class NotebookRunError(SpeechlabError):
    """A notebook could not be found, parameterised or run."""


class NotebookNotFoundError(NotebookRunError, LookupError):
    """No notebook matches the path or short name that was given."""


class ParameterError(NotebookRunError, ValueError):
    """A ``-p NAME VALUE`` pair is malformed or names no parameter of the notebook."""


class NotebookCellError(NotebookRunError, RuntimeError):
    """A cell raised; ``cell_index`` is its index (from 0) in the source notebook."""

    def __init__(
        self, message: str, *, cell_index: int, ename: str, evalue: str, folder: Path
    ) -> None:
        super().__init__(message)
        self.cell_index, self.ename, self.evalue, self.folder = cell_index, ename, evalue, folder


@dataclass(frozen=True)
class RunResult:
    """Where a run put its files, what it was given, and how long it took."""

    folder: Path
    notebook: Path  # the executed copy
    source: Path  # the notebook that was run
    parameters: dict[str, Any]
    report: Path | None
    seconds: float

    @property
    def record(self) -> Path:
        return self.folder / RECORD_FILE

    @property
    def metrics(self) -> Path:
        """``metrics.json``: what the notebook recorded (absent when it recorded nothing)."""
        return self.folder / METRICS_FILE


# --------------------------------------------------------------------------- parameters


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill's CLI reads it, a little more YAML-like.

    ``True``/``true``, ``False``/``false``, ``None``/``none``/``null`` → bool/None; integers
    and finite decimals → int/float; ``[a, b]`` and ``{a: 1}`` → YAML flow list/dict;
    anything else stays the string it is (``nan``, ``inf`` and ``''`` included).
    """
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    if text in ("None", "none", "null"):
        return None
    if _INTEGER.fullmatch(text):
        return int(text)
    if _DECIMAL.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    if text.startswith(("[", "{")):
        import yaml

        try:
            value = yaml.load(text, Loader=_plain_yaml_loader())  # a SafeLoader
        except yaml.YAMLError as exc:
            raise ParameterError(
                f"{text!r} looks like a YAML list or mapping but does not parse ({exc}). "
                "Write it as [a, b] or {a: 1}, or quote it inside to pass a string."
            ) from exc
        _check_plain(value, text)
        return value
    return text


def _plain_yaml_loader() -> type:
    """YAML's safe loader without its timestamp rule: ``[2024-01-31]`` is a list of one
    string, as a notebook parameter should be (a ``date`` breaks papermill)."""
    import yaml

    class PlainLoader(yaml.SafeLoader):
        pass

    PlainLoader.yaml_implicit_resolvers = {
        first: [(tag, rule) for tag, rule in rules if tag != "tag:yaml.org,2002:timestamp"]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return PlainLoader


def _check_plain(value: Any, text: str) -> None:
    """Only what a notebook's parameters cell and parameters.json can hold: strings,
    numbers, booleans, None, lists and mappings of those."""
    if isinstance(value, list):
        for item in value:
            _check_plain(item, text)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(key, text)
            _check_plain(item, text)
    elif not isinstance(value, str | int | float | bool | type(None)):
        raise ParameterError(
            f"{text!r} holds a YAML {type(value).__name__} ({value!r}); parameters take "
            "strings, numbers, true/false, none, lists and mappings. Quote it to pass a string."
        )


def parse_parameters(pairs: list[tuple[str, str]] | None) -> dict[str, Any]:
    """``[(name, value), ...]`` from the command line → ``{name: parsed value}``."""
    parameters: dict[str, Any] = {}
    for name, value in pairs or []:
        if not name.isidentifier():
            raise ParameterError(
                f"{name!r} is not a parameter name; use -p NAME VALUE with a Python identifier."
            )
        parameters[name] = parse_value(value)
    return parameters


# --------------------------------------------------------------------------- notebook names


def notebook_folders() -> list[Path]:
    """Where short names are looked up, first match wins: ./notebooks, then the notebooks
    shipped inside the package (a checkout's top-level notebooks/ links to them)."""
    folders: list[Path] = []
    for folder in (Path.cwd() / "notebooks", shipped_notebooks()):
        if folder.is_dir() and folder.resolve() not in folders:
            folders.append(folder.resolve())
    return folders


def shipped_notebooks() -> Path:
    """The folder of the notebooks (and their recipes) that come with speechlab."""
    folder = resources.files("speechlab") / "notebooks"
    if not isinstance(folder, Path):  # a zipped install: papermill needs real files
        raise NotebookRunError(
            f"speechlab's notebooks are not plain files ({folder}); install speechlab "
            "unpacked (pip install speechlab) to run them."
        )
    return folder


def copy_notebooks(folder: str | Path, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Copy the shipped notebooks and their recipes (``*.yaml``, README) into ``folder``.

    Returns ``(copied, kept)``: files already in ``folder`` are kept unless ``force``. A
    ``pip install speechlab`` user gets editable notebooks this way; copied into
    ``./notebooks``, they are what ``speechlab run NAME`` runs (that folder comes first).
    """
    import shutil

    target = writable_folder(Path(folder).expanduser(), what="notebooks folder")
    copied: list[Path] = []
    kept: list[Path] = []
    for path in sorted(shipped_notebooks().iterdir()):
        if path.suffix not in (".ipynb", ".yaml", ".md") or not path.is_file():
            continue
        destination = target / path.name
        if destination.exists() and not force:
            kept.append(destination)
            continue
        shutil.copyfile(path, destination)
        copied.append(destination)
    return copied, kept


def list_notebooks() -> list[Path]:
    """Every notebook that a short name can reach (first folder wins for a name)."""
    seen: dict[str, Path] = {}
    for folder in notebook_folders():
        for path in sorted(folder.glob("*.ipynb")):
            seen.setdefault(path.stem, path)
    return list(seen.values())


def resolve_notebook(notebook: str | Path) -> Path:
    """A notebook path, or a short name: ``03_evaluate(.ipynb)``, ``evaluate`` or ``03``."""
    path = Path(notebook).expanduser()
    if path.is_file():
        return path.resolve()
    text = str(notebook)
    if "/" in text or "\\" in text:
        raise NotebookNotFoundError(f"No notebook at {path}. Check the path.")
    wanted = text.lower().removesuffix(".ipynb")
    for folder in notebook_folders():
        matches = [p for p in sorted(folder.glob("*.ipynb")) if wanted in _short_names(p.stem)]
        if len(matches) > 1:
            names = ", ".join(p.stem for p in matches)
            raise NotebookNotFoundError(
                f"{text!r} matches several notebooks in {folder}: {names}. Use the full name."
            )
        if matches:
            return matches[0]
    available = ", ".join(p.stem for p in list_notebooks()) or "none"
    searched = ", ".join(str(f) for f in notebook_folders()) or "no notebooks folder found"
    raise NotebookNotFoundError(
        f"No notebook named {text!r} (searched {searched}). Available: {available}. "
        "Pass a path to an .ipynb file or one of those names."
    )


def _short_names(stem: str) -> set[str]:
    """``03_evaluate`` → {"03_evaluate", "evaluate", "03"}."""
    names = {stem.lower()}
    number, sep, rest = stem.partition("_")
    if sep and number.isdigit():
        names |= {rest.lower(), number}
    return names


# --------------------------------------------------------------------------- running


def run_notebook(
    notebook: str | Path,
    parameters: dict[str, Any] | None = None,
    *,
    html: bool = True,
    runs_dir: str | Path = "runs",
    kernel_name: str | None = None,
    progress: bool = False,
    cwd: str | Path | None = None,
) -> RunResult:
    """Execute ``notebook`` with ``parameters`` into ``runs_dir/<timestamp>-<name>/``.

    Writes the executed notebook, ``parameters.json`` (parameters, the notebook's defaults,
    versions, git commit, duration, status) and, with ``html``, ``report.html``. If the
    notebook declares ``out_dir`` and it is not given, it is set to the run's ``outputs/``.
    Cells run in ``cwd`` (default: the current directory), so relative paths in parameters
    mean what they mean in the shell. ``parameters.json`` is written before the kernel
    starts (status ``running``) and completed at the end. A raising cell gives
    :class:`NotebookCellError` naming the cell; any other failure a
    :class:`NotebookRunError`. A failed run's folder keeps its ``parameters.json`` (status
    ``failed``, the error), ``error.txt`` (the message and the traceback) and the partly
    executed notebook and its report when there is one.
    """
    import nbformat
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel

    # what papermill raises outside a cell: parameters it cannot write (TypeError),
    # notebooks it cannot read or write (nbformat, OSError), its own exceptions
    around_the_kernel = (
        papermill.exceptions.PapermillException,
        nbformat.ValidationError,
        TypeError,
        ValueError,
        KeyError,
        AttributeError,
        OSError,
        ImportError,
    )
    _use_readable_strings()
    source = resolve_notebook(notebook)
    given = dict(parameters or {})
    declared = _declared_parameters(source)
    _check_names(source, given, declared)
    folder = _new_run_folder(Path(runs_dir).expanduser(), source.stem)
    if OUTPUT_PARAMETER in declared and OUTPUT_PARAMETER not in given:
        given[OUTPUT_PARAMETER] = str((folder / "outputs").resolve())
    executed = folder / source.name
    record: dict[str, Any] = {
        "notebook": str(source),
        "parameters": given,
        "defaults": {name: _default_value(info["default"]) for name, info in declared.items()},
        "kernel": kernel_name or _kernel_of(source),
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "versions": _versions(),
        "git": _git_state(source.parent),
        "status": "running",
    }
    _write_record(folder / RECORD_FILE, record)  # a run that dies still says what it was given
    started = time.perf_counter()
    failure: NotebookRunError | None = None
    try:
        with _kernel_knows_the_run_folder(folder):
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=given,
                kernel_name=kernel_name,
                progress_bar=progress,
                cwd=str(cwd) if cwd is not None else None,
            )
    except papermill.PapermillExecutionError as exc:
        failure = _cell_error(source, executed, folder, exc, html)
        _write_error(folder, failure, exc, "".join(exc.traceback))
    except (NoSuchKernel, RuntimeError, TimeoutError) as exc:  # no kernel, it died, timed out
        failure = _run_error(source, exc)
        failure.__cause__ = exc
        _write_error(folder, failure, exc)
    except around_the_kernel as exc:  # papermill, nbclient, nbformat failing around the kernel
        failure = NotebookRunError(
            f"Could not run {source.name}: {type(exc).__name__}: {exc}. Its parameters and "
            f"the traceback are in {folder} ({RECORD_FILE}, {ERROR_FILE})."
        )
        failure.__cause__ = exc
        _write_error(folder, failure, exc)
    except KeyboardInterrupt:
        record.update(status="interrupted", duration_s=round(time.perf_counter() - started, 3))
        _write_record(folder / RECORD_FILE, record)
        raise
    seconds = time.perf_counter() - started
    record.update(
        finished=datetime.now().astimezone().isoformat(timespec="seconds"),
        duration_s=round(seconds, 3),
        status="failed" if failure else "ok",
        error=str(failure) if failure else None,
    )
    _write_record(folder / RECORD_FILE, record)
    report = None
    if html and executed.is_file():
        report = export_html(executed, folder / REPORT_FILE)
    if failure is not None:
        raise failure
    return RunResult(folder, executed, source, given, report, seconds)


@contextmanager
def _kernel_knows_the_run_folder(folder: Path) -> Iterator[None]:
    """The kernel inherits ``SPEECHLAB_RUN_DIR``, so ``speechlab.record`` writes into the run
    folder's ``metrics.json``."""
    before = os.environ.get(RUN_FOLDER_ENV)
    os.environ[RUN_FOLDER_ENV] = str(folder.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RUN_FOLDER_ENV, None)
        else:
            os.environ[RUN_FOLDER_ENV] = before


def python_literal(text: str) -> str:
    """``text`` as a Python string literal that keeps its letters as written (``"Zażółć"``,
    not papermill's ``"Za\\u017c\\xf3\\u0142\\u0107"``); only characters that are not
    printable are escaped. Double-quoted unless the text holds a double quote."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:  # no double quote inside: swap quotes
        literal = f'"{literal[1:-1]}"'
    return literal


def _use_readable_strings() -> None:
    """Make papermill write the injected-parameters cell with :func:`python_literal`."""
    from papermill.translators import PythonTranslator, papermill_translators

    class ReadablePythonTranslator(PythonTranslator):
        @classmethod
        def translate_str(cls, val: str) -> str:
            return python_literal(val)

    papermill_translators.register("python", ReadablePythonTranslator)  # idempotent


def export_html(notebook: Path, target: Path) -> Path:
    """nbconvert's HTML (lab template) of ``notebook``: outputs as executed, so plotly
    figures made with the ``notebook`` renderer carry plotly.js inline and work offline;
    widgets as their static rendering, audio as Ogg/Opus and plotly.js as the smallest
    bundle that draws the figures (:mod:`speechlab.report_html`)."""
    import nbformat
    from nbconvert import HTMLExporter

    from speechlab.report_html import compact_audio, lighter_plotly, static_widget_outputs

    node = nbformat.read(notebook, as_version=4)
    static_widget_outputs(node)
    compact_audio(node)
    lighter_plotly(node)
    body, _ = HTMLExporter().from_notebook_node(
        node, resources={"metadata": {"name": notebook.stem}}
    )
    target.write_text(body, encoding="utf-8")
    return target


def _declared_parameters(source: Path) -> dict[str, dict[str, Any]]:
    import papermill

    try:
        return dict(papermill.inspect_notebook(str(source)))
    except (ValueError, KeyError, OSError) as exc:  # nbformat: bad JSON / not a notebook
        raise NotebookRunError(
            f"{source} could not be read as a notebook ({type(exc).__name__}: {exc})."
        ) from exc


def _check_names(source: Path, given: dict[str, Any], declared: dict[str, Any]) -> None:
    if not given:
        return
    if not declared:
        raise ParameterError(
            f"{source.name} has no cell tagged 'parameters', so it takes no -p values. "
            "Tag its first code cell 'parameters' (papermill's convention)."
        )
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ParameterError(
            f"{source.name} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(declared)}."
        )


def _new_run_folder(runs_dir: Path, name: str) -> Path:
    writable_folder(runs_dir, what="runs folder", hint="Pass another one with --runs-dir.")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        folder = runs_dir / (f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise NotebookRunError(f"Could not make a new run folder in {runs_dir}; clean it up.")


def _cell_error(
    source: Path, executed: Path, folder: Path, exc: Any, html: bool
) -> NotebookCellError:
    """Name the failing cell as it is in the source notebook (papermill's index counts the
    injected-parameters cell too): its number from 1, its prompt and its first line."""
    import nbformat

    cells = nbformat.read(source, as_version=4).cells
    ran = nbformat.read(executed, as_version=4).cells if executed.is_file() else []
    index = int(exc.cell_index)
    if any(_tagged(cell, "injected-parameters") for cell in ran):
        tagged = [i for i, cell in enumerate(cells) if _tagged(cell, "parameters")]
        if index > (tagged[0] + 1 if tagged else 0):  # papermill's cell sits after that one
            index -= 1
    total = len(cells)
    first_line = next((line for line in str(exc.source).splitlines() if line.strip()), "")
    prompt = f", In [{exc.exec_count}]" if exc.exec_count is not None else ""
    where = f"{executed}" + (f" and {folder / REPORT_FILE}" if html else "")
    return NotebookCellError(
        f"{source.name} failed in cell {index + 1} of {total}{prompt} "
        f"({first_line.strip()[:80]!r}): {exc.ename}: {exc.evalue}. The traceback is in "
        f"{where}; fix that cell or the parameters and rerun.",
        cell_index=index,
        ename=str(exc.ename),
        evalue=str(exc.evalue),
        folder=folder,
    )


def _tagged(cell: Any, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def _run_error(source: Path, exc: Exception) -> NotebookRunError:
    name = type(exc).__name__
    if isinstance(exc, KeyError):  # jupyter_client's NoSuchKernel
        return NotebookRunError(
            f"No Jupyter kernel {exc} for {source.name}. Install one in this environment "
            "(python -m ipykernel install --user --name NAME) or pass kernel_name=/--kernel."
        )
    if name == "DeadKernelError":
        return NotebookRunError(
            f"The kernel running {source.name} died ({exc}); often out of memory. "
            "Try smaller parameters."
        )
    return NotebookRunError(f"Could not run {source.name}: {name}: {exc}")


def _kernel_of(source: Path) -> str | None:
    metadata = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    return metadata.get("kernelspec", {}).get("name")


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


def _git_state(folder: Path) -> dict[str, Any] | None:
    """The commit of the checkout holding the notebook, and whether it had local changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if head.returncode != 0:
            return None  # not a git checkout (an installed wheel)
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # no git on this machine
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def _write_record(path: Path, record: dict[str, Any]) -> None:
    path.write_text(
        json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )


def _write_error(
    folder: Path, failure: NotebookRunError, exc: BaseException, trace: str = ""
) -> None:
    """``error.txt``: speechlab's message, then the traceback (the kernel's for a cell)."""
    import traceback

    trace = _ANSI.sub("", trace) or "".join(traceback.format_exception(exc))
    (folder / ERROR_FILE).write_text(f"{failure}\n\n{trace.rstrip()}\n", encoding="utf-8")


def _default_value(source: str) -> Any:
    """A parameter's default as the value it is (``'"x"'`` → ``'x'``, ``'1'`` → 1) when it is
    a Python literal; other expressions (``Path("a")``) stay as written."""
    import ast

    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return source

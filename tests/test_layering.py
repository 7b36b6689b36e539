"""The floors of docs/architecture.md: imports only point down, and packages on one floor
stay apart (``train`` never imports ``eval``; nothing reaches into a private module)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "speechlab"

#: Floor of each top-level part of speechlab (a module or a package), lowest first.
FLOORS: dict[str, int] = {
    # ground: records, audio, corpora, text, scoring, the model store, errors
    **dict.fromkeys(
        (
            "errors",
            "audio",
            "transcript",
            "corpus",
            "textnorm",
            "error_rates",
            "store",
            "samples",
            "environment",
            "files",
            "devices",
            "run_metrics",
            "report_html",
        ),
        0,
    ),
    # engines
    "asr": 1,
    "tts": 1,
    # workflows
    "eval": 2,
    "train": 2,
    "scale": 2,
    "notebook_runs": 2,
    "run_history": 2,
    "selfcheck": 2,
    # combining train and eval: recipes; quantization (QAT fine-tunes, comparisons score)
    "recipes": 3,
    "quantization": 3,
    # surfaces
    "widgets": 4,
    "plots": 4,
    "cli": 4,
    # ``python -m speechlab``: the command line's entry point
    "__main__": 5,
}
GROUND = 0


def _part(module: str) -> str | None:
    """``speechlab.eval.metrics`` → ``eval``; the package itself → None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "speechlab" else None


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Every speechlab module ``path`` imports (at any depth of the file), ``from speechlab
    import x`` read as ``speechlab.x`` when ``x`` is a module or package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("speechlab")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if not node.module.startswith("speechlab"):
                continue
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                relative = Path(*candidate.split("."))
                is_module = (ROOT / relative).is_dir() or (ROOT / relative).with_suffix(
                    ".py"
                ).is_file()
                found.append(candidate if is_module else node.module)
    return found


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "notebooks" not in p.parts)


def test_every_part_of_speechlab_has_a_floor():
    parts = {_part(_module_name(p)) for p in _sources()} - {None}
    missing = parts - set(FLOORS)
    assert not missing, f"give these a floor here and in docs/architecture.md: {missing}"


def _violations(here: str, imports: list[str]) -> list[str]:
    """What breaks the floors when module ``here`` imports ``imports``."""
    own = _part(here)
    if own is None:  # the package's face re-exports from every floor
        return []
    bad = []
    for target in imports:
        other = _part(target)
        if other is None or other == own:  # ``from speechlab import __version__``; itself
            continue
        floor, target_floor = FLOORS[own], FLOORS[other]
        if target_floor > floor:
            bad.append(f"{target} (floor {target_floor}) is above {here} (floor {floor})")
        elif target_floor == floor and floor != GROUND:
            bad.append(f"{target} is beside {here} on floor {floor}: keep them apart")
    return bad


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_and_packages_on_a_floor_stay_apart(path: Path):
    bad = _violations(_module_name(path), _imports(path))
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_imports_another_packages_private_module(path: Path):
    here = _module_name(path)
    bad = []
    for target in _imports(path):
        private = [p for p in target.split(".") if p.startswith("_") and not p.startswith("__")]
        if private and _part(target) != _part(here):
            bad.append(target)
    assert not bad, f"{here} imports private modules {bad}"


def test_workflows_reach_engines_only_through_their_faces_or_public_modules():
    """``eval`` sees recognizers and synthesizers through ``speechlab.asr``/``speechlab.tts``
    (their contracts), never a backend module such as ``speechlab.asr.whisper``."""
    backends = {"speechlab.asr.whisper", "speechlab.asr.wav2vec2", "speechlab.asr.ctc_runtime"}
    backends |= {"speechlab.tts.kokoro_onnx", "speechlab.tts.kokoro_torch"}
    offenders = [
        f"{_module_name(p)} imports {t}"
        for p in (PACKAGE / "eval").rglob("*.py")
        for t in _imports(p)
        if t in backends
    ]
    assert not offenders


def test_the_layering_check_is_live(tmp_path: Path):
    """Upward and sideways imports are reported; downward ones are not."""
    probe = tmp_path / "probe.py"
    probe.write_text("from speechlab.eval import evaluate\nimport speechlab.train.data\n")
    assert _imports(probe) == ["speechlab.eval", "speechlab.train.data"]
    assert _violations("speechlab.corpus", ["speechlab.eval"])  # ground importing a workflow
    assert _violations("speechlab.train.data", ["speechlab.eval.metrics"])  # train beside eval
    assert _violations("speechlab.asr.base", ["speechlab.tts.speech"])  # engine beside engine
    assert not _violations("speechlab.eval.evaluation", ["speechlab.corpus", "speechlab.asr"])
    assert not _violations("speechlab.recipes.adaptation", ["speechlab.train", "speechlab.eval"])


def test_no_package_face_hides_a_module_behind_a_function():
    """``speechlab.eval.evaluate`` must be one thing: a package's ``__init__`` never exports
    a name that is also one of its modules."""
    clashes = []
    for init in PACKAGE.rglob("__init__.py"):
        folder = init.parent
        if "notebooks" in folder.parts:
            continue
        modules = {p.stem for p in folder.glob("*.py")} | {
            d.name for d in folder.iterdir() if (d / "__init__.py").is_file()
        }
        for node in ast.walk(ast.parse(init.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    name = alias.asname or alias.name
                    target = f"{node.module}.{alias.name}"
                    own = f"{_module_name(init)}.{name}"
                    if name in modules and target != own:
                        clashes.append(f"{_module_name(init)}.{name}")
    assert not clashes

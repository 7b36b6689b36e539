"""binder/ agrees with pyproject and the notebooks (repo2docker itself cannot run here)."""

from __future__ import annotations

import ast
import os
import re
import shlex
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: What the notebooks need beyond the core (faster-whisper is core): the packages the offline
#: store assembles its models from.
NEEDED_EXTRAS = {"offline-models"}
BINDER_URL = re.compile(r"https://mybinder\.org/v2/gh/([^/\s)]+)/([^/\s)]+)/([^?\s)]+)\?([^\s)]+)")


def _post_build_lines() -> list[str]:
    text = (BINDER / "postBuild").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _installed_extras() -> set[str]:
    """Extras of the repository root that postBuild pip-installs (``".[a,b]"``)."""
    extras: set[str] = set()
    for line in _post_build_lines():
        words = shlex.split(line)
        if "pip" in words and "install" in words:
            for word in words:
                match = re.fullmatch(r"\.(?:\[([^\]]*)\])?", word)
                if match:
                    extras |= {e.strip() for e in (match.group(1) or "").split(",") if e.strip()}
                    extras.add("")  # the root itself
    return extras


def test_post_build_is_executable_and_stops_at_the_first_error():
    path = BINDER / "postBuild"
    assert os.access(path, os.X_OK), "chmod +x binder/postBuild"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -e", path.read_text(), re.MULTILINE)


def test_post_build_installs_the_package_with_the_extras_the_notebooks_need():
    extras = _installed_extras()
    assert "" in extras, "postBuild must pip install the repository root ('.')"
    assert extras >= NEEDED_EXTRAS
    assert extras - {""} <= set(PROJECT["optional-dependencies"]), "unknown extra"


def test_post_build_assembles_the_offline_models_after_installing():
    lines = _post_build_lines()
    install = next(i for i, line in enumerate(lines) if "pip install" in line)
    fetch = next(i for i, line in enumerate(lines) if "speechlab models fetch --all" in line)
    assert install < fetch


def test_requirements_give_cpu_torch_compatible_with_pyproject():
    lines = [
        line.strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "--index-url https://download.pytorch.org/whl/cpu" in lines
    requirements = [Requirement(line) for line in lines if not line.startswith("-")]
    core = {canonicalize_name(Requirement(d).name): Requirement(d) for d in PROJECT["dependencies"]}
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in core, f"{name} is not a speechlab dependency"
        assert str(requirement.specifier) == str(core[name].specifier), name
    assert "torch" in {canonicalize_name(r.name) for r in requirements}


def test_runtime_python_satisfies_requires_python():
    version = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", version)
    assert version.removeprefix("python-") + ".0" in SpecifierSet(PROJECT["requires-python"])


def test_apt_installs_espeak_ng():
    assert "espeak-ng" in (BINDER / "apt.txt").read_text().split()


def _binder_links() -> list[re.Match[str]]:
    links = []
    for readme in (ROOT / "README.md", ROOT / "notebooks" / "README.md"):
        links += list(BINDER_URL.finditer(readme.read_text(encoding="utf-8")))
    return links


def test_binder_links_open_an_existing_notebook_of_this_repository():
    links = _binder_links()
    assert links, "no mybinder.org link in README.md or notebooks/README.md"
    homepage = PROJECT["urls"]["Homepage"].rstrip("/").split("/")[-2:]
    for link in links:
        owner, repo, _ref, query = link.groups()
        assert [owner, repo] == homepage
        target = re.search(r"urlpath=lab/tree/([^&]+)", query)
        assert target, f"{link.group(0)} does not open a file in JupyterLab"
        assert (ROOT / target.group(1)).is_file(), target.group(1)
    assert any(link.group(0).endswith("lab/tree/notebooks/00_tour.ipynb") for link in links)


def _closure(requirements: list[Requirement]) -> set[str]:
    """Installed distributions these requirements pull in (markers and extras followed)."""
    seen: set[tuple[str, str]] = set()
    todo = [(r, "") for r in requirements]
    found: set[str] = set()
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(requirement.name)
        for wanted in ["", *sorted(requirement.extras)]:
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                requires = distribution(name).requires or []
            except PackageNotFoundError:
                continue
            found.add(name)
            todo += [(Requirement(r), wanted) for r in requires]
    return found


def test_every_module_the_notebooks_import_comes_with_the_binder_install():
    roots = [Requirement(d) for d in PROJECT["dependencies"]]
    for extra in NEEDED_EXTRAS:
        roots += [Requirement(d) for d in PROJECT["optional-dependencies"][extra]]
    installed = _closure(roots)
    owners = packages_distributions()
    missing = set()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(cell.source)):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                for module in {n.split(".")[0] for n in names}:
                    if module in sys.stdlib_module_names or module == "speechlab":
                        continue
                    dists = {canonicalize_name(d) for d in owners.get(module, [])}
                    if not dists & installed:
                        missing.add(f"{path.name}: {module}")
    assert not missing, f"not installed by binder (add to pyproject): {sorted(missing)}"


@pytest.mark.parametrize("extra", sorted(NEEDED_EXTRAS))
def test_needed_extras_exist_in_pyproject(extra):
    assert PROJECT["optional-dependencies"][extra]

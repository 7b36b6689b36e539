"""Bad inputs and outputs, generated: every class of issue 14's "part B" gives a typed error
that names the real problem (a ``SpeechlabError``; on the command line one ``error:`` line
and exit status 2), fails before the expensive work, and loses nothing already written.

Classes: audio sources (missing, empty, folders, FIFOs, character devices, over-long
names, non-audio bytes, broken headers, data corrupt after the header, text-mode file
objects), arrays (empty, wrong shape or dtype, NaN/inf, absurd values, bad rates), output
locations (a file where a folder should be, a folder under a regular file, a name longer
than NAME_MAX, and -- simulated, since tests run as root -- a read-only file system, no
permission, a full disk) for every writer (``Audio.save``, notebook runs, ``evaluate``,
``roundtrip``, ``finetune``, the model cache, and the CLI commands), text files in the
wrong encoding, notebook parameters, and the CLI transcription of broken and long files.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from notebook_fixtures import make_notebook
from typer.testing import CliRunner

import speechlab
from speechlab import files, store
from speechlab.audio import Audio, iter_blocks
from speechlab.cli import app
from speechlab.corpus import read_data
from speechlab.errors import AudioError, DatasetError, OutputError
from speechlab.eval import evaluate, roundtrip
from speechlab.notebook_runs import (
    ERROR_FILE,
    RECORD_FILE,
    NotebookRunError,
    ParameterError,
    parse_value,
    run_notebook,
)
from speechlab.train import finetune

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()
POLISH = "Zażółć gęślą jaźń"


def one_error_line(result, *patterns: str) -> str:
    """The CLI failed with exit status 2 and exactly one ``error:`` line matching ``patterns``,
    and no traceback."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for pattern in patterns:
        assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


@pytest.fixture
def good_wav(tmp_path: Path) -> Path:
    t = np.arange(16_000) / 16_000
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16_000).save(
        tmp_path / "good.wav"
    )


def corrupt_flac(path: Path, seconds: float = 5.0) -> Path:
    """A FLAC whose header is fine and whose data is scrambled from a third of the way on."""
    noise = np.random.default_rng(0).standard_normal(int(16_000 * seconds)) * 0.1
    sf.write(path, noise.astype(np.float32), 16_000)
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data)):
        data[i] = (data[i] * 7 + 13) % 256
    path.write_bytes(bytes(data))
    return path


# =========================================================================== audio sources


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.wav")
    return tmp / "pipe.wav"


def _write(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return make


def _wav_head(tmp: Path) -> Path:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(800, np.float32), 8_000, format="WAV")
    (tmp / "head.wav").write_bytes(buf.getvalue()[:20])
    return tmp / "head.wav"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "plain.wav").write_bytes(b"RIFF")
    return tmp / "plain.wav" / "inner.wav"


#: name -> (make the source in a folder, what the message must say, readers it fails in)
AUDIO_SOURCES: dict[str, tuple[Callable[[Path], Path], str, tuple[str, ...]]] = {
    "missing file": (lambda t: t / "nope.wav", r"not found", ("load", "info", "blocks")),
    "empty file": (_write("empty.wav", b""), r"empty \(0 bytes\)", ("load", "info", "blocks")),
    "a folder": (lambda t: t, r"is a directory", ("load", "info", "blocks")),
    "a FIFO": (_fifo, r"named pipe \(FIFO\)", ("load", "info", "blocks")),
    "/dev/zero": (lambda t: Path("/dev/zero"), r"character device", ("load", "info", "blocks")),
    "/dev/urandom": (lambda t: Path("/dev/urandom"), r"character device", ("load", "info")),
    "/dev/null": (lambda t: Path("/dev/null"), r"character device", ("load", "info", "blocks")),
    "a name longer than NAME_MAX": (
        lambda t: t / ("a" * 300 + ".wav"),
        r"304 bytes long, more than the file system allows \(\d+ bytes\)",
        ("load", "info", "blocks"),
    ),
    "a path under a regular file": (
        _under_a_file,
        r"not found.*a part of the path is a file",
        ("load", "info", "blocks"),
    ),
    "random bytes named .mp3": (
        _write("noise.mp3", np.random.default_rng(1).bytes(5000)),
        r"not MP3 audio that libsndfile can decode",
        ("load", "info", "blocks"),
    ),
    "random bytes named .wav": (
        _write("noise.wav", np.random.default_rng(2).bytes(5000)),
        r"Format not recognised",
        ("load", "info", "blocks"),
    ),
    "text named .flac": (
        _write("words.flac", b"not audio at all"),
        r"Format not recognised",
        ("load", "info", "blocks"),
    ),
    "a WAV cut inside its header": (_wav_head, r"Malformed", ("load", "info", "blocks")),
    "a FLAC corrupt after its header": (
        lambda t: corrupt_flac(t / "broken.flac"),
        r"corrupt",
        ("load", "blocks"),
    ),
}
READERS: dict[str, Callable[[Path], object]] = {
    "load": speechlab.load,
    "info": speechlab.audio.info,
    "blocks": lambda p: list(iter_blocks(p, seconds=1.0)),
}


@pytest.mark.timeout(30)  # a FIFO or a device that was read would block or never end
@pytest.mark.parametrize(
    ("source", "reader"),
    [(s, r) for s, (_, _, readers) in AUDIO_SOURCES.items() for r in readers],
)
def test_every_bad_audio_source_names_its_problem(tmp_path, source, reader):
    make, message, _ = AUDIO_SOURCES[source]
    path = make(tmp_path)
    with pytest.raises(AudioError, match=message):
        READERS[reader](path)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("source", [s for s in AUDIO_SOURCES if s != "a folder"])
def test_the_transcribe_cli_reports_every_bad_source_in_one_line(tmp_path, tiny_ctc_dir, source):
    make, message, _ = AUDIO_SOURCES[source]
    path = make(tmp_path)
    result = runner.invoke(app, ["transcribe", str(path), "--model", str(tiny_ctc_dir)])
    one_error_line(result, message)


def test_a_text_mode_file_object_is_called_text_mode(good_wav):
    with good_wav.open() as handle, pytest.raises(AudioError, match=r"open in text mode.*'rb'"):
        speechlab.load(handle)
    with pytest.raises(AudioError, match="text mode"):
        speechlab.load(io.StringIO("RIFF...."))
    with good_wav.open("rb") as handle:  # binary is fine
        assert speechlab.load(handle).duration == pytest.approx(1.0)


#: name -> (samples, source_rate, what the message must say)
ARRAYS: dict[str, tuple[object, object, str]] = {
    "empty (0, 2)": (np.zeros((0, 2)), 16_000, r"empty \(shape \(0, 2\), 0 samples\)"),
    "empty (5, 0)": (np.zeros((5, 0)), 16_000, r"empty"),
    "empty list": ([], 16_000, r"empty"),
    "3-D": (np.zeros((2, 3, 4)), 16_000, r"1-D or 2-D"),
    "complex": (np.ones(10, np.complex64), 16_000, r"float or integer PCM.*complex64"),
    "strings": (np.array(["a", "b"]), 16_000, r"float or integer PCM"),
    "booleans": (np.ones(10, bool), 16_000, r"float or integer PCM.*bool"),
    "ragged lists": ([[1.0, 2.0], [3.0]], 16_000, r"Could not turn the given samples"),
    "NaN": (np.array([0.1, np.nan, 0.2]), 16_000, r"1 NaN or infinite"),
    "inf": (np.array([0.1, np.inf, -np.inf]), 16_000, r"2 NaN or infinite"),
    "absurd values": (np.array([0.5, 1e35]), 16_000, r"expected in \[-1, 1\].*1e\+35"),
    "100 x 100": (np.zeros((100, 100)), 16_000, r"Cannot tell channels from samples"),
    "no rate": (np.zeros(10), None, r"no sample rate"),
    "rate 0": (np.zeros(10), 0, r"not a plausible audio rate"),
    "rate NaN": (np.zeros(10), float("nan"), r"whole number of Hz"),
    "rate as text": (np.zeros(10), "16k", r"must be a number of Hz"),
    "rate True": (np.zeros(10), True, r"must be a number of Hz"),
}


@pytest.mark.parametrize("case", ARRAYS)
def test_every_bad_array_names_its_problem(case):
    samples, rate, message = ARRAYS[case]
    with pytest.raises(AudioError, match=message):
        speechlab.load(samples, source_rate=rate)


# =========================================================================== output locations


def _taken(tmp: Path) -> Path:
    """A file (a real WAV) where a folder should be."""
    target = tmp / "taken.wav"
    sf.write(target, np.zeros(160, np.float32), 16_000)
    return target


def _simulated(code: int) -> Callable[[Path, pytest.MonkeyPatch], Path]:
    def make(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        def refuse(folder: Path) -> None:
            raise OSError(code, os.strerror(code), str(folder))

        monkeypatch.setattr(files, "_probe", refuse)
        (tmp / "place").mkdir()
        return tmp / "place"

    return make


#: name -> (make the location, what the message must say). Tests run as root in CI, so
#: permissions cannot be taken away: read-only, no-permission and full-disk locations are
#: simulated at the one place speechlab asks the file system (``files._probe``).
LOCATIONS: dict[str, tuple[Callable[[Path, pytest.MonkeyPatch], Path], str]] = {
    "a file where a folder should be": (lambda t, _: _taken(t), r"taken\.wav is a file, not a"),
    "a folder under a regular file": (
        lambda t, _: _taken(t) / "sub",
        r"it would go inside .*taken\.wav\): .*is a file, not a folder",
    ),
    "a name longer than NAME_MAX": (
        lambda t, _: t / ("n" * 300),
        r"is 300 bytes long, more than this file system allows \(\d+ bytes\)",
    ),
    "a read-only file system": (_simulated(errno.EROFS), r"read-only file system"),
    "no permission": (_simulated(errno.EACCES), r"permission denied"),
    "a full disk": (_simulated(errno.ENOSPC), r"no space left"),
}


@pytest.fixture
def manifest(tmp_path: Path, good_wav: Path) -> Path:
    path = tmp_path / "data.tsv"
    path.write_text(f"path\ttext\n{good_wav}\t{POLISH}\n", encoding="utf-8")
    return path


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    return make_notebook(tmp_path / "nb" / "tiny.ipynb", "print(n, name)")


@pytest.fixture
def ft_config(tmp_path: Path, manifest: Path) -> Path:
    path = tmp_path / "ft.yaml"
    path.write_text(f"model: no-such-org/no-such-model\ntrain: {manifest}\nout_dir: unused\n")
    return path


# Each writer gets the bad location and the fixtures; a model spec that cannot resolve
# ("no-such-...") proves the location is checked before any model is opened.
PYTHON_WRITERS: dict[str, Callable[..., object]] = {
    "Audio.save": lambda loc, f: Audio(np.zeros(1600, np.float32), 16_000).save(loc / "x.wav"),
    "writable_folder": lambda loc, f: files.writable_folder(loc),
    "run_notebook(runs_dir=)": lambda loc, f: run_notebook(f["notebook"], runs_dir=loc),
    "evaluate(out=)": lambda loc, f: evaluate("no-such-org/no-such-model", f["manifest"], out=loc),
    "roundtrip(out=)": lambda loc, f: roundtrip("no-such-tts", "no-such-asr", ["tekst"], out=loc),
    "finetune(out_dir=)": lambda loc, f: finetune(
        {"model": "no-such-org/no-such-model", "train": str(f["manifest"]), "out_dir": str(loc)}
    ),
}
STORE_WRITERS: dict[str, Callable[[], object]] = {
    "store.assemble": lambda: store.assemble("whisper-base"),
    "load_asr()": lambda: speechlab.load_asr(),
}
CLI_WRITERS: dict[str, Callable[[Path, dict], list[str]]] = {
    "transcribe --out": lambda loc, f: [
        "transcribe", str(f["good_wav"]), "--model", "/no/such/model", "--out", str(loc),
    ],
    "say -o": lambda loc, f: [
        "say", "Dzień dobry", "--model", "/no/such", "-o", str(loc / "x.wav"),
    ],
    "run --runs-dir": lambda loc, f: ["run", str(f["notebook"]), "--runs-dir", str(loc)],
    "eval --out": lambda loc, f: [
        "eval", "--model", "/no/such/model", "--data", str(f["manifest"]), "--out", str(loc),
    ],
    "finetune --out": lambda loc, f: [
        "finetune", "--config", str(f["ft_config"]), "--out", str(loc),
    ],
}  # fmt: skip
STORE_CLI = {"models fetch": [], "models fetch --force": ["--force"]}


def _untouched(tmp: Path) -> Callable[[], None]:
    """A check that the blocking file of a location, when there is one, is as it was."""
    taken = tmp / "taken.wav"
    before = taken.read_bytes() if taken.exists() else None

    def check() -> None:
        if before is not None:
            assert taken.read_bytes() == before, "the file in the way was changed"

    return check


@pytest.mark.parametrize("writer", PYTHON_WRITERS)
@pytest.mark.parametrize("location", LOCATIONS)
def test_every_python_writer_refuses_a_bad_location_first(
    tmp_path, monkeypatch, location, writer, manifest, notebook
):
    make, message = LOCATIONS[location]
    loc = make(tmp_path, monkeypatch)
    untouched = _untouched(tmp_path)
    with pytest.raises(OutputError, match=message):
        PYTHON_WRITERS[writer](loc, {"manifest": manifest, "notebook": notebook})
    untouched()


@pytest.mark.parametrize("writer", STORE_WRITERS)
@pytest.mark.parametrize("location", LOCATIONS)
def test_a_bad_model_cache_names_speechlab_home(tmp_path, monkeypatch, location, writer):
    make, message = LOCATIONS[location]
    home = make(tmp_path, monkeypatch)
    monkeypatch.setenv("SPEECHLAB_HOME", str(home))
    untouched = _untouched(tmp_path)
    with pytest.raises(OutputError, match=message) as caught:
        STORE_WRITERS[writer]()
    assert "set SPEECHLAB_HOME to a writable folder" in str(caught.value)
    untouched()


@pytest.mark.parametrize("writer", CLI_WRITERS)
@pytest.mark.parametrize("location", LOCATIONS)
def test_every_cli_writer_refuses_a_bad_location_in_one_line(
    tmp_path, monkeypatch, location, writer, good_wav, manifest, notebook, ft_config
):
    make, message = LOCATIONS[location]
    loc = make(tmp_path, monkeypatch)
    untouched = _untouched(tmp_path)
    fixtures = {
        "good_wav": good_wav,
        "manifest": manifest,
        "notebook": notebook,
        "ft_config": ft_config,
    }
    result = runner.invoke(app, CLI_WRITERS[writer](loc, fixtures))
    one_error_line(result, message)
    untouched()


@pytest.mark.parametrize("flags", STORE_CLI)
@pytest.mark.parametrize("location", LOCATIONS)
def test_models_fetch_with_a_bad_cache_fails_in_one_line(tmp_path, monkeypatch, location, flags):
    make, message = LOCATIONS[location]
    monkeypatch.setenv("SPEECHLAB_HOME", str(make(tmp_path, monkeypatch)))
    result = runner.invoke(app, ["models", "fetch", "whisper-base", *STORE_CLI[flags]])
    one_error_line(result, message, r"SPEECHLAB_HOME")
    assert "MB" not in result.stderr  # refused before the progress bar started


def test_transcribe_out_naming_the_input_file_leaves_it_intact(good_wav):
    before = good_wav.read_bytes()
    result = runner.invoke(app, ["transcribe", str(good_wav), "--out", str(good_wav)])
    one_error_line(result, r"good\.wav is a file, not a folder")
    assert good_wav.read_bytes() == before


def test_saving_onto_a_folder_or_an_unknown_format_fails_before_writing(tmp_path):
    audio = Audio(np.zeros(160, np.float32), 16_000)
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(OutputError, match="it is a folder"):
        audio.save(tmp_path / "dir.wav")
    with pytest.raises(AudioError, match="unknown audio format 'XYZ'"):
        audio.save(tmp_path / "x.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.wav"]  # no partial files


def test_a_name_at_the_limit_saves_and_a_failed_save_keeps_the_old_file(tmp_path):
    """The temporary name no longer grows a 255-byte name past the limit; a save that
    fails (MP3 at 96 kHz) leaves the file that was there."""
    audio = Audio(np.zeros(1600, np.float32), 16_000)
    limit = files.name_max(tmp_path)
    at_limit = tmp_path / ("b" * (limit - 4) + ".wav")
    assert audio.save(at_limit).stat().st_size > 0
    old = audio.save(tmp_path / "keep.mp3").read_bytes()
    with pytest.raises(AudioError, match="MP3 and Opus accept only some sample rates"):
        Audio(np.zeros(960, np.float32), 96_000).save(tmp_path / "keep.mp3")
    assert (tmp_path / "keep.mp3").read_bytes() == old
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_say_checks_the_output_before_loading_a_model(tmp_path):
    result = runner.invoke(app, ["say", "x", "--model", "/no/such", "-o", str(tmp_path / "a.xyz")])
    one_error_line(result, r"unknown audio format 'XYZ'")
    lines = tmp_path / "lines.txt"
    lines.write_text("a\nb\n", encoding="utf-8")
    batch = runner.invoke(
        app,
        ["say", f"@{lines}", "--batch", "--model", "/no/such", "-o", str(tmp_path / "no/x.wav")],
    )
    one_error_line(batch, r"x-0002\.wav: the folder .*no does not exist")


# =========================================================================== text encodings


CP1250 = f"path\ttext\n{{wav}}\t{POLISH}\n"


def test_a_cp1250_manifest_names_the_expected_encoding_and_reads_with_it(tmp_path, good_wav):
    manifest = tmp_path / "cp.tsv"
    manifest.write_bytes(CP1250.format(wav=good_wav).encode("cp1250"))
    with pytest.raises(DatasetError, match=r"not utf-8 text: byte 0xbf at line 2.*--encoding"):
        read_data(manifest)
    corpus = read_data(manifest, encoding="cp1250")
    assert [u.reference for u in corpus.utterances] == [POLISH]
    with pytest.raises(DatasetError, match="Unknown text encoding 'klingon'"):
        read_data(manifest, encoding="klingon")


def test_a_cp1250_transcript_in_a_folder_and_a_byte_order_mark(tmp_path, good_wav):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.wav").write_bytes(good_wav.read_bytes())
    (folder / "a.txt").write_bytes(POLISH.encode("cp1250"))
    with pytest.raises(DatasetError, match=r"transcript .*a\.txt is not utf-8"):
        read_data(folder)
    assert next(iter(read_data(folder, encoding="cp1250").utterances)).reference == POLISH
    (folder / "a.txt").write_bytes(b"\xef\xbb\xbf" + POLISH.encode())  # UTF-8 with a BOM
    assert next(iter(read_data(folder).utterances)).reference == POLISH


def test_eval_cli_with_a_cp1250_manifest(tmp_path, good_wav):
    manifest = tmp_path / "cp.tsv"
    manifest.write_bytes(CP1250.format(wav=good_wav).encode("cp1250"))
    result = runner.invoke(app, ["eval", "--model", "/no/such/model", "--data", str(manifest)])
    one_error_line(result, r"not utf-8 text", r"--encoding cp1250")
    # with the encoding the manifest reads, and the run goes on to the (missing) model
    decoded = runner.invoke(
        app, ["eval", "--model", "/no/such/model", "--data", str(manifest), "--encoding", "cp1250"]
    )
    line = one_error_line(decoded)
    assert "encoding" not in line and "/no/such/model" in line


@pytest.mark.parametrize("via", ["@file", "stdin"])
def test_say_with_non_utf8_text(tmp_path, via):
    text = tmp_path / "text.txt"
    text.write_bytes(POLISH.encode("cp1250"))
    args = ["say", f"@{text}" if via == "@file" else "-", "--model", "/no/such"]
    stdin = text.read_bytes() if via == "stdin" else None
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "x.wav")], input=stdin)
    one_error_line(result, r"not utf-8 text: byte 0xbf at line 1, column 3", r"--encoding")
    decoded = runner.invoke(
        app, [*args, "-o", str(tmp_path / "x.wav"), "--encoding", "cp1250"], input=stdin
    )
    assert "encoding" not in one_error_line(decoded)  # decoded; then the missing model fails


# =========================================================================== notebook runs


def test_yaml_dates_in_parameters_stay_strings():
    assert parse_value("[2024-01-31]") == ["2024-01-31"]
    assert parse_value("{when: 2024-01-31 10:00:00, n: 2}") == {
        "when": "2024-01-31 10:00:00",
        "n": 2,
    }
    assert parse_value("2024-01-31") == "2024-01-31"
    for text in ("[!!binary aGVsbG8=]", "[!!set {a: null}]", "[!!timestamp 2024-01-31]"):
        with pytest.raises(ParameterError, match="parameters take strings, numbers"):
            parse_value(text)


def test_a_run_that_fails_outside_a_cell_keeps_its_parameters_and_the_error(tmp_path, notebook):
    """papermill cannot write a ``date`` into the notebook (TypeError before any cell)."""
    import datetime

    with pytest.raises(NotebookRunError, match=r"TypeError.*error\.txt") as caught:
        run_notebook(notebook, {"name": datetime.date(2024, 1, 31)}, runs_dir=tmp_path / "runs")
    assert not isinstance(caught.value, OutputError)
    (folder,) = (tmp_path / "runs").iterdir()
    record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    assert record["status"] == "failed" and "not JSON serializable" in record["error"]
    assert record["parameters"]["name"] == "2024-01-31"
    assert "Traceback" in (folder / ERROR_FILE).read_text(encoding="utf-8")


@pytest.mark.slow
def test_run_cli_with_a_date_list_and_polish_defaults(tmp_path):
    notebook = make_notebook(
        tmp_path / "pl.ipynb", "print(repr(name))", parameters=f'name = "{POLISH}"\nn = 1'
    )
    result = runner.invoke(
        app, ["run", str(notebook), "-p", "name", "[2024-01-31]", "--runs-dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    (folder,) = (p for p in tmp_path.iterdir() if p.is_dir())
    raw = (folder / RECORD_FILE).read_text(encoding="utf-8")
    assert POLISH in raw  # readable, not \u escapes
    record = json.loads(raw)
    assert record["parameters"] == {"name": ["2024-01-31"]}
    assert record["defaults"] == {"name": POLISH, "n": 1}  # values, not '"..."' source text
    assert "['2024-01-31']" in (folder / "pl.ipynb").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_failing_cell_leaves_error_txt_with_the_kernel_traceback(tmp_path):
    notebook = make_notebook(tmp_path / "bad.ipynb", "1 / 0")
    result = runner.invoke(app, ["run", str(notebook), "--runs-dir", str(tmp_path / "r")])
    one_error_line(result, r"ZeroDivisionError")
    (folder,) = (tmp_path / "r").iterdir()
    assert json.loads((folder / RECORD_FILE).read_text())["status"] == "failed"
    error = (folder / ERROR_FILE).read_text(encoding="utf-8")
    assert "ZeroDivisionError" in error and "\x1b[" not in error  # plain text, no colours


# =========================================================================== CLI transcription


def _clips(tmp: Path, good_wav: Path, bad_at: int, n: int = 4) -> list[str]:
    """``n`` one-second clips ``c0 .. c<n-1>``, the one at ``bad_at`` corrupt after its header."""
    paths = []
    for i in range(n):
        if i == bad_at:
            paths.append(str(corrupt_flac(tmp / f"c{i}.flac")))
        else:
            (tmp / f"c{i}.wav").write_bytes(good_wav.read_bytes())
            paths.append(str(tmp / f"c{i}.wav"))
    return paths


def test_a_corrupt_file_in_a_ctc_batch_group_loses_none_of_the_finished_outputs(
    tmp_path, good_wav, tiny_ctc_dir
):
    """One batch group holds all four files; the third is corrupt after its header. The
    two before it are written, then the error (before this fix nothing was written)."""
    paths = _clips(tmp_path, good_wav, bad_at=2)
    out = tmp_path / "out"
    result = runner.invoke(
        app, ["transcribe", *paths, "--model", str(tiny_ctc_dir), "--out", str(out)]
    )
    one_error_line(result, r"c2\.flac.*corrupt after its header")
    assert sorted(p.name for p in out.iterdir()) == ["c0.txt", "c1.txt"]


def test_keep_going_skips_bad_files_lists_them_and_exits_2(tmp_path, good_wav, tiny_ctc_dir):
    paths = _clips(tmp_path, good_wav, bad_at=1, n=5)
    paths.insert(3, str(tmp_path / "missing.wav"))
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["transcribe", *paths, "--model", str(tiny_ctc_dir), "--out", str(out), "--keep-going"],
    )
    line = one_error_line(result, r"2 of 6 files could not be transcribed")
    assert "c1.flac" in line and "missing.wav" in line
    assert sorted(p.name for p in out.iterdir()) == ["c0.txt", "c2.txt", "c3.txt", "c4.txt"]
    skipped = [ln for ln in result.stderr.splitlines() if ln.startswith("skipped ")]
    assert len(skipped) == 2


@pytest.mark.realweights
@pytest.mark.slow
def test_a_file_longer_than_4_h_transcribes_from_the_cli(tmp_path, real_store):
    """4.1 h of 1 kHz 8-bit silence (15 MB): Whisper reads it in 30-minute pieces instead of
    refusing it (measured: 25 s, peak RSS 640 MB of which ~340 MB is the CLI with Whisper)."""
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(int(4.1 * 3600 * 1000), np.float32), 1000, subtype="PCM_U8")
    result = runner.invoke(app, ["transcribe", str(long), "--language", "pl", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration"] == pytest.approx(4.1 * 3600) and data["text"] == ""
    assert "iter_blocks" not in result.output and "max_duration" not in result.output


def test_a_missing_input_still_fails_before_the_model_loads(tmp_path):
    result = runner.invoke(app, ["transcribe", str(tmp_path / "x.wav"), "--model", "/no/such"])
    one_error_line(result, r"Audio file not found")

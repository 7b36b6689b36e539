"""speechlab.scale: corpus transcription on the local engine and on a local Ray cluster.

The Ray tests share one local cluster (``num_cpus=2``, no dashboard, 256 MB object store),
started by the module's fixture and stopped after it (no process of it left). Real weights:
``speechlab-pl-ctc-small`` (fp32) and ``whisper-base`` on 24 clips cut from 30 s of real
speech, plus one corrupt file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import speechlab
from speechlab.cli import app
from speechlab.scale import ReplayRecognizer, ScaleError, local_cluster, transcribe_corpus
from speechlab.scale.shards import MANIFEST_FILE, ShardLog
from speechlab.scale.sources import buckets, open_corpus, windows

CTC = "speechlab-pl-ctc-small"
FP32 = {"dtype": "float32"}
runner = CliRunner()
WIDE = {"COLUMNS": "200"}


def _clips(root: Path, n: int = 24, broken: bool = True) -> Path:
    """``n`` clips of 0.8-2.4 s cut in order from the pyannote sample (real speech)."""
    from speechlab.samples import english_sample

    sample = english_sample(Path(sys.prefix) / "speechlab-testdata" / "pyannote-4.0.7")
    audio = speechlab.load(sample.path)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    start = 0.0
    for i in range(n):
        length = float(rng.uniform(0.8, 2.4))
        end = min(start + length, audio.duration)
        piece = audio.samples[int(start * 16_000) : int(end * 16_000)]
        speechlab.audio.Audio(piece, 16_000).save(root / f"clip{i:02d}.wav")
        start = end if end < audio.duration - 0.8 else 0.0
    if broken:
        (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    return root


def _manifest(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / MANIFEST_FILE).read_text().splitlines()]


# --------------------------------------------------------------------------- fast


def test_buckets_group_similar_lengths_and_keep_every_item():
    items = [{"order": i, "id": str(i), "duration": d} for i, d in enumerate([5, 1, 3, 1, 9])]
    cut = buckets(items, 2)
    assert [[item["order"] for item in b] for b in cut] == [[1, 3], [2, 0], [4]]


def test_shard_log_keeps_each_id_once_and_survives_a_cut_line(tmp_path):
    log = ShardLog(tmp_path, {"model": "m"}, shard_rows=2)
    rows = [{"order": i, "id": f"u{i}", "text": "x"} for i in range(3)]
    assert log.append(rows) == 3 and log.append(rows[:1]) == 0  # a retried bucket
    log.close()
    shards = sorted((tmp_path / "shards").iterdir())
    assert len(shards) == 2  # 2 rows per shard
    with shards[-1].open("ab") as f:
        f.write(b'{"id": "u9", "te')  # a crash mid-line
    again = ShardLog(tmp_path, {"model": "m"})
    assert set(again.rows) == {"u0", "u1", "u2"}
    manifest = again.merge(["u2", "u0", "u1"])
    assert [json.loads(line)["id"] for line in manifest.read_text().splitlines()] == [
        "u2",
        "u0",
        "u1",
    ]
    with pytest.raises(ScaleError, match="another output folder"):
        ShardLog(tmp_path, {"model": "other"})
    with pytest.raises(ScaleError, match="no result row"):
        again.merge(["u0", "missing"])


def test_a_folder_without_transcripts_and_with_a_corrupt_file_is_a_corpus(tmp_path):
    root = _clips(tmp_path / "clips", n=3)
    corpus = open_corpus(root)
    (items,) = list(windows(corpus, 100))
    assert [i["id"] for i in items] == ["broken.wav", "clip00.wav", "clip01.wav", "clip02.wav"]
    assert items[0]["duration"] is None and items[1]["duration"] > 0.5


def test_bad_arguments_fail_before_any_work(tmp_path):
    with pytest.raises(ScaleError, match="Unknown engine"):
        transcribe_corpus(CTC, tmp_path, tmp_path / "out", engine="spark")
    with pytest.raises(ScaleError, match="actors must be"):
        transcribe_corpus(CTC, tmp_path, tmp_path / "out", engine="ray", actors=0)
    result = runner.invoke(app, ["transcribe", "--engine", "ray", "a.wav", "b.wav"], env=WIDE)
    assert result.exit_code == 2 and "one DATA" in result.output


def test_replay_gives_back_rows_by_path_and_refuses_error_rows():
    rows = [
        {"id": "a", "path": "/x/a.wav", "text": "raz", "words": [], "language": "pl",
         "duration": 1.0, "error": None},
        {"id": "b", "path": "/x/b.wav", "text": "", "words": [], "language": None,
         "duration": 0.0, "error": "AudioError: broken"},
    ]  # fmt: skip
    replay = ReplayRecognizer(rows, "m")
    (t,) = replay.transcribe_iter(["/x/a.wav"])
    assert (t.text, t.duration, replay.label) == ("raz", 1.0, "m")
    with pytest.raises(ScaleError, match="could not be transcribed"):
        list(replay.transcribe_iter(["/x/b.wav"]))


def test_a_machine_that_never_ran_ray_gets_its_token_before_the_head_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ray start` with token authentication only reads ~/.ray/auth_token; on a fresh
    machine (CI's) there was none and every local cluster failed to start."""
    from ray._raylet import AuthenticationTokenLoader

    from speechlab.scale import cluster

    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    loader = AuthenticationTokenLoader.instance()
    loader.reset_cache()
    try:
        with cluster._token_auth():
            token = tmp_path / ".ray" / "auth_token"
            assert token.is_file() and len(token.read_text().strip()) >= 32
            assert loader.has_token(ignore_auth_mode=True)
        assert "RAY_AUTH_MODE" not in os.environ  # the mode is said only while it is needed
    finally:
        loader.reset_cache()


# --------------------------------------------------------------------------- real weights


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clips(tmp_path_factory.mktemp("scale") / "clips")


@pytest.fixture(scope="module")
def cluster(real_store_home: Path) -> str:
    """A local Ray cluster for the module; its workers see the real store."""
    import psutil

    # children started before the cluster (multiprocessing's resource tracker, left by an
    # earlier test's spawn pool) are not Ray's to stop
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(real_store_home))
        with local_cluster(num_cpus=2) as address:
            yield address
    left = [p.name() for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert not left, f"Ray processes left running: {left}"


@pytest.fixture(scope="module")
def local_ctc(clips: Path, real_store_home: Path, tmp_path_factory) -> list[dict[str, Any]]:
    """The local engine's rows: what the Ray runs must reproduce."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(real_store_home))
        out = tmp_path_factory.mktemp("local-ctc")
        run = transcribe_corpus(CTC, clips, out, model_options=FP32, batch_size=4, progress=False)
    assert run.utterances == 25 and run.errors == 1
    return _manifest(out)


def _ray(clips: Path, out: Path, address: str, **kwargs: Any) -> Any:
    return transcribe_corpus(
        CTC, clips, out, engine="ray", address=address, model_options=FP32, batch_size=4,
        actors=2, threads=1, progress=False, **kwargs,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_ray_gives_the_local_engines_transcripts_and_one_error_row(
    clips, cluster, local_ctc, real_store, tmp_path
):
    run = _ray(clips, tmp_path / "ray", cluster)
    rows = _manifest(tmp_path / "ray")
    assert rows == local_ctc  # identical text, words, times, durations, order
    assert run.transcribed == 25 and run.errors == 1
    (bad,) = [r for r in rows if r["error"]]
    assert bad["id"] == "broken.wav" and bad["error"].startswith("AudioError")
    assert all(r["text"] for r in rows if not r["error"])
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert summary["engine"] == "ray" and summary["utterances"] == 25


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_an_interrupted_ray_job_resumes_without_gaps_or_repeats(
    clips, cluster, local_ctc, real_store, tmp_path, monkeypatch
):
    calls = {"n": 0}
    append = ShardLog.append

    def interrupted(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the job stops after 2 buckets were written
        return append(self, rows)

    monkeypatch.setattr(ShardLog, "append", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _ray(clips, tmp_path / "ray", cluster)
    monkeypatch.setattr(ShardLog, "append", append)
    assert not (tmp_path / "ray" / MANIFEST_FILE).exists()
    written = ShardLog(tmp_path / "ray", {"model": CTC, "language": None}).rows
    assert 0 < len(written) < 25
    run = _ray(clips, tmp_path / "ray", cluster)
    assert run.transcribed == 25 - len(written)
    assert _manifest(tmp_path / "ray") == local_ctc


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_an_actor_killed_mid_run_is_retried_and_nothing_is_lost_or_repeated(
    clips, cluster, local_ctc, real_store, tmp_path
):
    marker = tmp_path / "killed"
    run = _ray(clips, tmp_path / "ray", cluster, _fault={"kill_after": 1, "marker": str(marker)})
    assert marker.is_file()  # ray.kill hit an actor after its first bucket
    rows = _manifest(tmp_path / "ray")
    assert len({r["id"] for r in rows}) == len(rows) == 25
    assert rows == local_ctc and run.transcribed == 25
    lines = sum(len(p.read_text().splitlines()) for p in (tmp_path / "ray" / "shards").iterdir())
    assert lines == 25  # the lost bucket's rows were written once, by the retry


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_whisper_on_ray_matches_the_local_engine(cluster, real_store, tmp_path):
    """Six 5 s pieces of the sample, two actors of 1 thread. The local engine runs in a
    process with OMP_NUM_THREADS=1, as Ray sets it in each actor (= its num_cpus): measured,
    faster-whisper's output depends on it (one of these six texts read 'At least, um...'
    with it unset and 'At least...' with 1; word probabilities moved in the 2nd decimal).
    Its temperature fallback samples, so the sampler is seeded per bucket (before that, a
    2 s clip read 'Hello.' locally and '' on Ray)."""
    import os
    import subprocess

    from speechlab.samples import english_sample

    sample = english_sample(Path(sys.prefix) / "speechlab-testdata" / "pyannote-4.0.7")
    audio = speechlab.load(sample.path)
    few = tmp_path / "few"
    few.mkdir()
    for i in range(6):
        piece = audio.samples[i * 80_000 : (i + 1) * 80_000]
        speechlab.audio.Audio(piece, 16_000).save(few / f"piece{i}.wav")
    options = {"batch_size": 3, "language": "en", "progress": False}
    code = (
        "import sys; from speechlab.scale import transcribe_corpus; "
        f"transcribe_corpus('whisper-base', sys.argv[1], sys.argv[2], **{options!r})"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", code, str(few), str(tmp_path / "local")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    transcribe_corpus(
        "whisper-base", few, tmp_path / "ray", engine="ray", address=cluster, **options
    )
    local, ray = _manifest(tmp_path / "local"), _manifest(tmp_path / "ray")
    assert ray == local and len(ray) == 6
    # measured: the sample's first 5 s hold no words (''); whisper hears the other five
    assert [bool(r["text"]) for r in ray] == [False, True, True, True, True, True]


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_eval_engine_ray_scores_exactly_like_the_local_engine(clips, cluster, real_store, tmp_path):
    labelled = _clips(tmp_path / "labelled", n=8, broken=False)
    for i, clip in enumerate(sorted(labelled.glob("*.wav"))):
        clip.with_suffix(".txt").write_text(["hello", "oh hello", "i didn't know"][i % 3])
    summaries = {}
    for engine in ("local", "ray"):
        args = ["eval", "--model", CTC, "--data", str(labelled), "--out", str(tmp_path / engine)]
        result = runner.invoke(app, [*args, "--engine", engine, "--address", cluster], env=WIDE)
        assert result.exit_code == 0, result.output
        summaries[engine] = json.loads((tmp_path / engine / "summary.json").read_text())
    keys = ("wer", "cer", "wer_ci", "cer_ci", "utterances", "substitutions", "audio_hours")
    assert {k: summaries["ray"][k] for k in keys} == {k: summaries["local"][k] for k in keys}
    assert summaries["ray"]["model"] == summaries["local"]["model"] == CTC


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_cli_transcribe_engine_ray_writes_the_manifest(clips, cluster, real_store, tmp_path):
    few = _clips(tmp_path / "few", n=3, broken=False)
    args = ["transcribe", "--engine", "ray", "--address", cluster, "--model", CTC]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "out"), str(few)], env=WIDE)
    assert result.exit_code == 0, result.output
    rows = _manifest(tmp_path / "out")
    assert [r["id"] for r in rows] == ["clip00.wav", "clip01.wav", "clip02.wav"]
    assert all(r["text"] and r["error"] is None for r in rows)


@pytest.mark.realweights
def test_a_datasets_dataset_gives_the_folders_transcripts(real_store, tmp_path):
    """Local engine: a datasets Dataset (Audio feature, read through Arrow) and the folder
    it was built from give the same rows."""
    datasets = pytest.importorskip("datasets")
    few = _clips(tmp_path / "few", n=3, broken=False)
    files = sorted(str(p) for p in few.glob("*.wav"))
    ds = datasets.Dataset.from_dict({"audio": files}).cast_column("audio", datasets.Audio())
    options = {"model_options": FP32, "batch_size": 2, "progress": False}
    transcribe_corpus(CTC, few, tmp_path / "folder", **options)
    transcribe_corpus(CTC, ds, tmp_path / "dataset", window=2, **options)
    folder, dataset = _manifest(tmp_path / "folder"), _manifest(tmp_path / "dataset")
    assert [r["id"] for r in dataset] == [r["id"] for r in folder]
    assert [r["text"] for r in dataset] == [r["text"] for r in folder]


@pytest.mark.slow
@pytest.mark.realweights
@pytest.mark.timeout(1500)
def test_a_streamed_dataset_on_ray_gives_the_folders_transcripts(cluster, real_store, tmp_path):
    """Ray engine: a datasets IterableDataset (streamed, read in windows as it comes) gives
    the rows the local engine gives for the folder it was built from."""
    datasets = pytest.importorskip("datasets")
    few = _clips(tmp_path / "few", n=5, broken=False)
    files = sorted(str(p) for p in few.glob("*.wav"))
    ds = datasets.Dataset.from_dict({"audio": files}).cast_column("audio", datasets.Audio())
    streamed = ds.to_iterable_dataset()
    assert isinstance(streamed, datasets.IterableDataset)
    options = {"model_options": FP32, "batch_size": 2, "progress": False}
    transcribe_corpus(CTC, few, tmp_path / "folder", **options)
    run = transcribe_corpus(
        CTC, streamed, tmp_path / "ray", engine="ray", address=cluster, actors=2, threads=1,
        window=2, **options,
    )  # fmt: skip
    folder, ray_rows = _manifest(tmp_path / "folder"), _manifest(tmp_path / "ray")
    assert run.transcribed == 5 and run.errors == 0
    assert [r["id"] for r in ray_rows] == [r["id"] for r in folder]
    assert [r["text"] for r in ray_rows] == [r["text"] for r in folder]
    assert all(r["text"] for r in ray_rows)

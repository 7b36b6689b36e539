"""speechlab.corpus: folders, manifests (ours and Common Voice's), datasets, bad input."""

from __future__ import annotations

import json

import pytest
from conftest import require_module
from eval_fixtures import CORPUS, duration_of, make_folder, write_wav

from speechlab.corpus import read_data
from speechlab.errors import AudioError, DatasetError


def test_folder_reads_audio_with_same_stem_text(tmp_path):
    folder = make_folder(tmp_path / "corpus", CORPUS[:3])
    (folder / "sub").mkdir()
    write_wav(folder / "sub" / "b01.flac", 0.3)
    (folder / "sub" / "b01.txt").write_text("  Ćma.\n", encoding="utf-8")
    corpus = read_data(folder)
    items = list(corpus.utterances)
    assert [u.id for u in items] == ["a01.wav", "a02.wav", "a03.wav", "sub/b01.flac"]
    assert [u.reference for u in items][-1] == "Ćma."
    assert items[0].reference == CORPUS[0][1]
    assert items[1].duration == pytest.approx(duration_of("a02"))
    assert corpus.total == 4 and not corpus.synthetic


def test_folder_errors_say_what_is_there(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.md").write_text("x")
    with pytest.raises(DatasetError, match=r"No audio files .* it holds \['notes.md'\]"):
        read_data(empty)
    folder = make_folder(tmp_path / "corpus", CORPUS[:3])
    (folder / "a02.txt").unlink()
    with pytest.raises(DatasetError, match=r"1 of 3 audio files .* \['a02.wav'\].*a01.txt"):
        read_data(folder)


def test_unreadable_audio_is_an_audio_error_before_any_work(tmp_path):
    folder = make_folder(tmp_path / "corpus", CORPUS[:2])
    (folder / "a02.wav").write_bytes(b"this is not audio" * 50)
    with pytest.raises(AudioError, match=r"a02\.wav"):
        read_data(folder)


def test_manifest_with_relative_paths_and_extra_columns(tmp_path):
    make_folder(tmp_path / "audio", CORPUS[:2])
    manifest = tmp_path / "test.csv"
    manifest.write_text(
        'path,text,speaker\naudio/a01.wav,"Tak, nie.",s1\naudio/a02.wav,Nie.,s2\n',
        encoding="utf-8",
    )
    items = list(read_data(manifest).utterances)
    assert [u.id for u in items] == ["audio/a01.wav", "audio/a02.wav"]
    assert items[0].reference == "Tak, nie."
    assert items[0].audio == str(tmp_path / "audio" / "a01.wav")


def test_common_voice_tsv_with_clips_folder_and_quotes(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    write_wav(clips / "common_voice_pl_1.wav", 0.5)
    write_wav(clips / "common_voice_pl_2.wav", 0.7)
    (tmp_path / "test.tsv").write_text(
        "client_id\tpath\tsentence\tup_votes\n"
        'c1\tcommon_voice_pl_1.wav\t"Czy drzwi były zamknięte?"\t2\n'
        "c2\tcommon_voice_pl_2.wav\tLubię go.\t3\n",
        encoding="utf-8",
    )
    items = list(read_data(tmp_path / "test.tsv").utterances)
    assert [u.id for u in items] == ["common_voice_pl_1.wav", "common_voice_pl_2.wav"]
    assert items[0].reference == '"Czy drzwi były zamknięte?"'  # quotes kept, as CV has them
    assert items[1].duration == pytest.approx(0.7)


def test_manifest_errors(tmp_path):
    make_folder(tmp_path, CORPUS[:1])
    bad = tmp_path / "bad.tsv"
    bad.write_text("file\ttranscriptie\na01.wav\tx\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"no audio path column.*\['file', 'transcriptie'\]"):
        read_data(bad, audio_column="wav")
    with pytest.raises(DatasetError, match=r"no text column \(looked for text, sentence"):
        read_data(bad)
    assert next(iter(read_data(bad, text_column="transcriptie").utterances)).reference == "x"
    header_only = tmp_path / "header.tsv"
    header_only.write_text("path\ttext\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no rows"):
        read_data(header_only)
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    with pytest.raises(DatasetError, match="is empty"):
        read_data(tmp_path / "empty.csv")
    missing = tmp_path / "missing.tsv"
    missing.write_text("path\ttext\nnope.wav\tx\n", encoding="utf-8")
    with pytest.raises(AudioError, match=r"not found.*nope\.wav"):
        read_data(missing)


def test_other_inputs_are_refused_clearly(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        read_data(tmp_path / "nowhere")
    write_wav(tmp_path / "one.wav", 0.5)
    with pytest.raises(DatasetError, match=r"neither a \.tsv/\.csv manifest nor a folder"):
        read_data(tmp_path / "one.wav")
    with pytest.raises(DatasetError, match="object of type int"):
        read_data(42)


def test_synthetic_marker(tmp_path):
    folder = make_folder(tmp_path, CORPUS[:1])
    (folder / "metadata.json").write_text(json.dumps({"synthetic": True}))
    assert read_data(folder).synthetic
    (folder / "metadata.json").write_text("[1, 2")
    with pytest.raises(DatasetError, match="not a JSON object"):
        read_data(folder)


def test_datasets_in_common_voice_layout(tmp_path):
    datasets = require_module("datasets")
    make_folder(tmp_path, CORPUS[:3])
    paths = [str(tmp_path / f"{stem}.wav") for stem, _, _ in CORPUS[:3]]
    ds = datasets.Dataset.from_dict(
        {"path": [p.split("/")[-1] for p in paths], "audio": paths, "sentence": ["x", "y", "z"]}
    ).cast_column("audio", datasets.Audio(sampling_rate=16_000))
    corpus = read_data(ds)
    items = list(corpus.utterances)
    assert corpus.total == 3
    assert [u.id for u in items] == ["a01.wav", "a02.wav", "a03.wav"]
    assert [u.reference for u in items] == ["x", "y", "z"]
    streamed = list(read_data(ds.to_iterable_dataset()).utterances)
    assert [u.id for u in streamed] == ["a01.wav", "a02.wav", "a03.wav"]
    plain = datasets.Dataset.from_dict({"speech": paths, "words": ["x", "y", "z"]})
    with pytest.raises(DatasetError, match=r"no audio column.*\['speech', 'words'\]"):
        read_data(plain)
    with pytest.raises(DatasetError, match=r"no text column 'sentence'"):
        read_data(plain, audio_column="speech", text_column="sentence")
    items = list(read_data(plain, audio_column="speech", text_column="words").utterances)
    assert [u.id for u in items] == ["a01.wav", "a02.wav", "a03.wav"]
    with pytest.raises(DatasetError, match="no rows"):
        read_data(datasets.Dataset.from_dict({"audio": [], "sentence": []}))
    with pytest.raises(DatasetError, match=r"DatasetDict with splits \['test'\]"):
        read_data(datasets.DatasetDict({"test": ds}))

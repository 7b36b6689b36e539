"""wav2vec2 CTC recognizer mechanics on tiny random models with a real Polish vocabulary."""

from __future__ import annotations

import itertools
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from conftest import require_module

import speechlab
from speechlab.asr import detect_backend, load_asr
from speechlab.asr.inputs import AudioItem
from speechlab.asr.wav2vec2 import Wav2Vec2Recognizer, iter_windows
from speechlab.audio import Audio
from speechlab.errors import AudioError, DatasetError, ModelNotFoundError, SpeechlabError

pytestmark = pytest.mark.timeout(300)


def _noise(seconds: float, seed: int) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.standard_normal(round(16_000 * seconds))).astype(np.float32), 16_000)


@pytest.fixture(scope="module")
def recognizer(tiny_ctc_dir) -> Wav2Vec2Recognizer:
    return load_asr(tiny_ctc_dir)


def test_load_asr_detects_the_ctc_backend(tiny_ctc_dir, recognizer):
    assert detect_backend(tiny_ctc_dir) == "wav2vec2"
    assert isinstance(recognizer, Wav2Vec2Recognizer)
    assert recognizer.frame_seconds == 0.02
    assert recognizer.vocab.labels[recognizer.vocab.blank_id] == "<pad>"
    assert "ż" in recognizer.vocab.labels


def test_batches_come_back_in_input_order_and_padding_changes_nothing(recognizer):
    clips = [_noise(s, seed) for seed, s in enumerate([1.3, 0.4, 2.9, 0.7, 2.2, 1.0, 0.25])]
    alone = [recognizer.transcribe(c).text for c in clips]
    batched = recognizer.transcribe(clips, batch_size=3, progress=False)
    assert [t.text for t in batched] == alone
    assert [t.duration for t in batched] == [c.duration for c in clips]
    assert len(set(alone)) == len(alone)  # the clips really differ


def test_timestamps_are_monotonic_inside_the_audio_with_confidences(recognizer):
    clip = _noise(3.0, 11)
    t = recognizer.transcribe(clip)
    assert t.chars and t.words
    for segments in (t.chars, t.words):
        starts = [s.start for s in segments]
        assert starts == sorted(starts)
        assert all(0 <= s.start < s.end <= clip.duration for s in segments)
        assert all(0 < s.confidence <= 1 for s in segments)
    assert " ".join(w.text for w in t.words) == t.text
    assert "".join(c.text for c in t.chars) == t.text.replace(" ", "")


@pytest.mark.parametrize("seconds", [7.0, 9.37, 12.02, 15.5])
def test_chunked_frames_equal_unchunked_exactly(local_ctc_dir, seconds):
    """With a local receptive field, stitched windows must reproduce every frame exactly."""
    r = load_asr(local_ctc_dir, chunk_length_s=3.0, stride_length_s=0.5, max_batch_seconds=12)
    clip = _noise(seconds, 3)
    whole = r.log_probs([clip.samples])[0]
    item = AudioItem(0, None, clip.duration, audio=clip)
    stitched = r._long_log_probs(item, batch_size=4)
    assert stitched.shape == whole.shape == (r.frames_for(len(clip)), len(r.vocab.labels))
    np.testing.assert_array_equal(stitched.argmax(1), whole.argmax(1))
    np.testing.assert_allclose(stitched, whole, atol=1e-4)


def test_long_file_is_read_in_blocks_and_matches_in_memory(local_ctc_dir, tmp_path):
    r = load_asr(local_ctc_dir, chunk_length_s=3.0, stride_length_s=0.5)
    clip = _noise(11.3, 5)
    path = tmp_path / "long.wav"
    sf.write(path, clip.samples, 16_000, subtype="FLOAT")
    from_file = r.transcribe(path)
    in_memory = r.transcribe(clip)
    unchunked = load_asr(local_ctc_dir, chunk_length_s=60.0, stride_length_s=1.0).transcribe(clip)
    assert from_file.text == in_memory.text == unchunked.text
    assert from_file.chars[-1].end <= clip.duration
    assert from_file.source == str(path)


def test_clips_up_to_one_and_a_half_windows_are_decoded_whole(local_ctc_dir, monkeypatch):
    """The default decodes a clip up to 1.5 x chunk_length_s in one piece (no overlapping
    windows to compute twice); longer clips and a lower whole_length_s use windows."""
    default = load_asr(local_ctc_dir, chunk_length_s=3.0, stride_length_s=0.5)
    narrow = load_asr(local_ctc_dir, chunk_length_s=3.0, stride_length_s=0.5, whole_length_s=0)
    for r in (default, narrow):
        calls: list[list[int]] = []
        original = r.log_probs

        def counted(waves, original=original, calls=calls):
            calls.append([len(w) for w in waves])
            return original(waves)

        monkeypatch.setattr(r, "log_probs", counted)
        text = r.transcribe(_noise(4.4, 7)).text
        r.transcribe(_noise(4.6, 7))
        if r is default:
            assert calls[0] == [round(4.4 * 16_000)]  # whole
            windows = [n for c in calls[1:] for n in c]
            assert len(windows) >= 2 and max(windows) <= 3 * 16_000  # 4.6 s > 4.5 s
            whole_text = text
        else:
            assert all(max(c) <= 3 * 16_000 for c in calls)
            assert text == whole_text  # a local receptive field: the same frames either way
    with pytest.raises(SpeechlabError, match="whole_length_s"):
        load_asr(local_ctc_dir, whole_length_s=-1.0)


def test_windows_tile_the_audio():
    blocks = iter([np.arange(1000, dtype=np.float32), np.arange(1000, 2350, dtype=np.float32)])
    windows = list(iter_windows(blocks, chunk=640, stride=160, samples_per_frame=32))
    kept_samples = []
    for window, first, last in windows:
        start = int(window[0])
        end = None if last is None else start + last * 32
        kept_samples.append((start + first * 32, end))
    assert kept_samples[0][0] == 0
    for (_, end), (start, _) in itertools.pairwise(kept_samples):
        assert end == start  # kept regions touch: no gap, no overlap
    assert windows[-1][2] is None and int(windows[-1][0][-1]) == 2349  # the end is kept


def test_silence_and_very_short_inputs_give_empty_transcripts(recognizer):
    silence = Audio(np.zeros(32_000, np.float32), 16_000)
    tiny = _noise(0.05, 1)
    out = recognizer.transcribe([silence, tiny], progress=False)
    assert [t.text for t in out] == ["", ""]
    assert out[1].duration == pytest.approx(0.05)


def test_bad_audio_raises_audio_error_before_any_work(recognizer, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all" * 20)
    with pytest.raises(AudioError, match="Could not decode"):
        recognizer.transcribe([_noise(1.0, 1), bad])
    with pytest.raises(AudioError, match="Cannot transcribe an object of type int"):
        recognizer.transcribe(42)


def test_datasets_in_memory_and_streaming(recognizer, tmp_path):
    datasets = require_module("datasets")
    paths, texts = [], []
    for i, seconds in enumerate([0.8, 1.6, 0.5]):
        path = tmp_path / f"clip{i}.flac"
        sf.write(path, _noise(seconds, 20 + i).samples, 16_000)
        paths.append(str(path))
        texts.append(f"zdanie {i}")
    ds = datasets.Dataset.from_dict({"audio": paths, "sentence": texts}).cast_column(
        "audio", datasets.Audio(sampling_rate=16_000)
    )
    expected = [recognizer.transcribe(p).text for p in paths]
    out = recognizer.transcribe(ds, text_column="sentence", progress=False)
    assert [t.text for t in out] == expected
    assert [t.reference for t in out] == texts
    streamed = recognizer.transcribe(ds.to_iterable_dataset(), text_column="sentence")
    assert [t.text for t in streamed] == expected
    arrays = datasets.Dataset.from_dict(
        {"speech": [{"array": _noise(1.0, 20).samples, "sampling_rate": 16_000}]}
    )
    assert recognizer.transcribe(arrays, audio_column="speech")[0].duration == 1.0


def test_dataset_without_the_column_lists_the_columns(recognizer):
    datasets = require_module("datasets")
    ds = datasets.Dataset.from_dict({"path": ["a.wav"], "sentence": ["x"]})
    columns = r"no audio column 'audio'; its columns are \['path', 'sentence'\]"
    with pytest.raises(DatasetError, match=columns):
        recognizer.transcribe(ds)
    with pytest.raises(DatasetError, match="no text column 'text'"):
        recognizer.transcribe(ds, audio_column="path", text_column="text")


def test_language_model_directory_is_picked_up_automatically(tiny_ctc_dir, tmp_path):
    require_module("kenlm")
    model = tmp_path / "with-lm"
    shutil.copytree(tiny_ctc_dir, model)
    (model / "language_model").mkdir()
    (model / "language_model" / "lm.arpa").write_text(
        "\\data\\\nngram 1=4\nngram 2=1\n\n\\1-grams:\n-0.5\tkot\t-0.1\n-0.5\t</s>\t0\n"
        "-99\t<s>\t-0.1\n-2\t<unk>\t0\n\n\\2-grams:\n-0.1\t<s> kot\n\n\\end\\\n"
    )
    r = load_asr(model)
    assert r.beam is not None and r.beam.has_lm
    t = r.transcribe(_noise(1.5, 2))
    greedy = load_asr(model, decoder="greedy")
    assert greedy.beam is None
    # The LM knows one word: with it the random model's noise is heard as 7 × "kot" (measured);
    # greedy decoding of the same clip gives 13 made-up words, none of them "kot".
    assert t.text.split() and set(t.text.split()) == {"kot"}, t.text
    assert "kot" not in greedy.transcribe(_noise(1.5, 2)).text.split()
    assert all(w.start < w.end for w in t.words)


@pytest.mark.realweights  # asks the real store for kokoro-82m-int8
def test_not_a_ctc_model_is_a_clear_error(tmp_path, real_store):
    from transformers import BertConfig, Wav2Vec2Config

    bert = tmp_path / "bert"
    BertConfig(architectures=["BertForMaskedLM"]).save_pretrained(bert)
    with pytest.raises(ModelNotFoundError, match="not a CTC speech recognizer"):
        load_asr(bert)
    base = tmp_path / "w2v2-base"
    Wav2Vec2Config(architectures=["Wav2Vec2ForPreTraining"]).save_pretrained(base)
    with pytest.raises(ModelNotFoundError, match="Wav2Vec2ForPreTraining"):
        load_asr(base)
    with pytest.raises(ModelNotFoundError, match=r"use speechlab\.load_tts"):
        load_asr("kokoro-82m-int8")
    with pytest.raises(ModelNotFoundError, match="Did you mean"):
        speechlab.load_asr("whisper-bas")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelNotFoundError, match="neither a transformers CTC checkpoint"):
        load_asr(empty)


def test_options_are_checked(tiny_ctc_dir, recognizer):
    from speechlab.errors import SpeechlabError

    with pytest.raises(SpeechlabError, match=r"chunk_length_s > 2"):
        load_asr(tiny_ctc_dir, chunk_length_s=2.0, stride_length_s=1.0)
    with pytest.raises(SpeechlabError, match="decoder must be"):
        load_asr(tiny_ctc_dir, decoder="magic")
    with pytest.raises(SpeechlabError, match="batch_size"):
        recognizer.transcribe(_noise(0.5, 1), batch_size=0)
    with pytest.raises(SpeechlabError, match="unexpected keyword argument 'temperature'"):
        recognizer.transcribe(_noise(0.5, 1), temperature=0.2)
    with pytest.raises(SpeechlabError, match="Its options: backend, device, threads"):
        load_asr(tiny_ctc_dir, temprature=0.2)
    with pytest.raises(SpeechlabError, match="compute_type is an option of Whisper models"):
        load_asr(tiny_ctc_dir, compute_type="int8")


def test_threads_are_applied_and_restored(tiny_ctc_dir):
    import torch

    before = torch.get_num_threads()
    wanted = before + 1  # differs from the process's setting, whatever that is
    r = load_asr(tiny_ctc_dir, threads=wanted)
    seen = []
    model = r.model

    class Spy:
        """The model, noting torch's thread count each time it runs."""

        def __getattr__(self, name):
            return getattr(model, name)

        def __call__(self, *args, **kwargs):
            seen.append(torch.get_num_threads())
            return model(*args, **kwargs)

    r.model = Spy()
    assert r.transcribe(_noise(0.5, 1)).duration == 0.5
    assert seen == [wanted]  # one forward pass, under the requested thread count
    assert torch.get_num_threads() == before


def test_json_output_of_a_real_transcription_round_trips(recognizer):
    from speechlab.transcript import Transcript

    t = recognizer.transcribe(_noise(1.0, 9))
    assert Transcript.from_json(t.to_json()) == t
    assert json.loads(t.to_json())["duration"] == 1.0


def test_load_dataset_audiofolder_with_streaming(recognizer, tmp_path):
    """The way users read a local corpus: load_dataset('audiofolder', streaming=True)."""
    datasets = require_module("datasets")
    rows = ["file_name,transcription"]
    for i, seconds in enumerate([0.6, 1.2]):
        sf.write(tmp_path / f"c{i}.wav", _noise(seconds, 40 + i).samples, 16_000)
        rows.append(f"c{i}.wav,zdanie numer {i}")
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    ds = datasets.load_dataset("audiofolder", data_dir=str(tmp_path), split="train", streaming=True)
    out = recognizer.transcribe(ds, text_column="transcription", progress=False)
    assert sorted(t.reference for t in out) == ["zdanie numer 0", "zdanie numer 1"]
    by_ref = {t.reference: t for t in out}
    assert by_ref["zdanie numer 1"].duration == pytest.approx(1.2)
    assert by_ref["zdanie numer 1"].text == recognizer.transcribe(tmp_path / "c1.wav").text


def test_plan_batches_limits_padding_and_size():
    from speechlab.asr.wav2vec2 import plan_batches

    lengths = [30, 29, 28, 15, 14, 14, 14, 14, 14, 1]
    batches = plan_batches(lengths, batch_size=4, max_padding=0.1)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == [[0, 1, 2], [3, 4, 5, 6], [7, 8], [9]]
    for batch in batches:
        longest = lengths[batch[0]]
        assert 1 - sum(lengths[i] for i in batch) / (longest * len(batch)) <= 0.1
    assert plan_batches(lengths, batch_size=2, max_padding=0.99) == [
        [0, 1],
        [2, 3],
        [4, 5],
        [6, 7],
        [8, 9],
    ]


def test_frame_buffer_grows_past_its_estimate_and_keeps_every_row():
    from speechlab.asr.wav2vec2 import _FrameBuffer

    rng = np.random.default_rng(0)
    pieces = [rng.standard_normal((n, 5)).astype(np.float32) for n in (3, 0, 7, 1, 12)]
    buffer = _FrameBuffer(5, capacity=4)  # an estimate far too small
    for piece in pieces:
        buffer.append(piece)
    np.testing.assert_array_equal(buffer.array(), np.concatenate(pieces))

import pytest

from speechlab.samples import Sample


def test_sample_text_between_takes_whole_utterances(tmp_path):
    sample = Sample(
        tmp_path / "x.wav", ((0.0, 1.0, "dzień"), (1.2, 2.0, "dobry"), (2.5, 4.0, "panie"))
    )
    assert sample.text == "dzień dobry panie"
    assert sample.text_between(1.0, 2.5) == "dobry"
    assert sample.text_between(0.0, 4.0) == "dzień dobry panie"


@pytest.mark.realweights
def test_english_sample_is_real_speech_with_a_transcript(pyannote_sample):
    import speechlab

    path, text = pyannote_sample
    audio = speechlab.load(path, sample_rate=None)
    assert audio.sample_rate == 16_000 and audio.duration == pytest.approx(30.0, abs=0.1)
    assert text.startswith("Hello? Hello?") and "New Jersey" in text

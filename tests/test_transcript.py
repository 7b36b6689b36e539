from speechlab.transcript import Segment, Transcript


def _transcript() -> Transcript:
    words = [
        Segment("dzień", 0.10, 0.42, 0.9),
        Segment("dobry", 0.50, 0.90, 0.8),
        Segment("żółć", 3.00, 3.50, 0.7),  # after a long pause: a new cue
    ]
    return Transcript("dzień dobry żółć", words, [], "pl", 4.0, "a.wav")


def test_json_round_trip_keeps_polish_letters():
    t = _transcript()
    text = t.to_json()
    assert "żółć" in text
    assert Transcript.from_json(text) == t


def test_srt_and_vtt_cues_split_at_pauses():
    t = _transcript()
    assert t.to_srt() == (
        "1\n00:00:00,100 --> 00:00:00,900\ndzień dobry\n\n2\n00:00:03,000 --> 00:00:03,500\nżółć\n"
    )
    assert t.to_vtt().startswith("WEBVTT\n\n00:00:00.100 --> 00:00:00.900\ndzień dobry\n")


def test_cues_respect_length_limits_and_hours():
    words = [Segment(f"słowo{i}", 3600 + i * 0.5, 3600 + i * 0.5 + 0.4) for i in range(40)]
    t = Transcript(" ".join(w.text for w in words), words, duration=3700.0)
    cues = t.cues()
    assert all(c.end - c.start <= 6.0 and len(c.text) <= 84 for c in cues)
    assert " ".join(c.text for c in cues) == t.text
    assert t.to_srt().splitlines()[1].startswith("01:00:00,000 --> ")


def test_transcript_without_words_is_one_cue_or_none():
    assert Transcript("ala ma kota", duration=2.0).cues() == [Segment("ala ma kota", 0.0, 2.0)]
    assert Transcript("", duration=2.0).to_srt() == ""

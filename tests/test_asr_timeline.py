"""speechlab.asr.timeline: word appearance and commitment times from stream events."""

from __future__ import annotations

import pytest

from speechlab.asr.streaming import Final, Partial
from speechlab.asr.timeline import latencies, word_timeline
from speechlab.transcript import Segment, Transcript


def _w(text: str, start: float, end: float) -> Segment:
    return Segment(text, start, end)


def _events() -> list:
    ala, ma, kota = _w("ala", 0.1, 0.4), _w("ma", 0.5, 0.7), _w("kota", 0.8, 1.2)
    return [
        Partial((ala,), 0, 0.0, 0.5, latency=0.05),  # ala appears at 0.55
        Partial((ala, _w("na", 0.5, 0.7)), 1, 0.0, 1.0, latency=0.1),  # ala stable at 1.1
        Partial((ala, ma, _w("kot", 0.8, 1.1)), 2, 0.0, 1.5, latency=0.2),  # ma: 1.7 both
        Final(Transcript("ala ma kota", [ala, ma, kota], [], "pl", 2.0), 0.0, 2.0, latency=0.3),
    ]


def test_each_final_word_gets_when_it_appeared_was_committed_and_finalised():
    rows = word_timeline(_events())
    assert [r.text for r in rows] == ["ala", "ma", "kota"]
    ala, ma, kota = rows
    assert (ala.appeared, ala.stable, ala.final) == pytest.approx((0.55, 1.1, 2.3))
    assert (ma.appeared, ma.stable) == pytest.approx((1.7, 1.7))  # "na" was another word
    assert (kota.appeared, kota.stable) == pytest.approx((2.3, 2.3))  # only in the Final
    assert ala.delay == pytest.approx(0.15)


def test_speed_scales_the_wall_latency_into_stream_seconds():
    rows = word_timeline(_events(), speed=2.0)
    assert rows[0].appeared == pytest.approx(0.6)


def test_latencies_by_kind():
    events = _events()
    assert latencies(events) == pytest.approx([0.05, 0.1, 0.2])
    assert latencies(events, Final) == pytest.approx([0.3])
    assert latencies([Partial((), 0, 0.0, 0.1)]) == []

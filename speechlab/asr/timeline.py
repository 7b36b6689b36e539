"""When each word of a live stream showed up: first in a partial, committed, final.

```python
events = list(asr.listen("talk.wav", realtime=True))
rows = word_timeline(events)          # one WordTiming per final word
latencies(events)                     # wall seconds per partial, audio arrival -> event
```

Times are stream seconds. An event is *emitted* at ``event.end + latency * speed``: the
stream time of the last audio it heard plus how long recognition took (in stream seconds
when the file was fed ``speed`` times faster than real time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from speechlab.asr.streaming import Final, Partial, StreamEvent
from speechlab.audio import Seconds
from speechlab.transcript import Segment

__all__ = ["WordTiming", "latencies", "word_timeline"]


@dataclass(frozen=True)
class WordTiming:
    """One final word: where it was said (``start``-``end``), when a partial first showed it
    (``appeared``), when it was committed (``stable``) and when its Final came (``final``)."""

    text: str
    start: Seconds
    end: Seconds
    appeared: Seconds
    stable: Seconds
    final: Seconds

    @property
    def delay(self) -> Seconds:
        """Seconds from the end of the word to its first appearance."""
        return self.appeared - self.end


def latencies(events: Iterable[StreamEvent], kind: type = Partial) -> list[Seconds]:
    """The latency of every event of ``kind`` (Partial or Final) that has one."""
    return [e.latency for e in events if isinstance(e, kind) and e.latency is not None]


def word_timeline(events: Iterable[StreamEvent], speed: float = 1.0) -> list[WordTiming]:
    """One :class:`WordTiming` per word of the stream's finals, in order. A partial's word
    counts as the final word when it has the same text and overlaps it in time."""
    rows: list[WordTiming] = []
    partials: list[Partial] = []
    for event in events:
        if isinstance(event, Partial):
            partials.append(event)
            continue
        final_at = _emitted(event, speed)
        for word in event.words:
            appeared = stable = final_at
            for partial in partials:
                at = _emitted(partial, speed)
                for i, seen in enumerate(partial.words):
                    if _same(seen, word):
                        appeared = min(appeared, at)
                        if i < partial.stable:
                            stable = min(stable, at)
            rows.append(WordTiming(word.text, word.start, word.end, appeared, stable, final_at))
        partials = []
    return rows


def _emitted(event: Partial | Final, speed: float) -> Seconds:
    return event.end + (event.latency or 0.0) * speed


def _same(a: Segment, b: Segment) -> bool:
    return a.text == b.text and a.start < b.end and b.start < a.end

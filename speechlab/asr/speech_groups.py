"""Speech regions (from the VAD) joined into groups for batch decoding, and their times.

Decoding every region by itself costs one model call per region, and Whisper pads each call
to a 30 s window: on a file with many short regions that was slower than decoding the
whole file (65 regions of a 301 s stream: 101 s instead of 37 s for whisper-base,
``benchmarks/stream_bench.py``). So for Whisper (``Recognizer.vad_group_seconds``)
consecutive regions are joined, with ``gap_s`` of digital silence between them, into groups
of at most ``max_seconds``; the silence the VAD found is still never decoded, only the short
joins. Times in a group map back to the input. CTC models decode each region by itself
(``max_seconds=0``): their cost grows with the audio, not per call, and on the same stream
joining made ``speechlab-pl-ctc-small`` both slower and less accurate.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from speechlab.asr.vad import VAD_RATE, SpeechRegion
from speechlab.audio import Seconds

__all__ = ["GROUP_SECONDS", "JOIN_GAP_SECONDS", "RegionGroup", "group_regions"]

#: The longest group (seconds): under Whisper's 30 s window.
GROUP_SECONDS = 25.0
#: Silence between joined regions (seconds): a clear word boundary for every model.
JOIN_GAP_SECONDS = 0.3


@dataclass(frozen=True)
class RegionGroup:
    """Regions joined into one clip: ``samples`` (16 kHz) and, per region, where it starts
    in the group and in the input and how long it is (seconds)."""

    samples: np.ndarray
    group_starts: tuple[Seconds, ...]
    input_starts: tuple[Seconds, ...]
    lengths: tuple[Seconds, ...]

    def to_input(self, t: Seconds) -> Seconds:
        """The input time of group time ``t`` (a time in a join maps to the end of the
        region before it)."""
        i = max(0, bisect.bisect_right(self.group_starts, t) - 1)
        return self.input_starts[i] + min(max(t - self.group_starts[i], 0.0), self.lengths[i])


def group_regions(
    regions: Sequence[SpeechRegion],
    max_seconds: Seconds = GROUP_SECONDS,
    gap_s: Seconds = JOIN_GAP_SECONDS,
) -> list[RegionGroup]:
    """Consecutive regions joined while the group stays within ``max_seconds`` (a longer
    region is a group by itself; 0: every region by itself)."""
    gap = np.zeros(round(gap_s * VAD_RATE), np.float32)
    groups: list[list[SpeechRegion]] = []
    size = 0.0
    for region in regions:
        length = len(region.samples) / VAD_RATE
        if groups and size + gap_s + length <= max_seconds:
            groups[-1].append(region)
            size += gap_s + length
        else:
            groups.append([region])
            size = length
    out = []
    for members in groups:
        pieces, starts, at = [], [], 0.0
        for region in members:
            if pieces:
                pieces.append(gap)
                at += gap_s
            starts.append(at)
            pieces.append(np.asarray(region.samples, np.float32))
            at += len(region.samples) / VAD_RATE
        out.append(
            RegionGroup(
                np.concatenate(pieces),
                tuple(starts),
                tuple(r.start for r in members),
                tuple(len(r.samples) / VAD_RATE for r in members),
            )
        )
    return out

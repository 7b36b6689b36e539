"""Real speech to try things on, fetched from PyPI (the only registry these machines reach).

``english_sample()`` is 30 s of recorded English telephone speech with a timed transcript,
shipped inside the ``pyannote-audio`` wheel (MIT). The wheel is downloaded once with pip
(no install, nothing imported) and the two files are kept in ``$SPEECHLAB_HOME/samples``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from speechlab.errors import SpeechlabError
from speechlab.store import cache_dir

__all__ = ["POLISH_SENTENCES", "Sample", "english_sample"]

#: Everyday Polish sentences that together contain every diacritic (ą ć ę ł ń ó ś ź ż);
#: speechlab's TTS→ASR round trip and its tests speak these.
POLISH_SENTENCES = (
    "Dzień dobry, jak się masz?",
    "Idę do sklepu po chleb i mleko.",
    "Wczoraj padał deszcz, a dziś świeci słońce.",
    "Mój brat mieszka w Łodzi od dziesięciu lat.",
    "Zamknij drzwi, bo jest zimno.",
    "Żółta łódź płynie po jeziorze.",
    "Proszę o rachunek, chcę zapłacić kartą.",
    "Źródło tej wiadomości jest bardzo pewne.",
    "Pociąg przyjedzie na peron za pięć minut.",
    "Gęś i kaczka pływają w stawie obok mostu.",
    "Ćwiczę grę na pianinie każdego wieczoru.",
    "Na śniadanie zjadłem jajecznicę z pomidorami.",
)

_PYANNOTE = "pyannote-audio==4.0.7"


@dataclass(frozen=True)
class Sample:
    """An audio file and its reference transcript as (start, end, text) rows."""

    path: Path
    rows: tuple[tuple[float, float, str], ...]

    @property
    def text(self) -> str:
        return " ".join(text for _, _, text in self.rows)

    def text_between(self, start: float, end: float, slack: float = 0.05) -> str:
        """The reference words spoken wholly inside [start, end] seconds."""
        return " ".join(t for s, e, t in self.rows if s >= start - slack and e <= end + slack)


def english_sample(folder: Path | None = None) -> Sample:
    """The pyannote-audio sample: 30 s, 16 kHz, two speakers, with its .stm transcript."""
    folder = folder or cache_dir() / "samples" / "pyannote-4.0.7"
    wav, stm = folder / "sample.wav", folder / "sample.stm"
    if not (wav.is_file() and stm.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            run = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, _PYANNOTE],
                capture_output=True,
                text=True,
                timeout=600,
            )
            wheels = list(Path(tmp).glob("pyannote_audio-*.whl"))
            if run.returncode != 0 or not wheels:
                raise SpeechlabError(
                    f"Could not download {_PYANNOTE} from PyPI to get its sample speech: "
                    f"{run.stderr.strip()[-500:]}"
                )
            with zipfile.ZipFile(wheels[0]) as zf:
                (Path(tmp) / "sample.stm").write_bytes(zf.read("pyannote/audio/sample/sample.stm"))
                (Path(tmp) / "sample.wav").write_bytes(zf.read("pyannote/audio/sample/sample.wav"))
            (Path(tmp) / "sample.stm").replace(stm)
            (Path(tmp) / "sample.wav").replace(wav)
    rows = []
    for line in stm.read_text().splitlines():
        parts = line.split()
        if len(parts) > 5:
            rows.append((float(parts[3]), float(parts[4]), " ".join(parts[5:])))
    return Sample(wav, tuple(rows))

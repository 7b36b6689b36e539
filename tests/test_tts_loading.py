"""load_tts: the top-level face is it, and the synthesizer knows its folder."""

from __future__ import annotations

import inspect

import pytest

import speechlab
import speechlab.tts
from speechlab.errors import OptionError


def test_the_top_level_load_tts_shows_the_real_signature():
    assert speechlab.load_tts is speechlab.tts.load_tts
    assert "voice" in inspect.signature(speechlab.load_tts).parameters


def test_unknown_options_are_refused_by_name():
    with pytest.raises(OptionError, match=r"colour.*Its options: voice, lang"):
        speechlab.load_tts(colour="blue")  # type: ignore[call-arg]


@pytest.mark.realweights
def test_a_store_model_is_labelled_by_its_store_name(real_store):
    tts = speechlab.load_tts("kokoro-82m-int8", stress=False)
    assert tts.model_dir == real_store / "models" / "kokoro-82m-int8"
    assert tts.label == "kokoro-82m-int8"
    assert tts.replacements["ˈ"] == ""  # stress=False reached the Synthesizer

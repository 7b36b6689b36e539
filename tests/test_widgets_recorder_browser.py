"""The mic recorder in a real JupyterLab, driven by Chromium with a fake microphone.

Kokoro speaks a Polish sentence into a WAV; Chromium plays it as its microphone
(``--use-fake-device-for-media-stream --use-file-for-fake-audio-capture``, permission granted
by ``--use-fake-ui-for-media-stream``). The notebook opens the recorder on
speechlab-pl-ctc-small (fp32); the test presses Record, waits for expected words in the
live transcript, presses Stop and reads the transcript the kernel wrote. Without the
fake-UI flag the headless browser denies the microphone: the widget must say so.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import nbformat
import numpy as np
import pytest
from conftest import require, require_module
from nbformat.v4 import new_code_cell, new_notebook
from test_browser import CHROMIUM, CHROMIUM_ARGS, SERVER_START_S, _jupyterlab, _run_all_cells

from speechlab.audio import Audio
from speechlab.store import STORE

NAME = "speechlab-pl-ctc-small"
SENTENCE = "Czy Tomasz miesiąc temu napisał długi artykuł?"
EXPECTED = {"tomasz", "miesiąc", "temu", "napisał", "długi", "artykuł"}
CELLS_S = 120  # JupyterLab, the kernel and the model on a busy 2-core machine
LIVE_S = 60
SILENCE_AFTER_S = LIVE_S  # after the sentence in the fake microphone's file (it loops)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.realweights,
    pytest.mark.slow,
    pytest.mark.timeout(420),
    pytest.mark.skipif(NAME not in STORE, reason="speechlab-pl-ctc-small not trained yet"),
]


@pytest.fixture(autouse=True, scope="module")
def _chromium() -> None:
    """No Chromium: skipped here, failed in CI (``CI=true``)."""
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM}")


RECORDER_CELL = f"""
from pathlib import Path
import speechlab
from speechlab.widgets import record

asr = speechlab.load_asr("{NAME}", dtype="float32")
rec = record(asr)
rec.panel.observe(
    lambda c: c["new"] == "stopped"
    and Path("transcript.txt").write_text(rec.transcript.text, encoding="utf-8"),
    "state",
)
rec
"""
DENIED_CELL = "from speechlab.widgets import record\nrecord()"


@dataclass
class Lab:
    url: str
    root: Path
    sentence_wav: Path


def _notebook(path: Path, source: str) -> None:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nb.cells.append(new_code_cell(source.strip()))
    nbformat.write(nb, path)


def _sentence_wav(folder: Path, home: Path) -> Path:
    """The sentence by Kokoro after a short pause and before 60 s of silence, 16-bit 48 kHz.

    Chromium's fake device loops the file: with a short file the sentence came round again
    before Stop on a loaded machine (CI: "czy tomasz miesiąc temu napisał długi artykuł"
    heard as "... ertytkuł kziy tomarzmiesiąc", CER 0.51); with 60 s of silence after it
    the loop cannot come back within the test's waits (LIVE_S for the first words, 1.5 s
    more, then Stop)."""
    from speechlab.tts import load_tts

    speech = load_tts(home / "models" / "kokoro-82m-int8").synthesize(
        SENTENCE, voice="jm_kumo", lang="pl"
    )
    clip = Audio(speech.audio, speech.sample_rate).resample(48_000).samples
    pause = np.zeros(24_000, np.float32)
    tail = np.zeros(round(SILENCE_AFTER_S * 48_000), np.float32)
    path = folder / "sentence.wav"
    Audio(np.concatenate([pause, clip, tail]), 48_000).save(path, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, real_store_home: Path) -> Iterator[Lab]:
    tmp = tmp_path_factory.mktemp("recorder-browser")
    wav = _sentence_wav(tmp, real_store_home)
    with _jupyterlab(tmp, real_store_home) as url:
        root = tmp / "notebooks"
        _notebook(root / "recorder.ipynb", RECORDER_CELL)
        _notebook(root / "denied.ipynb", DENIED_CELL)
        yield Lab(url, root, wav)


@contextlib.contextmanager
def _page(lab: Lab, notebook: str, *flags: str) -> Iterator[Any]:
    """A Chromium page with ``notebook`` open and run (its widget drawn)."""
    sync_api = require_module("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *flags])
        page = browser.new_context(viewport={"width": 1280, "height": 1400}).new_page()
        try:
            page.goto(f"{lab.url}/lab/tree/{notebook}?reset", timeout=SERVER_START_S * 1000)
            _run_all_cells(page, sync_api.TimeoutError)
            page.wait_for_selector(".speechlab-rec-button", timeout=CELLS_S * 1000)
            page.wait_for_selector(
                ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                timeout=CELLS_S * 1000,
            )
            yield page
        except Exception:
            page.screenshot(path=str(lab.root.parent / f"failure-{notebook}.png"))
            raise
        finally:
            browser.close()


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def test_recording_shows_live_words_before_stop_and_the_kernel_gets_the_transcript(lab: Lab):
    fake_mic = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={lab.sentence_wav}",
    ]
    with _page(lab, "recorder.ipynb", *fake_mic) as page:
        recorder = page.locator(".speechlab-recorder")
        recorder.locator(".speechlab-rec-button").click()
        pressed = time.monotonic()
        page.wait_for_function(
            """([el, words]) => {
                const seen = el.textContent.toLowerCase();
                return words.filter((w) => seen.includes(w)).length >= 2;
            }""",
            arg=[recorder.locator(".speechlab-rec-text").element_handle(), sorted(EXPECTED)],
            timeout=LIVE_S * 1000,
        )
        live = recorder.locator(".speechlab-rec-text").inner_text()
        first_words = time.monotonic() - pressed
        assert recorder.get_attribute("data-state") == "recording"
        assert recorder.locator(".speechlab-rec-time").inner_text() != "0:00.0"
        unstable_style = recorder.locator(".speechlab-rec-unstable").evaluate(
            "e => getComputedStyle(e).fontStyle"
        )
        assert unstable_style == "italic"  # the tail that may change looks different
        page.wait_for_timeout(1500)
        page.locator(".jp-NotebookPanel").screenshot(path=str(lab.root.parent / "recording.png"))
        recorder.locator(".speechlab-rec-button").click()  # Stop
        saved = lab.root / "transcript.txt"
        deadline = time.monotonic() + LIVE_S
        while not saved.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert saved.exists(), "the kernel wrote no transcript after Stop"
        text = saved.read_text(encoding="utf-8")
        print(f"\nfirst expected words {first_words:.1f} s after Record: {live!r}")
        print(f"after Stop: {text!r}")
        # measured: 5, 4 and 3 of 6 words in three runs (artykuł heard as ertytkuł, "tomasz"
        # glued to its neighbours: "iy tomaszmiesiąc temu napisał długi ertytkuł", CER 0.11;
        # 0.04 with only "ertytkuł" wrong);
        # the first live words 4.6 and 8.1 s after Record. The glue is in the audio Chromium's
        # fake device delivers (offline decoding of a saved take: "y tomaszmiesiąc temu ...";
        # the Kokoro original streams exactly), so the kernel's text is held to a CER bound
        # (~3x the worst measured) plus three exact words.
        reference = " ".join(re.findall(r"\w+", SENTENCE.lower()))
        heard = " ".join(re.findall(r"\w+", text.lower()))
        assert jiwer.cer(reference, heard) <= 0.3, text
        assert len(_words(text) & EXPECTED) >= 3, text
        page.locator(".speechlab-recorder[data-state='stopped']").wait_for(timeout=10_000)
        viewer = page.locator(".speechlab-viewer .speechlab-seg[data-tier='words']")
        viewer.first.wait_for(timeout=LIVE_S * 1000)  # the take in the alignment viewer
        assert viewer.count() == len(text.split())


def test_a_denied_microphone_shows_what_to_do(lab: Lab):
    with _page(lab, "denied.ipynb", "--use-fake-device-for-media-stream") as page:
        recorder = page.locator(".speechlab-recorder")
        recorder.locator(".speechlab-rec-button").click()
        recorder.locator(".speechlab-rec-error").wait_for(timeout=30_000)
        assert recorder.get_attribute("data-error") == "NotAllowedError"
        message = recorder.locator(".speechlab-rec-message").inner_text()
        assert "denied the microphone" in message and "Record again" in message
        assert recorder.get_attribute("data-state") != "recording"

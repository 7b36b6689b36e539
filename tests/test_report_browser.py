"""The tour's report.html offline in Chromium: every request that is not a local file is
aborted, and the static rendering of the viewer (speechlab.widgets.fallback) must still show
the spectrogram, the ASR and TTS word tiers and a player that plays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import require, require_module

from speechlab.notebook_runs import run_notebook

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
#: Words in the tour's default text ("Dzień dobry! Idę dziś do sklepu po świeży chleb."):
#: Kokoro's word tier has one segment per word.
TOUR_WORDS = 9

pytestmark = [
    pytest.mark.browser,
    pytest.mark.realweights,
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the tour runs headless first, on a busy 2-core machine
]


@pytest.fixture(autouse=True, scope="module")
def _chromium() -> None:
    """No Chromium: skipped here, failed in CI (``CI=true``)."""
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM}")


@dataclass
class Report:
    page: Any
    words: int  # Whisper's words, as the notebook printed them
    aborted: list[str]  # the requests the page tried and did not get


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, real_store_home: Path) -> Iterator[Report]:
    sync_api = require_module("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("tour-report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPEECHLAB_HOME", str(real_store_home))  # the kernel inherits it
        run = run_notebook("00_tour", {}, runs_dir=tmp / "runs")
    executed = nbformat.read(run.notebook, as_version=4)
    printed = "".join(
        o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
    )
    words = int(re.search(r"(\d+) words", printed)[1])
    aborted: list[str] = []

    def offline(route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:")):
            route.continue_()
        else:
            aborted.append(url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        page.route("**/*", offline)
        try:
            page.goto(run.report.resolve().as_uri(), wait_until="load", timeout=60_000)
            yield Report(page, words, aborted)
        except Exception:
            page.screenshot(path=str(tmp / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_the_report_page_was_offline_and_has_no_widget_manager(report: Report):
    html = report.page.content()
    assert "widget-view+json" not in html and "widget-state+json" not in html
    assert all("html-manager" not in url for url in report.aborted)
    assert report.aborted  # nbconvert's require.js / MathJax: proof the network was cut


def test_the_spectrogram_picture_shows_speech(report: Report):
    picture = report.page.locator(".speechlab-static-viewer img.speechlab-static-picture")
    stats = picture.evaluate(
        """img => {
            const c = document.createElement('canvas');
            c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d');
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 60, c.width, c.height - 60).data;  // under the wave
            let bright = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 200) bright++;
            return {width: c.width, height: c.height, bright, shown: img.clientWidth};
        }"""
    )
    assert stats["height"] == 60 + 160 and stats["width"] > 100, stats
    spectrogram = stats["width"] * (stats["height"] - 60)
    assert stats["bright"] > 0.05 * spectrogram, stats  # speech, not black (as in the live test)
    assert stats["shown"] > 400, stats


def test_the_asr_and_tts_word_tiers_are_visible(report: Report):
    page = report.page
    viewer = page.locator(".speechlab-static-viewer").first
    asr = viewer.locator(".speechlab-static-seg[data-tier='words']")
    tts = viewer.locator(".speechlab-static-seg[data-tier='tts words']")
    assert asr.count() == report.words > 0
    assert tts.count() == TOUR_WORDS
    for segments in (asr, tts):
        box = segments.first.bounding_box()
        assert box and box["width"] > 5 and box["height"] > 8, box
    assert tts.first.inner_text() == "Dzień"


def test_the_player_plays(report: Report):
    audio = report.page.locator(".speechlab-static-viewer audio.speechlab-static-audio").first
    seen = audio.evaluate(
        """async a => {
            if (a.readyState < 1) await new Promise(r => a.addEventListener('loadedmetadata', r));
            await a.play();
            const times = [];
            for (let i = 0; i < 20; i++) {
                times.push(a.currentTime);
                await new Promise(r => setTimeout(r, 50));
            }
            a.pause();
            return {times, duration: a.duration, error: a.error && a.error.code};
        }"""
    )
    assert seen["error"] is None, seen
    assert seen["duration"] > 2, seen  # the tour's sentence: about 3.5 s
    assert seen["times"][-1] > seen["times"][0] + 0.3, seen  # it advanced (1 s of polling)


def test_the_mixer_leaves_its_settings(report: Report):
    mixer = report.page.locator(".speechlab-static-mixer")
    assert mixer.count() == 1
    assert "jm_kumo 100%" in mixer.inner_text()

"""The tour notebook in a real JupyterLab, driven by Chromium through Playwright.

Starts JupyterLab on 127.0.0.1 over a copy of notebooks/, runs every cell of 00_tour.ipynb
from the Run menu, and checks in the DOM that the alignment viewer drew (spectrogram pixels,
one segment per transcript word), that clicking a word plays just that span, and that the
voice mixer synthesises a new clip after a slider moves. Saves a screenshot into the test's folder
(and to docs/tour.png, the README's, with SPEECHLAB_UPDATE_DOCS=1).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import require, require_module

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]
# JupyterLab settings for a quiet, fully rendered notebook: no news/update toasts, and no
# windowing (cells out of view stay in the DOM).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# Limits on waits for events (each wait returns as soon as its event comes): generous, so a
# loaded machine is slow but cannot fail them.
SERVER_START_S = 180
CELLS_S = 600  # loading both models and running every cell, on a busy 2-core machine
SYNTH_S = 300
PLAY_S = 60  # one word's span; it plays in well under a second

pytestmark = [
    pytest.mark.browser,
    pytest.mark.realweights,
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # the limits above, all spent, plus the module's setup
]


@pytest.fixture(autouse=True, scope="module")
def _chromium() -> None:
    """No Chromium: skipped here, failed in CI (``CI=true``)."""
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM}")


@dataclass
class Tour:
    page: Any
    words: int
    shots: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with (
            contextlib.suppress(urllib.error.URLError, ConnectionError),
            urllib.request.urlopen(f"{url}/api/status", timeout=2) as reply,
        ):
            if reply.status == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer in {SERVER_START_S} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _jupyterlab(tmp: Path, speechlab_home: Path) -> Iterator[str]:
    root = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", root)
    settings = tmp / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "SPEECHLAB_HOME": str(speechlab_home),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"),
    }
    log = tmp / "jupyterlab.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                "--IdentityProvider.token=",  # no token, no password: a local test server
                "--allow-root",  # CI runs as root
                f"--ServerApp.root_dir={root}",
                f"--LabApp.user_settings_dir={settings}",
                f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(url, process, log)
        yield url
    finally:
        process.send_signal(signal.SIGINT)  # the server shuts its kernels down
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def tour(tmp_path_factory: pytest.TempPathFactory, real_store_home: Path) -> Iterator[Tour]:
    sync_api = require_module("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("browser")
    started = time.monotonic()
    with _jupyterlab(tmp, real_store_home) as url, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 2200},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = context.new_page()
        try:
            page.goto(f"{url}/lab/tree/00_tour.ipynb?reset", timeout=SERVER_START_S * 1000)
            _run_all_cells(page, sync_api.TimeoutError)
            page.wait_for_selector(".speechlab-mixer .widget-button", timeout=CELLS_S * 1000)
            page.wait_for_selector(
                ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                timeout=CELLS_S * 1000,
            )
            outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
            counts = [int(m[1]) for text in outputs if (m := re.search(r"(\d+) words\b", text))]
            assert counts, f"no 'N words' output in {outputs}"
            print(f"\ntour notebook ran in {time.monotonic() - started:.1f} s")
            yield Tour(page, counts[0], tmp)
        except Exception:
            page.screenshot(path=str(tmp / "failure.png"))
            raise
        finally:
            browser.close()


def _run_all_cells(page: Any, timeout_error: type[Exception]) -> None:
    """Run > Run All Cells, once the kernel is connected; again if no cell got queued
    (a click that lands while the kernel is still connecting runs nothing)."""
    kernel_idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
    kernel_idle.first.wait_for(timeout=SERVER_START_S * 1000)
    started = page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(3):
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        with contextlib.suppress(timeout_error):
            started.first.wait_for(timeout=15_000)
            return
    pytest.fail("Run All Cells queued no cell in three tries")


def _viewer_audio(page: Any) -> Any:
    segment = page.locator(".speechlab-seg[data-tier='words']").first
    return segment.locator("xpath=ancestor::div[contains(@class, 'speechlab-viewer')]//audio")


def test_viewer_draws_spectrogram_and_one_segment_per_word(tour: Tour):
    page = tour.page
    assert tour.words > 0
    assert page.locator(".speechlab-seg[data-tier='words']").count() == tour.words
    canvas = page.locator(".speechlab-viewer:has(.speechlab-seg[data-tier='words']) canvas")
    spectrogram = canvas.and_(page.locator(".speechlab-spec"))
    stats = spectrogram.evaluate(
        """c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let bright = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 200) bright++;
            return {width: c.width, height: c.height, bright, shown: c.clientWidth};
        }"""
    )
    assert stats["height"] == 80 and stats["width"] > 100, stats
    assert stats["bright"] > 0.05 * stats["width"] * stats["height"], stats  # speech, not black
    assert stats["shown"] > 400, stats


#: Records every ``timeupdate`` of an <audio> element and the time of its next ``pause``.
LISTEN_FOR_PLAYBACK = """a => {
    const log = {times: [], stoppedAt: null};
    a.addEventListener('timeupdate', () => log.times.push(a.currentTime));
    log.stopped = new Promise(resolve => a.addEventListener('pause', () => {
        log.stoppedAt = a.currentTime;
        resolve(true);
    }, {once: true}));
    a.speechlabPlayback = log;
}"""
#: Waits (up to the limit in ms) for that ``pause``; returns what was recorded.
WAIT_FOR_PAUSE = """async (a, ms) => {
    const log = a.speechlabPlayback;
    const limit = new Promise(resolve => setTimeout(() => resolve(false), ms));
    const stopped = await Promise.race([log.stopped, limit]);
    return {stopped, stoppedAt: log.stoppedAt, times: log.times};
}"""


def test_clicking_a_word_plays_just_that_span(tour: Tour):
    page = tour.page
    segment = page.locator(".speechlab-seg[data-tier='words']").nth(tour.words // 2)
    start = float(segment.get_attribute("data-start"))
    end = float(segment.get_attribute("data-end"))
    audio = _viewer_audio(page)
    audio.evaluate(LISTEN_FOR_PLAYBACK)  # before the click: no event can be missed
    segment.click()
    played = audio.evaluate(WAIT_FOR_PAUSE, PLAY_S * 1000)
    viewer = page.locator(".speechlab-viewer:has(.speechlab-seg[data-tier='words'])")
    assert played["stopped"], f"no pause {PLAY_S} s after the click: {played} {viewer.inner_text()}"
    # The viewer pauses on the first animation frame past the span's end: a frame or a few
    # late on a loaded machine (0.3 s is ~18 frames at 60 Hz); never inside the span, and
    # never at the clip's end, which is where a missing stop would leave it.
    assert end - 0.02 <= played["stoppedAt"] <= end + 0.3, (start, end, played)
    assert all(start - 0.05 <= t <= end + 0.3 for t in played["times"]), (start, end, played)
    cursor = page.locator(
        ".speechlab-viewer:has(.speechlab-seg[data-tier='words']) .speechlab-cursor"
    )
    assert cursor.evaluate("c => parseFloat(c.style.left)") > 0


def test_mixer_slider_and_synthesize_give_new_audio(tour: Tour):
    page = tour.page
    mixer = page.locator(".speechlab-mixer")
    # one player, the viewer's own, without a source (and hidden) before the first result
    player = mixer.locator("audio")
    assert player.count() == 1 and "speechlab-audio" in (player.get_attribute("class") or "")
    before = player.get_attribute("src")
    assert before is None
    # one readout per voice slider: its share, not the slider's own number as well
    sliders = mixer.locator(".widget-hslider")
    voices = sliders.count() - 1  # the last is speed, with its own readout
    assert mixer.locator(".widget-hslider .widget-readout:visible").count() == 1
    assert mixer.locator(".widget-html:has-text('%')").count() >= voices
    spec = mixer.locator(".widget-text input")
    old_spec = spec.input_value()
    handle = mixer.locator(".widget-hslider").first.locator(".noUi-handle")
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function(
        "([el, old]) => el.value !== old", arg=[spec.element_handle(), old_spec], timeout=60_000
    )
    assert "," in spec.input_value(), spec.input_value()  # now a blend of two voices
    button = mixer.locator(".widget-button", has_text="Synthesize")
    button.click()
    page.wait_for_function(
        "([el, old]) => el.src && el.src !== old",
        arg=[player.element_handle(), before],
        timeout=SYNTH_S * 1000,
    )
    page.wait_for_function("b => !b.disabled", arg=button.element_handle(), timeout=SYNTH_S * 1000)
    assert "s of speech" in mixer.inner_text()
    assert mixer.locator(".speechlab-viewer .speechlab-seg").count() > 0
    copy = mixer.locator(".speechlab-copy")
    copy.click()
    mixer.locator(".speechlab-copy", has_text="Copied").wait_for(timeout=30_000)
    assert page.evaluate("navigator.clipboard.readText()") == spec.input_value()
    page.keyboard.press("Control+b")  # fold the file browser away: a wider notebook
    page.locator("#jp-left-stack").wait_for(state="hidden", timeout=30_000)
    shot = tour.shots / "tour.png"
    page.locator(".jp-NotebookPanel").screenshot(path=str(shot))
    if os.environ.get("SPEECHLAB_UPDATE_DOCS") == "1":  # refresh the README's screenshot
        docs = ROOT / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs / "tour.png")


def test_viewer_shows_kokoros_word_tier(tour: Tour):
    """The store's Kokoro gives word times (its internal durations, exposed): the tour's viewer
    has a 'tts words' tier, one visible segment per word of the tour's text (9 words)."""
    viewer = tour.page.locator(".speechlab-viewer:has(.speechlab-seg[data-tier='words'])")
    words = viewer.locator(".speechlab-seg[data-tier='tts words']")
    assert words.count() == 9
    assert words.first.inner_text() == "Dzień"
    box = words.first.bounding_box()
    assert box and box["width"] > 5 and box["height"] > 8, box

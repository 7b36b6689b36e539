"""``speechlab say`` and ``speechlab voices`` (speechlab.cli.speak)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from speechlab.cli import app

pytestmark = pytest.mark.timeout(300)
runner = CliRunner()


@pytest.mark.realweights
def test_say_and_voices_cli(real_store, tmp_path):
    out = tmp_path / "cześć.wav"
    result = runner.invoke(app, ["say", "Cześć, jak się masz?", "-o", str(out), "--speed", "1.2"])
    assert result.exit_code == 0, result.output
    from speechlab.audio import info

    assert info(out).sample_rate == 24_000 and info(out).duration > 0.5
    lines = tmp_path / "lines.txt"
    lines.write_text("Pierwsza linia.\n\nDruga linia.\n", encoding="utf-8")
    batch = runner.invoke(app, ["say", f"@{lines}", "-o", str(tmp_path / "b.flac"), "--batch"])
    assert batch.exit_code == 0, batch.output
    assert sorted(p.name for p in tmp_path.glob("b-*.flac")) == ["b-0001.flac", "b-0002.flac"]
    piped = runner.invoke(
        app, ["say", "-", "-o", str(tmp_path / "p.wav"), "--lang", "en-us"], input="Hello there."
    )
    assert piped.exit_code == 0 and (tmp_path / "p.wav").is_file()
    voices = runner.invoke(app, ["voices"])
    assert voices.exit_code == 0 and "jm_kumo" in voices.output and "pl (Polish)" in voices.output
    bad = runner.invoke(app, ["say", "Cześć", "--voice", "nobody", "-o", str(tmp_path / "x.wav")])
    assert bad.exit_code == 2 and "Unknown voice" in bad.output
    empty = runner.invoke(app, ["say", "   ", "-o", str(tmp_path / "y.wav")])
    assert empty.exit_code == 2 and "empty" in empty.output

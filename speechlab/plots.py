"""Plotly figures for evaluation results (plotly is imported only when a figure is made).

``confusion_heatmap`` for ``speechlab.eval.confusion_matrix`` tables, ``language_bars`` for
``cross_lingual`` tables, ``voice_bars`` for ``roundtrip`` tables. Synthetic data is labelled
in the figures as it is in the tables. For the notebooks: ``waveform`` (audio with word spans),
``word_timeline`` (words of transcripts, coloured by confidence) and ``stream_timeline``
(when streamed TTS chunks were ready against when they play).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from speechlab.transcript import Segment, Transcript

#: What the functions return: a ``plotly.graph_objects.Figure`` (typed loosely, so that
#: importing this module does not import plotly).
Figure = Any

__all__ = [
    "confusion_heatmap",
    "language_bars",
    "quant_tradeoff",
    "stream_timeline",
    "voice_bars",
    "waveform",
    "word_timeline",
]


def _go() -> Any:
    # plotly is loaded only when a figure is made (`import speechlab.plots` stays light)
    try:
        import plotly.graph_objects as go

        return go
    except ImportError as exc:
        from speechlab.errors import SpeechlabError

        raise SpeechlabError("Plots need plotly: pip install plotly.") from exc


def confusion_heatmap(confusions: pd.DataFrame, top: int = 20) -> Figure:
    """Heatmap of character errors: the ``top`` reference and hypothesis characters with the
    most errors; correct characters (the diagonal) are left blank so errors stand out."""
    go = _go()
    errors = confusions.astype(float).copy()
    for char in set(errors.index) & set(errors.columns):
        errors.loc[char, char] = 0.0
    rows = errors.sum(axis=1).sort_values(ascending=False, kind="stable")
    cols = errors.sum(axis=0).sort_values(ascending=False, kind="stable")
    rows = [c for c in rows.index if rows[c] > 0][:top]
    cols = [c for c in cols.index if cols[c] > 0][:top]
    shown = errors.loc[rows, cols] if rows and cols else errors.iloc[:0, :0]
    z = shown.where(shown > 0).to_numpy()
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=list(shown.columns),
            y=list(shown.index),
            # a single error is clearly coloured (plain "Reds" starts at white), and every
            # cell carries its count: a sparse matrix still reads
            colorscale=[[0.0, "#fcae91"], [0.5, "#de2d26"], [1.0, "#67000d"]],
            zmin=0.5,
            texttemplate="%{z:.0f}",
            xgap=2,
            ygap=2,
            colorbar={"title": "errors"},
            hovertemplate="%{y} → %{x}: %{z} times<extra></extra>",
        )
    )
    side = max(320, 26 * max(len(shown.index), len(shown.columns)) + 160)
    figure.update_layout(
        title="Character confusions (∅: inserted / deleted, ␣: space)",
        xaxis={"title": "hypothesis (what was heard)", "type": "category", "dtick": 1},
        yaxis={
            "title": "reference (what was said)",
            "type": "category",
            "dtick": 1,
            "autorange": "reversed",
        },
        height=min(side, 800),
        width=min(side + 80, 900),
        plot_bgcolor="#f4f4f4",
    )
    return figure


def language_bars(table: Any) -> Figure:
    """WER and CER per language with 95 % CIs; synthetic sets are marked "(synthetic)"."""
    frame = getattr(table, "table", table)
    labels = [
        f"{row.language} (synthetic)" if row.synthetic else str(row.language)
        for row in frame.itertuples()
    ]
    return _rate_bars(frame, labels, "Error rate by language", "language")


def voice_bars(roundtrip_table: Any) -> Figure:
    """WER and CER per voice of a TTS→ASR round trip, with 95 % CIs."""
    frame = getattr(roundtrip_table, "table", roundtrip_table)
    labels = [str(v) for v in frame["voice"]]
    return _rate_bars(frame, labels, "TTS→ASR round trip (synthetic speech) by voice", "voice")


def quant_tradeoff(table: Any, error: str, *, title: str | None = None) -> Figure:
    """Size, speed and error of quantized variants in one view: throughput (x) against the
    ``error`` column's CER (y, with its 95 % CI when the table has ``<error>_ci``), marker
    area by weight size; ``table`` is ``compare_variants``' DataFrame (or its rows)."""
    import pandas as pd

    go = _go()
    frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    if error not in frame:
        raise KeyError(f"{error!r} is not a column; the table has {', '.join(frame.columns)}.")
    labels = [str(v) for v in frame.index]
    sizes = frame["size_mb"].astype(float)
    values = frame[error].astype(float)
    error_y = None
    if f"{error}_ci" in frame:
        high = [ci[1] - v for ci, v in zip(frame[f"{error}_ci"], values, strict=True)]
        low = [v - ci[0] for ci, v in zip(frame[f"{error}_ci"], values, strict=True)]
        error_y = {"type": "data", "symmetric": False, "array": high, "arrayminus": low}
    figure = go.Figure(
        go.Scatter(
            x=frame["throughput"].astype(float).tolist(),
            y=values.tolist(),
            mode="markers+text",
            text=labels,
            textposition="top center",
            error_y=error_y,
            marker={"size": (8 + 40 * np.sqrt(sizes / sizes.max())).tolist(), "opacity": 0.6},
            customdata=sizes.tolist(),
            hovertemplate="%{text}<br>%{x:.1f} audio s/s<br>CER %{y:.2%}<br>"
            "%{customdata:.1f} MB<extra></extra>",
        )
    )
    figure.update_layout(
        title=title or f"Quantized variants: speed, error ({error}), size (marker area)",
        xaxis_title="throughput (audio seconds per second)",
        yaxis_title="CER",
        yaxis_tickformat=".1%",
    )
    return figure


def _rate_bars(frame: pd.DataFrame, labels: list[str], title: str, axis: str) -> Figure:
    go = _go()
    figure = go.Figure()
    for metric in ("wer", "cer"):
        values = frame[metric].astype(float)
        error = None
        if f"{metric}_low" in frame and f"{metric}_high" in frame:
            error = {
                "type": "data",
                "symmetric": False,
                "array": (frame[f"{metric}_high"].astype(float) - values).tolist(),
                "arrayminus": (values - frame[f"{metric}_low"].astype(float)).tolist(),
            }
        figure.add_bar(name=metric.upper(), x=labels, y=values.tolist(), error_y=error)
    figure.update_layout(
        title=title,
        barmode="group",
        xaxis_title=axis,
        yaxis_title="error rate",
        yaxis_tickformat=".0%",
    )
    return figure


def waveform(
    audio: Any,
    words: Sequence[Segment] | None = None,
    *,
    title: str | None = None,
    bins: int = 2000,
) -> Figure:
    """The waveform of an ``Audio`` (or a TTS ``Speech``) as a min/max envelope of ``bins``
    columns, with ``words`` (Segments, e.g. ``Transcript.words``) as labelled spans."""
    go = _go()
    samples = np.asarray(audio.samples if hasattr(audio, "samples") else audio.audio)
    rate = int(audio.sample_rate)
    columns = min(max(int(bins), 1), len(samples))
    edges = np.linspace(0, len(samples), columns + 1).astype(int)[:-1]
    if columns:
        high, low = np.maximum.reduceat(samples, edges), np.minimum.reduceat(samples, edges)
    else:
        high = low = np.zeros(0, np.float32)
    times = edges / rate
    figure = go.Figure()
    line = {"width": 0.5, "color": "#3d5a80"}
    figure.add_scatter(x=times, y=high, mode="lines", line=line, name="max", hoverinfo="skip")
    figure.add_scatter(
        x=times,
        y=low,
        mode="lines",
        line=line,
        fill="tonexty",
        fillcolor="rgba(61, 90, 128, 0.6)",
        name="min",
        hoverinfo="skip",
    )
    for i, word in enumerate(words or []):
        figure.add_vrect(
            x0=word.start,
            x1=word.end,
            fillcolor="#f4a261" if i % 2 else "#2a9d8f",
            opacity=0.2,
            line_width=0,
            annotation_text=word.text,
            annotation_position="top left",
            annotation_textangle=-45,
        )
    figure.update_layout(
        title=title or f"Waveform ({len(samples) / rate:.2f} s, {rate} Hz)",
        xaxis_title="seconds",
        yaxis_title="amplitude",
        showlegend=False,
        margin={"t": 110},
    )
    return figure


def word_timeline(transcripts: Transcript | Sequence[Transcript]) -> Figure:
    """Every word of one or more transcripts as a bar on a time axis (one row per input),
    coloured by the recognizer's confidence; hover shows the word and its times."""
    go = _go()
    items = [transcripts] if hasattr(transcripts, "words") else list(transcripts)
    names = [_input_label(t, i) for i, t in enumerate(items)]
    words = [(name, w) for name, t in zip(names, items, strict=True) for w in t.words]
    confidence = [w.confidence if w.confidence is not None else float("nan") for _, w in words]
    figure = go.Figure(
        go.Bar(
            y=[name for name, _ in words],
            x=[max(w.end - w.start, 0.01) for _, w in words],
            base=[w.start for _, w in words],
            orientation="h",
            text=[w.text for _, w in words],
            textposition="inside",
            insidetextanchor="middle",
            marker={
                "color": confidence,
                "colorscale": "RdYlGn",
                "cmin": 0.0,
                "cmax": 1.0,
                "colorbar": {"title": "confidence"},
            },
            customdata=[[w.start, w.end] for _, w in words],
            hovertemplate="%{text}: %{customdata[0]:.2f}–%{customdata[1]:.2f} s<extra>%{y}</extra>",
        )
    )
    figure.update_layout(
        title="Words on the timeline",
        xaxis_title="seconds",
        yaxis={"categoryorder": "array", "categoryarray": names[::-1]},
        height=max(250, 90 * len(items) + 150),
    )
    return figure


def stream_timeline(chunks: pd.DataFrame) -> Figure:
    """Streamed TTS: when each chunk was ready (``ready``, seconds after the call) against
    when it plays if playback starts with the first chunk (``start``/``end``: its place in
    the audio). A ready marker right of its bar's start means playback would stall there."""
    go = _go()
    first = float(chunks["ready"].iloc[0])
    labels = [f"{i + 1}: {_shorten(str(t))}" for i, t in enumerate(chunks["text"])]
    figure = go.Figure()
    figure.add_bar(
        name="plays",
        y=labels,
        x=(chunks["end"] - chunks["start"]).tolist(),
        base=(first + chunks["start"]).tolist(),
        orientation="h",
        opacity=0.6,
        customdata=(first + chunks["end"]).tolist(),
        hovertemplate="plays %{base:.2f}–%{customdata:.2f} s<extra></extra>",
    )
    figure.add_scatter(
        name="ready",
        y=labels,
        x=chunks["ready"].tolist(),
        mode="markers",
        marker={"symbol": "diamond", "size": 11, "color": "black"},
        hovertemplate="ready at %{x:.2f} s<extra></extra>",
    )
    figure.update_layout(
        title=f"Streaming: first chunk after {first:.2f} s",
        xaxis_title="seconds since the call",
        yaxis={"autorange": "reversed"},
        height=max(250, 45 * len(labels) + 150),
    )
    return figure


def _input_label(transcript: Any, index: int) -> str:
    source = getattr(transcript, "source", None)
    return f"{index + 1}: {str(source).rsplit('/', 1)[-1]}" if source else f"input {index + 1}"


def _shorten(text: str, width: int = 36) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

"""``evaluate(recognizer, data)``: transcribe a labelled corpus and score it.

```python
result = evaluate(load_asr("whisper-base"), "cv-pl/test.tsv", lang="pl", out="runs/cv")
result.summary["wer"], result.summary["wer_ci"]; result.table.head(); result.save("runs/cv")
```

With ``out``, every finished utterance is appended to ``out/transcripts.jsonl`` as soon as
it is done, and a rerun with the same ``out`` transcribes only what is missing (the
references, the normaliser and the scores are recomputed from the current inputs, so
changing them costs no transcription). The result is saved into ``out`` at the end.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from speechlab import __version__
from speechlab.corpus import Corpus, Utterance, read_data
from speechlab.eval.errors import EvalError
from speechlab.eval.metrics import check_bootstrap
from speechlab.eval.models import open_recognizer
from speechlab.eval.results import EvalResult, now, score_rows
from speechlab.eval.runlog import RunLog
from speechlab.files import writable_folder
from speechlab.textnorm import Normalizer, get_normalizer, normalizer_name

__all__ = ["evaluate"]

#: Utterances handed to the recognizer per call, in batches of ``batch_size``.
_BATCHES_PER_CALL = 4


def evaluate(
    recognizer: Any,
    data: Any,
    *,
    normalizer: str | Normalizer = "model-card",
    out: str | Path | None = None,
    lang: str | None = None,
    batch_size: int = 8,
    progress: bool = True,
    synthetic: bool = False,
    audio_column: str | None = None,
    text_column: str | None = None,
    encoding: str = "utf-8",
    n_boot: int = 1000,
    seed: int = 0,
) -> EvalResult:
    """Transcribe ``data`` with ``recognizer`` and score it against the references.

    ``recognizer``: a Recognizer or a model spec for ``load_asr``. ``data``: a datasets
    Dataset/IterableDataset, a .tsv/.csv manifest or a folder (see ``speechlab.corpus``).
    ``normalizer``: ``model-card``, ``whisper``, ``none`` or a function. ``lang`` goes
    to the recognizer (Whisper decodes in it) and is recorded. ``synthetic=True`` labels the
    corpus synthetic (corpora made by ``synth_test_set`` are labelled so anyway).
    ``encoding``: of a manifest or a folder's .txt files. ``out`` is checked writable
    before any work. ``n_boot``/``seed``: bootstrap CIs.
    """
    normalize = get_normalizer(normalizer)  # bad arguments fail before any work
    check_bootstrap(n_boot)
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise EvalError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if out is not None:
        writable_folder(out, what="results folder")
    corpus = read_data(data, audio_column=audio_column, text_column=text_column, encoding=encoding)
    recognizer, model = open_recognizer(recognizer)
    if out is None:
        rows = _transcribe(recognizer, model, corpus, None, batch_size, progress, lang)
    else:
        with RunLog(out, {"model": model, "language": lang}) as log:
            rows = _transcribe(recognizer, model, corpus, log, batch_size, progress, lang)
    if not rows:
        raise EvalError(f"{corpus.source} holds no utterances; nothing to evaluate.")
    synthetic = bool(synthetic or corpus.synthetic)
    table, corpus_scores = score_rows(rows, normalize, n_boot=n_boot, seed=seed)
    table["synthetic"] = synthetic
    summary = {
        "kind": "ASR evaluation",
        "model": model,
        "data": corpus.source,
        "language": lang,
        "normalizer": normalizer_name(normalizer),
        "synthetic": synthetic,
        "audio_hours": float(table["duration"].sum()) / 3600,
        **corpus_scores,
        "speechlab": __version__,
        "created": now(),
    }
    result = EvalResult(table, summary)
    if out is not None:
        result.save(out)
    return result


def _transcribe(
    recognizer: Any,
    model: str,
    corpus: Corpus,
    log: RunLog | None,
    batch_size: int,
    progress: bool,
    lang: str | None,
) -> list[dict[str, Any]]:
    """Rows (id, path, duration, reference, hypothesis) in corpus order; ids in ``log`` are
    not transcribed again, new ones are appended to it as they finish."""
    from tqdm.auto import tqdm

    done: dict[str, dict[str, Any]] = log.rows if log is not None else {}
    rows: list[dict[str, Any]] = []
    with tqdm(
        total=corpus.total,
        unit="utt",
        desc=f"eval {model}",
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        for chunk in _chunks(corpus.utterances, batch_size * _BATCHES_PER_CALL):
            todo = [u for u in chunk if u.id not in done]
            bar.update(len(chunk) - len(todo))
            if todo:
                transcripts = recognizer.transcribe_iter(
                    [u.audio for u in todo], language=lang, batch_size=batch_size, progress=False
                )
                for utterance, transcript in zip(todo, transcripts, strict=True):
                    row = {
                        "id": utterance.id,
                        "path": utterance.path,
                        "duration": round(float(transcript.duration), 3),
                        "reference": utterance.reference,
                        "hypothesis": transcript.text,
                    }
                    if log is not None:
                        log.append(row)
                    else:
                        done[utterance.id] = row
                    bar.update(1)
            # the current reference wins over a stored one (a fixed typo needs no rerun)
            rows += [{**done[u.id], "reference": u.reference} for u in chunk]
    return rows


def _chunks(items: Iterable[Utterance], size: int) -> Iterator[list[Utterance]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk

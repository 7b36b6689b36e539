"""Carry one training leg of the v2 recipe to a lent accelerator and back.

The machine is reachable only through file transfers of a few tens of MiB per call, so the
work directory (~3 GB of audio) cannot travel as it is:

* ``pack`` (here): the newest checkpoint, the texts, manifests and vocabulary, the
  validation audio (FLAC, as is) and the Kokoro training audio re-encoded as Ogg/Opus
  (**lossy**, ~17 kb/s; the leg's note says so; kept in ``train-kokoro/opus`` for the next
  pack) go into one tar, cut into parts of the sizes given (one per transfer). The
  espeak-ng corpora are not carried: the machine speaks them again from the same seeded
  plans, and ``meta.tar`` (first part's folder) holds what that needs plus sample hashes of
  every 50th file to say how alike they came out (espeak-ng is not bit-reproducible: some
  utterances differ in their noise or, with another history of voices, in length).
* ``speak`` (there, first call): espeak-ng corpora from ``meta.tar``, in worker processes.
* ``leg`` (there, last call): join the parts, decode Opus back to the FLAC paths the
  manifests name, compare the spoken corpora (how alike: in the leg's note), run one
  :func:`~speechlab.recipes.polish_ctc_v2.train` leg (worker processes feed the GPU;
  stopped cleanly at ``--seconds``), and cut everything the leg made (newest checkpoint,
  ``model/``, ``best/``, metrics, legs) into parts of at most 15 MiB.
* ``adopt`` (here): join those parts into the work directory.

``python -m speechlab.recipes.polish_ctc_v2_offload {pack,speak,leg,adopt} --help``.

How the published model's leg ran (2026-11-29; a call's ``carry`` replaces whatever an
earlier call carried, so each call copies its part out of the checkout at once)::

    pack --work-dir work/pl-ctc-v2 --out .gpu/pack --parts-mib 18 47 47   # here; Python
        # 3.12 wheels of soundfile, cffi, pycparser, soxr, espeakng-loader, jiwer, rapidfuzz
        # and transformers go into .gpu/pack/c1/whl beside meta.tar
    # call 1 (carry .gpu/pack/c1): pip install --target /tmp/site the wheels; copy bundle-1
    #   to /tmp/parts; setsid speak --work-dir /tmp/w/pl-ctc-v2 --meta .gpu/pack/c1/meta.tar
    # calls 2, 3 (carry c2, then c3): copy bundle-2, bundle-3 to /tmp/parts
    # last call: leg --work-dir /tmp/w/pl-ctc-v2 --parts /tmp/parts --out $OUT
    #   --keep /tmp/keep --seconds 420 --workers 14; one more call copies the result parts
    #   $OUT could not hold
    adopt --work-dir work/pl-ctc-v2 --parts <the returned folders>                 # here
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import tarfile
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from speechlab.train.errors import ConfigError

#: Corpora whose manifests and metadata travel; audio: see the module doc.
CORPORA = ("train-kokoro", "train-espeak", "valid-kokoro", "valid-espeak")
SPOKEN_THERE = ("train-espeak", "valid-espeak")
OPUS_LEVEL = 0.95  # libsndfile's Opus compression level: ~17 kb/s on this speech
PART_LIMIT = 15 * 2**20  # what one returned file may hold (the transfer allows 16 MiB)
ORIGIN = "origin.txt"  # the work directory's path where it was packed
NOTE = (
    "ran on a lent GPU; the Kokoro training audio travelled as Ogg/Opus at ~17 kb/s (lossy) "
    "and the espeak-ng corpora were spoken again there from the same plans"
)


def pack(
    work_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    parts: Sequence[int],
    workers: int = 1,
) -> list[Path]:
    """Write ``out/c1/meta.tar`` and ``out/c<i>/bundle-<i>`` (part ``i`` at most
    ``parts[i-1]`` bytes); returns the part files. Fails when the parts cannot hold it."""
    from speechlab.train.checkpoint import latest_checkpoint

    work, out = Path(work_dir).resolve(), Path(out)
    newest = latest_checkpoint(work / "training" / "checkpoints")
    if newest is None:
        raise ConfigError(f"{work} has no checkpoint to carry; train a leg first.")
    out.mkdir(parents=True, exist_ok=True)
    meta = _meta_files(work)
    with tarfile.open(out / "meta.tar", "w:gz") as tar:
        for path in meta:
            tar.add(path, arcname=str(path.relative_to(work)))
        _add_bytes(tar, ORIGIN, str(work).encode())
        _add_bytes(tar, "espeak-check.json", json.dumps(_espeak_hashes(work)).encode())
    bundle = out / "bundle.tar"
    with tarfile.open(bundle, "w") as tar:
        for path in _training_files(work, newest.folder):
            tar.add(path, arcname=str(path.relative_to(work)))
        for path in sorted((work / "valid-kokoro" / "audio").glob("*.flac")):
            tar.add(path, arcname=str(path.relative_to(work)))
        for path, opus in _opus_cache(work / "train-kokoro", workers):
            tar.add(opus, arcname=str(path.relative_to(work).with_suffix(".opus")))
    written = _cut(bundle, out, parts)
    (out / "meta.tar").replace(out / "c1" / "meta.tar")
    bundle.unlink()
    return written


def speak(
    work_dir: str | os.PathLike[str],
    meta: str | os.PathLike[str],
    workers: int,
    scale: str = "full",
) -> dict:
    """Unpack ``meta.tar`` into ``work_dir`` and speak its espeak-ng corpora again; writes
    and returns ``speak-report.json`` (items, seconds, duration and hash checks)."""
    from speechlab.recipes.polish_ctc_v2 import corpus_plans, load_v2, work_texts

    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(meta) as tar:
        tar.extractall(work, filter="data")
    started = time.perf_counter()
    recipe = load_v2(scale)
    plans = corpus_plans(recipe, work_texts(recipe, work))
    names = [name for name in SPOKEN_THERE if name in plans]
    for name in names:
        (work / name / "audio").mkdir(parents=True, exist_ok=True)
    jobs = [(str(work / name), plan) for name in names for plan in plans[name].plans]
    # contiguous runs in corpus order: espeak-ng carries some state from one utterance to
    # the next (durations can change with the order), so each worker keeps the order
    size = -(-len(jobs) // workers)
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_speak_chunk, chunks))
    report = {
        "items": len(jobs),
        "seconds": round(time.perf_counter() - started, 1),
        **_check_spoken(work),
    }
    (work / "speak-report.json").write_text(json.dumps(report, indent=2))
    return report


def leg(
    work_dir: str | os.PathLike[str],
    folders: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    seconds: float,
    workers: int,
    keep: str | os.PathLike[str],
    scale: str = "full",
) -> list[Path]:
    """Join the parts, restore the audio, train until done or ``seconds`` have passed, and
    cut the results into ``keep`` (all parts) and ``out`` (as many as fit one transfer)."""
    from speechlab.recipes.polish_ctc_v2 import _stop, load_v2, train

    work = Path(work_dir)
    bundle = work.parent / "bundle.tar"
    with open(bundle, "wb") as joined:
        for part in sorted((p for f in folders for p in Path(f).glob("bundle-*")), key=_index):
            with open(part, "rb") as piece:
                shutil.copyfileobj(piece, joined)
    with tarfile.open(bundle) as tar:
        tar.extractall(work, filter="data")
    bundle.unlink()
    origin = (work / ORIGIN).read_text().strip()
    for manifest in ("train.tsv", "validation.tsv"):
        path = work / manifest
        path.write_text(path.read_text(encoding="utf-8").replace(origin, str(work.resolve())))
    opus = sorted((work / "train-kokoro" / "audio").glob("*.opus"))
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_decode_opus, map(str, opus), chunksize=64))
    report = _wait_for(work / "speak-report.json", 600)
    note = (
        f"{NOTE} (espeak-ng is not bit-reproducible: {report['hashed'] - report['hash_mismatches']}"
        f" of {report['hashed']} sampled files came out sample-identical, and "
        f"{report['duration_mismatches']} of {report['items']} durations differ from the "
        "manifest's)"
    )
    manifests = {"train": work / "train.tsv", "validation": work / "validation.tsv"}
    signal.signal(signal.SIGALRM, _stop)
    signal.alarm(max(1, int(seconds)))
    try:
        train(
            load_v2(scale),
            work,
            manifests,
            note=note,
            threads=2,
            prefetch_batches=2 * workers,
            loader_processes=workers,
            progress=False,
        )
    except KeyboardInterrupt:
        print(f"stopped after {seconds:.0f} s; the newest checkpoint travels back", flush=True)
    finally:
        signal.alarm(0)
    return collect(work, keep, out)


def collect(
    work_dir: str | os.PathLike[str], keep: str | os.PathLike[str], out: str | os.PathLike[str]
) -> list[Path]:
    """The leg's results as ``keep/result-<i>`` parts of at most :data:`PART_LIMIT` bytes;
    the first ones (up to 4, one transfer's worth) are copied to ``out``."""
    from speechlab.train.checkpoint import latest_checkpoint

    work, keep, out = Path(work_dir), Path(keep), Path(out)
    training = work / "training"
    newest = latest_checkpoint(training / "checkpoints")
    files = [work / "legs.jsonl", training / "metrics.csv", training / "config.yaml"]
    for folder in (training / "model", training / "best", newest.folder if newest else None):
        if folder is not None and folder.is_dir():
            files += sorted(p for p in folder.rglob("*") if p.is_file())
    keep.mkdir(parents=True, exist_ok=True)
    result = keep / "result.tar"
    with tarfile.open(result, "w") as tar:
        for path in files:
            tar.add(path, arcname=str(path.relative_to(work)))
    size = result.stat().st_size
    parts = _cut(result, keep, [PART_LIMIT] * -(-size // PART_LIMIT), flat="result")
    result.unlink()
    Path(out).mkdir(parents=True, exist_ok=True)
    for part in parts[:4]:
        shutil.copy(part, Path(out) / part.name)
    return parts


def adopt(work_dir: str | os.PathLike[str], folders: Sequence[str | os.PathLike[str]]) -> dict:
    """Put a leg's returned ``result-<i>`` parts into ``work_dir``: its legs, metrics,
    ``model/``, ``best/`` and newest checkpoint replace what is here; local checkpoints after
    the leg's start step (a CPU leg that ran on meanwhile) are removed."""
    work = Path(work_dir)
    parts = sorted((p for f in folders for p in Path(f).glob("result-*")), key=_index)
    if not parts or [_index(p) for p in parts] != list(range(1, len(parts) + 1)):
        raise ConfigError(f"Result parts are missing: found {[p.name for p in parts]}.")
    data = b"".join(p.read_bytes() for p in parts)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        staged = work / "adopt.partial"
        shutil.rmtree(staged, ignore_errors=True)
        tar.extractall(staged, filter="data")
    legs = [json.loads(line) for line in (staged / "legs.jsonl").read_text().splitlines()]
    start = legs[-1]["from_step"]
    checkpoints = work / "training" / "checkpoints"
    for folder in list(checkpoints.glob("step-*")):
        if int(folder.name.split("-")[1]) > start:
            shutil.rmtree(folder)
    for name in ("model", "best"):
        if (staged / "training" / name).is_dir():
            shutil.rmtree(work / "training" / name, ignore_errors=True)
    for path in sorted(staged.rglob("*")):
        if path.is_file():
            target = work / path.relative_to(staged)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    shutil.rmtree(staged)
    return {"files": len(names), "leg": legs[-1]}


# ---------------------------------------------------------------------- helpers


def _meta_files(work: Path) -> list[Path]:
    files = [work / "texts.json", work / "train.tsv", work / "validation.tsv"]
    files += [work / "legs.jsonl"] if (work / "legs.jsonl").is_file() else []
    for corpus in CORPORA:
        files += [p for p in (work / corpus).glob("*") if p.is_file()]
    return files


def _training_files(work: Path, checkpoint: Path) -> Iterable[Path]:
    training = work / "training"
    yield from (training / name for name in ("config.yaml", "metrics.csv"))
    yield from sorted(p for p in (training / "vocab").glob("*") if p.is_file())
    yield from sorted(p for p in checkpoint.glob("*") if p.is_file())


def _espeak_hashes(work: Path, every: int = 50) -> dict[str, str]:
    """Sample hashes of every ``every``-th file of the corpora spoken again there."""
    hashes = {}
    for corpus in SPOKEN_THERE:
        for path in sorted((work / corpus / "audio").glob("*.flac"))[::every]:
            hashes[str(path.relative_to(work))] = _sample_hash(path)
    return hashes


def _sample_hash(path: Path) -> str:
    import soundfile as sf

    samples, _ = sf.read(path, dtype="int16")
    return hashlib.sha256(samples.tobytes()).hexdigest()


def _opus_cache(corpus: Path, workers: int) -> list[tuple[Path, Path]]:
    """Each FLAC of ``corpus/audio`` with its Opus copy in ``corpus/opus`` (kept for the
    next pack: encoding takes ~0.15 s of one core per item); stale or missing copies are
    encoded in ``workers`` processes."""
    if not (corpus / "audio").is_dir():  # a recipe without Kokoro (the demo)
        return []
    cache = corpus / "opus"
    cache.mkdir(exist_ok=True)
    pairs = [(p, cache / f"{p.stem}.opus") for p in sorted((corpus / "audio").glob("*.flac"))]
    todo = [
        (flac, opus)
        for flac, opus in pairs
        if not opus.is_file() or opus.stat().st_mtime < flac.stat().st_mtime
    ]
    with ProcessPoolExecutor(workers) as pool:
        encoded = pool.map(_opus, [flac for flac, _ in todo], chunksize=32)
        for (_, opus), data in zip(todo, encoded, strict=True):
            partial = opus.with_suffix(".partial")
            partial.write_bytes(data)
            os.replace(partial, opus)
    return pairs


def _opus(path: Path) -> bytes:
    import soundfile as sf

    samples, rate = sf.read(path, dtype="float32")
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="OGG", subtype="OPUS", compression_level=OPUS_LEVEL)
    return buffer.getvalue()


def _decode_opus(path: str) -> None:
    import soundfile as sf

    from speechlab.audio import Audio

    samples, rate = sf.read(path, dtype="float32")
    Audio(samples, rate).save(Path(path).with_suffix(".flac"))
    os.remove(path)


def _speak_chunk(jobs: list[tuple[str, Any]]) -> int:
    from speechlab.audio import Audio
    from speechlab.train.synth import _speak
    from speechlab.tts.espeak_speech import EspeakSynthesizer

    synthesizer = EspeakSynthesizer()
    for root, plan in jobs:
        wave = _speak(synthesizer, plan, "pl", 16_000, "white")
        Audio(wave, 16_000).save(Path(root) / "audio" / f"{plan.name}.flac")
    return len(jobs)


def _check_spoken(work: Path) -> dict[str, int]:
    """Durations of every spoken file against its manifest row; hashes of the sampled ones."""
    import csv

    import soundfile as sf

    mismatches = 0
    for corpus in SPOKEN_THERE:
        if not (work / corpus / "manifest.tsv").is_file():
            continue
        with open(work / corpus / "manifest.tsv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                info = sf.info(str(work / corpus / row["path"]))
                mismatches += f"{info.frames / info.samplerate:.3f}" != row["duration"]
    expected = json.loads((work / "espeak-check.json").read_text())
    differ = sum(_sample_hash(work / name) != digest for name, digest in expected.items())
    return {"duration_mismatches": mismatches, "hashed": len(expected), "hash_mismatches": differ}


def _cut(source: Path, out: Path, sizes: Sequence[int], flat: str | None = None) -> list[Path]:
    """``source`` cut into consecutive parts of at most ``sizes[i]`` bytes: ``out/c<i>/
    bundle-<i>``, or ``out/<flat>-<i>`` when ``flat`` is given."""
    total = source.stat().st_size
    if total > sum(sizes):
        raise ConfigError(
            f"{source.name} is {total / 2**20:.1f} MiB; the parts hold only "
            f"{sum(sizes) / 2**20:.1f} MiB. Give more or larger parts."
        )
    written = []
    with open(source, "rb") as f:
        for i, size in enumerate(sizes, start=1):
            chunk = f.read(size)
            if not chunk:
                break
            path = out / f"{flat}-{i}" if flat else out / f"c{i}" / f"bundle-{i}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(chunk)
            written.append(path)
    return written


def _index(path: Path) -> int:
    return int(path.name.rsplit("-", 1)[1])


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(time.time())
    tar.addfile(info, io.BytesIO(data))


def _wait_for(path: Path, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while not path.is_file():
        if time.monotonic() > deadline:
            raise ConfigError(f"{path} did not appear within {seconds:.0f} s (speak failed?).")
        time.sleep(2)
    return json.loads(path.read_text())


#: The sub-commands: what each does, and its required options besides --work-dir.
_STAGES: dict[str, tuple[str, dict[str, type]]] = {
    "pack": ("here: the carried parts", {"--out": Path, "--parts-mib": float}),
    "speak": ("there: espeak-ng corpora again", {"--meta": Path}),
    "leg": (
        "there: restore, train, collect",
        {"--parts": Path, "--out": Path, "--keep": Path, "--seconds": float},
    ),
    "adopt": ("here: take the returned parts in", {"--parts": Path}),
}
_SPARE_CORES = {"pack": 0, "speak": 1, "leg": 2}


def main(argv: Sequence[str] | None = None) -> int:
    """The command line: one sub-command per stage (module doc)."""
    parser = argparse.ArgumentParser(prog="python -m speechlab.recipes.polish_ctc_v2_offload")
    sub = parser.add_subparsers(dest="stage", required=True)
    for stage, (text, options) in _STAGES.items():
        p = sub.add_parser(stage, help=text)
        p.add_argument("--work-dir", required=True, type=Path)
        for flag, kind in options.items():
            many = "+" if flag.startswith("--parts") else None
            p.add_argument(flag, required=True, type=kind, nargs=many)
        if stage in _SPARE_CORES:  # worker processes: the cores less those left free
            spare = _SPARE_CORES[stage]
            p.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - spare))
            if stage != "pack":
                p.add_argument("--scale", default="full")
    args = parser.parse_args(argv)
    if args.stage == "pack":
        sizes = [int(mib * 2**20) for mib in args.parts_mib]
        for path in pack(args.work_dir, args.out, sizes, args.workers):
            print(path, path.stat().st_size)
    elif args.stage == "speak":
        print(json.dumps(speak(args.work_dir, args.meta, args.workers, args.scale)))
    elif args.stage == "leg":
        parts = leg(
            args.work_dir,
            args.parts,
            args.out,
            seconds=args.seconds,
            workers=args.workers,
            keep=args.keep,
            scale=args.scale,
        )
        print("\n".join(f"{p} {p.stat().st_size}" for p in parts))
    else:
        print(json.dumps(adopt(args.work_dir, args.parts), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

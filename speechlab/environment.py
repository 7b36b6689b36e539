"""What ``speechlab info`` reports: versions, threads, devices and the cache."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

from speechlab.store import cache_dir

__all__ = ["PACKAGES", "collect_info"]

#: Distributions whose versions matter when a result has to be reproduced.
PACKAGES = (
    "speechlab",
    "torch",
    "transformers",
    "onnxruntime",
    "faster-whisper",
    "ctranslate2",
    "numpy",
    "soundfile",
    "soxr",
    "librosa",
    "datasets",
    "jiwer",
    "misaki",
    "huggingface-hub",
)


def collect_info() -> dict[str, dict[str, str]]:
    """Sections of ``name -> value`` strings describing this installation."""
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    runtime = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu cores": str(os.cpu_count()),
    }
    try:
        import soundfile

        runtime["libsndfile"] = soundfile.__libsndfile_version__
    except (ImportError, OSError) as exc:
        runtime["libsndfile"] = f"unavailable ({exc})"
    try:
        import torch

        runtime["torch threads"] = str(torch.get_num_threads())
        runtime["cuda"] = (
            f"{torch.cuda.device_count()} device(s), {torch.cuda.get_device_name(0)}"
            if torch.cuda.is_available()
            else "not available"
        )
    except ImportError:
        runtime["torch threads"] = "torch not installed"
    try:
        import onnxruntime

        runtime["onnxruntime providers"] = ", ".join(onnxruntime.get_available_providers())
    except ImportError:
        runtime["onnxruntime providers"] = "onnxruntime not installed"
    paths = {
        "cache dir (SPEECHLAB_HOME)": str(cache_dir()),
        "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "(unset)"),
        "HF_HOME": os.environ.get("HF_HOME", "(unset)"),
    }
    return {"versions": versions, "runtime": runtime, "paths": paths}

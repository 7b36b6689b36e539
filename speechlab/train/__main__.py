"""``python -m speechlab.train --config ft.yaml`` (and ``torchrun ... -m speechlab.train``)."""

from __future__ import annotations

from speechlab.train.cli import app

if __name__ == "__main__":
    app()

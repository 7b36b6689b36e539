"""``python -m speechlab ...``: the command line, e.g. ``python -m speechlab finetune --config
ft.yaml``; ``torchrun --nproc_per_node N -m speechlab finetune --config ft.yaml`` runs it on
several processes."""

from __future__ import annotations

from speechlab.cli import main

if __name__ == "__main__":
    main()

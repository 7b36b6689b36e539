"""Training CTC speech recognizers: data, vocabulary, fine-tuning, synthetic corpora.

```python
from speechlab.train import finetune, load_config, synth_corpus
synth_corpus(sentences, "data/synth", voices=["jm_kumo", "jm_kumo:0.6,jf_alpha:0.4"])
result = finetune(load_config("ft.yaml", {"train": "data/synth/manifest.tsv"}))
```

Importing this package is light: torch, transformers, peft and datasets are imported
inside the functions that use them.
"""

from __future__ import annotations

from speechlab.train.config import STRATEGIES, TrainConfig, load_config
from speechlab.train.data import Position, TrainingData, collate, load_eval_set
from speechlab.train.errors import ConfigError, TrainDataError, TrainError, VocabError
from speechlab.train.fine_tuning import StepInfo, TrainResult, finetune
from speechlab.train.synth import SynthPlan, plan_corpus, synth_corpus
from speechlab.train.vocab import Vocab, build_vocab

__all__ = [
    "STRATEGIES",
    "ConfigError",
    "Position",
    "StepInfo",
    "SynthPlan",
    "TrainConfig",
    "TrainDataError",
    "TrainError",
    "TrainResult",
    "TrainingData",
    "Vocab",
    "VocabError",
    "build_vocab",
    "collate",
    "finetune",
    "load_config",
    "load_eval_set",
    "plan_corpus",
    "synth_corpus",
]

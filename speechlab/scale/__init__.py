"""Scale-out: whole corpora transcribed on this machine or on a Ray cluster.

```python
from speechlab.scale import transcribe_corpus
run = transcribe_corpus("whisper-base", "clips/", "runs/asr", engine="ray", language="pl")
```

Ray is optional (``pip install 'speechlab[scale]'``) and imported only when a Ray run
starts. See docs/scale-out.md.
"""

from __future__ import annotations

from speechlab.scale.cluster import connect, local_cluster
from speechlab.scale.errors import ScaleError
from speechlab.scale.replay import ReplayRecognizer
from speechlab.scale.shards import read_manifest
from speechlab.scale.transcription import CorpusRun, transcribe_corpus

__all__ = [
    "CorpusRun",
    "ReplayRecognizer",
    "ScaleError",
    "connect",
    "local_cluster",
    "read_manifest",
    "transcribe_corpus",
]

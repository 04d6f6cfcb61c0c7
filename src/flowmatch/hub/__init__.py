"""Models that travel: Hub-style export, `from_pretrained`, and the pretrained models shipped in
the package (application layer, above `recipes`; see docs/architecture.md).

- `export_run(RUN, OUT)`: a run directory to a folder of safetensors weights, `config.json` and a
  model card (`flowmatch export`).
- `from_pretrained(NAME_OR_PATH)`: an exported folder, `pretrained:NAME`, a Hub id, or a run
  directory, as a `Pretrained` run with `sample`, `save_pretrained` and `push_to_hub`.
- `pretrained_names()`, `describe_pretrained(NAME)`: the packaged models (`flowmatch pretrained`).

huggingface_hub (the extra `hub`) is needed only to download from or upload to the Hub.
"""

from flowmatch.hub.export import export_run
from flowmatch.hub.load import HUB_PREFIX, Pretrained, from_pretrained, load_export, load_model
from flowmatch.hub.registry import PREFIX, PRETRAINED_DIR, describe_pretrained, pretrained_folder, pretrained_names

__all__ = [
    "HUB_PREFIX",
    "PREFIX",
    "PRETRAINED_DIR",
    "Pretrained",
    "describe_pretrained",
    "export_run",
    "from_pretrained",
    "load_export",
    "load_model",
    "pretrained_folder",
    "pretrained_names",
]

"""Shipped models: `weights/<name>.safetensors` plus a JSON model card `weights/<name>.json`.

The card says what the model is (architecture and its arguments, task, parameter count), how it was made
(the training config, its digest, date, torch version, the command that reproduces it) and how well it did
on held-out data (`heldout`: the config's test split, written by training). `benchmarks`, added when the
model is shipped, holds the headline results of the benchmark scripts in docs/benchmarks, with their source. `unmask models` prints the cards; detectors load their model through `load_model`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UnmaskError

FORMAT = "unmask-model/1"


class ModelMissing(UnmaskError):
    """A model that is not shipped in this installation (unmask never downloads weights)."""

    code = "model_missing"


def weights_dir() -> Path:
    return Path(str(resources.files(__package__).joinpath("weights")))


def card_for(cfg: Any, validation: dict[str, Any], test: dict[str, Any], n_params: int, torch_version: str,
             date: str) -> dict[str, Any]:
    """The model card of a finished run of TrainConfig `cfg`: `test` metrics (data evaluated once, after
    training) are the held-out figures; `validation` is the last epoch's log row."""
    import os

    from .net import get_arch

    config = {k: v for k, v in cfg.to_dict().items() if k not in ("source", "folder")}
    source = Path(cfg.source or "CONFIG")
    shown = os.path.relpath(source) if source.is_absolute() or source.exists() else str(source)
    return {
        "format": FORMAT, "name": cfg.name, "arch": cfg.arch, "arch_kwargs": cfg.arch_kwargs,
        "task": get_arch(cfg.arch).task, "params": int(n_params),
        "trained": {"config": config, "config_file": Path(cfg.source or "").name, "digest": cfg.digest(),
                    "date": date, "torch": torch_version,
                    "command": f"unmask train {shown} --out DIR"},
        "heldout": test,
        "validation": {k: v for k, v in validation.items() if k not in ("lr", "seconds")},
    }


def list_models(folder: Path | None = None) -> list[dict[str, Any]]:
    """The cards of every shipped model (those whose weights file is present), by name."""
    folder = folder or weights_dir()
    cards = []
    for card_path in sorted(folder.glob("*.json")):
        if card_path.with_suffix(".safetensors").is_file():
            card = json.loads(card_path.read_text(encoding="utf-8"))
            card["size_mb"] = round(card_path.with_suffix(".safetensors").stat().st_size / 2**20, 3)
            cards.append(card)
    return cards


def load_arrays(name: str) -> dict[str, Any]:
    """The numpy arrays of a shipped array model (no torch needed); ModelMissing without its card."""
    from safetensors.numpy import load_file

    read_card(name)
    return load_file(str(weights_dir() / f"{name}.safetensors"))


def read_card(name: str, folder: Path | None = None) -> dict[str, Any]:
    folder = folder or weights_dir()
    path = folder / f"{name}.json"
    if not path.is_file() or not path.with_suffix(".safetensors").is_file():
        raise ModelMissing(f"model {name!r} is not shipped in this installation ({folder}); "
                           f"train it with `unmask train` and copy model.safetensors / card.json there")
    return json.loads(path.read_text(encoding="utf-8"))


def network(card: dict[str, Any], weights: Path) -> Any:
    """The network a model card describes, with the weights of file `weights`, in eval mode on the CPU."""
    from safetensors.torch import load_file

    from .net import build

    net = build(card["arch"], card.get("arch_kwargs"))
    state = load_file(str(weights))  # float16 files (export_dtype) run in float32
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net.eval()


def load_model(name: str, folder: Path | None = None) -> tuple[Any, dict[str, Any]]:
    """(network in eval mode on the CPU, model card) of shipped model `name`."""
    folder = folder or weights_dir()
    card = read_card(name, folder)
    return network(card, folder / f"{name}.safetensors"), card

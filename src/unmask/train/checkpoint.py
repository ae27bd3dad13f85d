"""Checkpoints as safetensors: the model's tensors, the optimiser's tensors, and a JSON state beside them.

Every file is written to a temporary name and renamed into place, and `state.json` (which says which epoch
the checkpoint holds) is written last, so an interruption at any moment leaves the previous epoch resumable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def _replace(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_tensors(tensors: dict[str, Any], path: Path, metadata: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    clean = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    _replace(path, lambda tmp: save_file(clean, str(tmp), metadata=metadata))


def write_json(obj: Any, path: Path) -> None:
    _replace(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8"))


def _optimizer_split(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, JSON rest) of an optimiser state_dict."""
    import torch

    tensors, rest = {}, {"param_groups": state["param_groups"], "state": {}}
    for pid, entry in state["state"].items():
        rest["state"][str(pid)] = {}
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{pid}.{key}"] = value
            else:
                rest["state"][str(pid)][key] = value
    return tensors, rest


def save_checkpoint(folder: Path, model: Any, optimizer: Any, state: dict[str, Any]) -> None:
    """Write model.safetensors-style weights, optimiser tensors and state (epoch, digest, log) to `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    save_tensors(model.state_dict(), folder / "checkpoint.safetensors")
    tensors, rest = _optimizer_split(optimizer.state_dict())
    save_tensors(tensors, folder / "optimizer.safetensors")
    write_json(rest, folder / "optimizer.json")
    write_json(state, folder / "state.json")


def read_state(folder: Path) -> dict[str, Any] | None:
    """The checkpoint's state.json (epoch, config digest, log), or None when there is no checkpoint."""
    if not (folder / "state.json").is_file():
        return None
    return json.loads((folder / "state.json").read_text(encoding="utf-8"))


def load_checkpoint(folder: Path, model: Any, optimizer: Any) -> dict[str, Any] | None:
    """Restore model and optimiser from `folder`; the saved state, or None when there is no checkpoint."""
    from safetensors.torch import load_file

    state = read_state(folder)
    if state is None:
        return None
    model.load_state_dict(load_file(str(folder / "checkpoint.safetensors")))
    rest = json.loads((folder / "optimizer.json").read_text(encoding="utf-8"))
    tensors = load_file(str(folder / "optimizer.safetensors"))
    opt_state: dict[int, dict[str, Any]] = {int(pid): dict(v) for pid, v in rest["state"].items()}
    for key, value in tensors.items():
        pid, name = key.split(".", 1)
        opt_state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": rest["param_groups"]})
    return state

"""The training config: a YAML file parsed into a checked `TrainConfig` (errors name the key and file)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..bench.protocol import expand_vars
from ..errors import UnmaskError


class ConfigError(UnmaskError, ValueError):
    """A training config that cannot be used; the message says which key is wrong and why."""

    code = "config_error"


# Keys added after models were shipped, with their defaults: left out of the digest at their default, so a
# config that does not use them keeps the digest its shipped model's card records.
LATER_KEYS = {"pretrained": False, "trunk_passes": 0, "export_dtype": "float32", "modality": "image"}


@dataclass
class TrainConfig:
    name: str
    arch: str
    arch_kwargs: dict[str, Any]
    train: list[dict[str, Any]]
    val: list[dict[str, Any]]
    test: list[dict[str, Any]] = field(default_factory=list)
    crop: int = 256
    augment: dict[str, Any] = field(default_factory=dict)
    optimizer: dict[str, Any] = field(default_factory=lambda: {"lr": 1e-3, "weight_decay": 1e-4})
    epochs: int = 10
    batch_size: int = 16
    samples_per_epoch: int | None = None
    mask_weight: float = 1.0
    pixel_pos_weight: float = 1.0
    workers: int = 0
    tensorboard: bool = False
    seed: int = 0
    threshold: float = 0.5
    pretrained: bool = False
    trunk_passes: int = 0
    export_dtype: str = "float32"
    modality: str = "image"
    source: str | None = None
    folder: str = "."

    def digest(self) -> str:
        """A hash of everything that changes the result (not the file's location): resume checks it."""
        body = {k: v for k, v in asdict(self).items() if k not in ("source", "folder", "workers", "tensorboard")
                and not (k in LATER_KEYS and v == LATER_KEYS[k])}
        return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _need(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ConfigError(f"{where}: missing key '{key}'")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ConfigError(f"{where}: '{key}' has the wrong type ({type(value).__name__})")
    return value


def _sources(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(s, dict) and "source" in s for s in value):
        raise ConfigError(f"{where}: 'data.{key}' must be a list of mappings, each with a 'source' key")
    return value


def parse_config(data: Any, where: str = "config", folder: Path | None = None) -> TrainConfig:
    """Check a decoded config mapping and build the TrainConfig."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a training config must be a mapping")
    model = _need(data, "model", dict, where)
    sets = _need(data, "data", dict, where)
    train = _sources(sets, "train", where)
    if not train:
        raise ConfigError(f"{where}: 'data.train' lists no source")
    known = set(TrainConfig.__dataclass_fields__) - {"name", "arch", "arch_kwargs", "train", "val", "test",
                                                      "source"}
    unknown = set(data) - known - {"name", "model", "data"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    cfg = TrainConfig(name=str(data.get("name", "model")), arch=_need(model, "arch", str, f"{where}: model"),
                      arch_kwargs=dict(model.get("kwargs") or {}), train=train, val=_sources(sets, "val", where),
                      test=_sources(sets, "test", where),
                      crop=int(sets.get("crop", 256)), source=where, folder=str(folder or Path(".")),
                      **{k: data[k] for k in known - {"crop", "folder"} if k in data})
    for key in ("epochs", "batch_size", "crop"):
        if int(getattr(cfg, key)) < 1:
            raise ConfigError(f"{where}: '{key}' must be a positive integer")
    if not isinstance(cfg.trunk_passes, int) or cfg.trunk_passes < 0:
        raise ConfigError(f"{where}: 'trunk_passes' must be 0 (no trunk cache) or a positive integer")
    if cfg.export_dtype not in ("float32", "float16"):
        raise ConfigError(f"{where}: 'export_dtype' must be float32 or float16, not {cfg.export_dtype!r}")
    if cfg.modality not in ("image", "audio", "text"):
        raise ConfigError(f"{where}: 'modality' must be image (unmask.train.loop), audio (unmask.train.audio) "
                          "or text (unmask.train.text)")
    if not isinstance(cfg.pretrained, bool):
        raise ConfigError(f"{where}: 'pretrained' must be true or false")
    return cfg


def load_config(path: str | os.PathLike[str], overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config; ${VAR:-default} is expanded and relative data paths hang from its folder."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(expand_vars(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ConfigError(f"cannot read training config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if isinstance(data, dict) and overrides:
        data.update(overrides)
    return parse_config(data, str(path), path.parent.resolve())

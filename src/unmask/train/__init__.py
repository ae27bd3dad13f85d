"""Train the learned detectors: `unmask train CONFIG --out DIR` (see docs/training.md).

A YAML config names the network (`unmask.learned.archs`), the data (manifests and generators, see
`unmask.train.sources`), augmentations, optimiser, epochs and seed. Training is deterministic on the CPU
for a given seed, writes a CSV log per epoch, checkpoints as safetensors after every epoch, resumes after
an interruption, and evaluates on the held-out split with `unmask.metrics`.
"""

from .config import TrainConfig, load_config

__all__ = ["TrainConfig", "load_config"]

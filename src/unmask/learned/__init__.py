"""Learned models: network definitions (`archs`), their shared forensic layers, and the shipped weights.

Weights are small safetensors files under `unmask/learned/weights/`, each with a JSON model card beside it
(`store.list_models()`); `unmask train` (see `unmask.train`) reproduces each one from its config. Nothing here
is downloaded: a model that is not shipped is not available. Importing this package does not import torch.
"""

"""Run a network on one full image: pad to the network's multiple, predict, crop back, return numpy."""

from __future__ import annotations

import numpy as np

from .net import ForensicNet


def to_tensor(image: np.ndarray):  # -> torch.Tensor (1, C, H, W) in [0, 1]
    """uint8 (H, W, C) -> float (1, C, H, W) in [0, 1]: RGB, plus any map channels after it."""
    import torch

    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def predict_image(net: ForensicNet, rgb: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(P(fake) of the image, per-pixel P(manipulated) at the image's size or None) for uint8 RGB (H, W, 3),
    or RGB plus the map channels a network that takes maps expects (H, W, 3 + K).

    The image is reflect-padded at the bottom and right to a multiple of `net.multiple` (replicate-padded when
    it is too small to reflect), never resized: resizing would erase the traces the network reads."""
    import torch
    from torch.nn import functional as F

    h, w = rgb.shape[:2]
    expected = 3 + len(getattr(net, "maps", []))
    if rgb.ndim != 3 or rgb.shape[2] != expected:
        raise ValueError(f"this network takes {expected} input channels (RGB + its maps), got shape {rgb.shape}")
    m = net.multiple
    x = to_tensor(rgb)
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    with torch.inference_mode():
        out = net(x)
    prob = float(torch.sigmoid(out["logit"])[0])
    mask = out.get("mask_logits")
    if mask is None:
        return prob, None
    return prob, torch.sigmoid(mask[0, 0, :h, :w]).numpy().astype(np.float32)

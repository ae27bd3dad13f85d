"""Run a network on one full image: pad to the network's multiple, predict, crop back, return numpy.

Images above TILE_PIXELS run tile by tile (TILE x TILE with OVERLAP pixels shared between neighbours), so
memory stays bounded for any image the limits admit: a localiser's map keeps, per pixel, the tile whose
centre is nearest (no seams from tile borders) and its image probability is the highest tile's; a
classifier averages its tiles' logits.
"""

from __future__ import annotations

import numpy as np

from .net import ForensicNet

TILE = 1024
OVERLAP = 64
TILE_PIXELS = 2_500_000


def for_inference(net):  # -> the same network, evaluation only
    """Fold every batch norm into the convolution before it and store the weights channels-last: the same
    function of the input (to float rounding) in about 30% less time on a CPU for a whole image. The network
    can no longer be trained afterwards; detectors call this once, after loading."""
    import torch
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net.eval()
    for module in net.modules():
        conv, bn = getattr(module, "conv", None), getattr(module, "bn", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):  # backbones.ConvBN
            module.conv, module.bn = fuse_conv_bn_eval(conv, bn), nn.Identity()
        if isinstance(module, nn.Sequential):  # layers.conv_block and the like
            kids = list(module)
            for i in range(len(kids) - 1):
                if isinstance(kids[i], nn.Conv2d) and isinstance(kids[i + 1], nn.BatchNorm2d):
                    module[i], module[i + 1] = fuse_conv_bn_eval(kids[i], kids[i + 1]), nn.Identity()
    return net.to(memory_format=torch.channels_last)


def to_tensor(image: np.ndarray):  # -> torch.Tensor (1, C, H, W) in [0, 1]
    """uint8 (H, W, C) -> float (1, C, H, W) in [0, 1]: RGB, plus any map channels after it."""
    import torch

    return torch.from_numpy(np.array(image, dtype=np.uint8, copy=True)).permute(2, 0, 1).unsqueeze(0).float() / 255.0


def _predict_whole(net: ForensicNet, image: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(logit, mask probability or None) for one image or tile, padded to the network's multiple."""
    import torch
    from torch.nn import functional as F

    h, w = image.shape[:2]
    m = net.multiple
    x = to_tensor(image)
    ph, pw = (-h) % m, (-w) % m
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        out = net(x)
    logit = float(out["logit"][0])
    mask = out.get("mask_logits")
    return logit, None if mask is None else torch.sigmoid(mask[0, 0, :h, :w]).numpy().astype(np.float32)


def tile_starts(size: int, tile: int = TILE, overlap: int = OVERLAP) -> list[int]:
    """Start offsets of tiles of `tile` px covering `size` px, neighbours sharing at least `overlap` px."""
    if size <= tile:
        return [0]
    n = int(np.ceil((size - overlap) / (tile - overlap)))
    return sorted({round(i * (size - tile) / (n - 1)) for i in range(n)})


def _predict_tiled(net: ForensicNet, image: np.ndarray) -> tuple[float, np.ndarray | None]:
    h, w = image.shape[:2]
    logits, mask, best = [], None, None
    for y in tile_starts(h, TILE, OVERLAP):
        for x in tile_starts(w, TILE, OVERLAP):
            logit, tile_mask = _predict_whole(net, image[y:y + TILE, x:x + TILE])
            logits.append(logit)
            if tile_mask is None:
                continue
            if mask is None:
                mask, best = np.zeros((h, w), np.float32), np.full((h, w), np.inf, np.float32)
            th, tw = tile_mask.shape
            yy, xx = np.mgrid[y:y + th, x:x + tw]
            dist = np.maximum(np.abs(yy - (y + th / 2)) / th, np.abs(xx - (x + tw / 2)) / tw).astype(np.float32)
            region = (slice(y, y + th), slice(x, x + tw))
            closer = dist < best[region]
            mask[region][closer] = tile_mask[closer]
            best[region][closer] = dist[closer]
    logit = max(logits) if mask is not None else float(np.mean(logits))
    return logit, mask


def predict_image(net: ForensicNet, rgb: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(P(fake) of the image, per-pixel P(manipulated) at the image's size or None) for uint8 RGB (H, W, 3),
    or RGB plus the map channels a network that takes maps expects (H, W, 3 + K).

    The image is reflect-padded at the bottom and right to a multiple of `net.multiple` (replicate-padded when
    it is too small to reflect), never resized: resizing would erase the traces the network reads. Large
    images run in tiles (module docstring)."""
    expected = 3 + len(getattr(net, "maps", []))
    if rgb.ndim != 3 or rgb.shape[2] != expected:
        raise ValueError(f"this network takes {expected} input channels (RGB + its maps), got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    logit, mask = (_predict_tiled if h * w > TILE_PIXELS else _predict_whole)(net, rgb)
    return float(1.0 / (1.0 + np.exp(-logit))), mask

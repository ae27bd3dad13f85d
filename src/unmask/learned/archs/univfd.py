"""UnivFD-style AI-generated image detector: a linear probe on a frozen pretrained encoder's features.

Ojha, Li & Lee, "Towards Universal Fake Image Detectors that Generalize Across Generative Models" (CVPR
2023): a classifier trained end to end on one generator's fakes learns that generator's traces and calls
everything else real; a *linear* classifier on the features of a large pretrained encoder that never saw the
task generalises much better. The paper probes CLIP ViT-L/14; this project has no CLIP weights offline, so
the encoder is an ImageNet one from unmask.learned.backbones (MobileNetV2 or EfficientNet-Lite0), completely
frozen (every block, the head convolution and their batch norms). The probe reads pooled statistics of the
encoder's feature maps (see UnivFDNet), standardised by a batch norm without affine terms (its running mean
and variance are the training set's), then one linear layer.

How an image of any size is seen, identically at training and at inference, and why: when its shortest side
is longer than `side` (512 for the shipped model) it is shrunk to `side` (Pillow Lanczos); a smaller image is
never enlarged (enlarging leaves interpolation traces like a generator's up-sampling) but reflect-padded, as
the training loop pads before its random crop; then up to `max_views` (3) side x side crops evenly spaced along
the long side are scored and their logits averaged (`views`, `score`). Every image thus reaches the encoder at
the same pixel count and about the same content scale, so image size is not a clue: a 3000 px camera photo
and a 559 px generated image both become 512 px squares. (Native-resolution crops would leak size through
content scale: a crop of a 3000 px photo shows a small patch, of a 559 px image most of the scene.) At 224 px
the generator traces were low-passed away (CV AUC about 0.6 on aigi_photos); 512 keeps most of them for
images of that size. Training sources go through the same shrink (unmask.train.sources.rescaled).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from ..backbones import backbone_spec
from ..pretrained import PretrainedNet

SIDE = 512
MAX_VIEWS = 3


def rescale_short(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    """uint8 (H, W, 3) with its shortest side brought to `side` (Pillow Lanczos), aspect ratio kept."""
    h, w = rgb.shape[:2]
    if min(h, w) == side:
        return rgb
    s = side / min(h, w)
    size = (max(side, round(w * s)), max(side, round(h * s)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., :3])).resize(size, Image.LANCZOS))


def shrink_short(rgb: np.ndarray, side: int = SIDE) -> np.ndarray:
    """`rescale_short` to `side` when the shortest side is longer; a smaller image is left as it is (an
    up-sampled camera photo would carry the interpolation traces the probe is taught to call generated)."""
    return rescale_short(rgb, side) if min(rgb.shape[:2]) > side else rgb[..., :3]


def view_starts(length: int, side: int = SIDE, max_views: int = MAX_VIEWS) -> list[int]:
    """Start offsets of up to `max_views` crops of `side` px evenly spaced over `length` px (ends included)."""
    n = min(max_views, -(-length // side))
    if n <= 1:
        return [(length - side) // 2]
    return sorted({round(i * (length - side) / (n - 1)) for i in range(n)})


def views(rgb: np.ndarray, side: int = SIDE, max_views: int = MAX_VIEWS) -> np.ndarray:
    """(K, side, side, 3) uint8: the image shrunk to shortest side `side` (`shrink_short`), reflect-padded at
    the bottom and right when a side is shorter (as the training loop pads a small image before its random
    crop, unmask.train.data.crop), then K square crops evenly spaced along its long side."""
    im = shrink_short(rgb, side)
    h, w = im.shape[:2]
    if h < side or w < side:
        im = np.pad(im, ((0, max(0, side - h)), (0, max(0, side - w)), (0, 0)), mode="reflect")
        h, w = im.shape[:2]
    if w >= h:
        return np.stack([im[:side, x:x + side] for x in view_starts(w, side, max_views)])
    return np.stack([im[y:y + side, :side] for y in view_starts(h, side, max_views)])


class UnivFDNet(PretrainedNet):
    """Frozen encoder + pooled features + standardisation + one linear layer.

    Features: the spatial mean (and with `spread` the standard deviation: texture statistics) of each of the
    first `taps` feature maps (strides 2, 4, 8, 16, 32), and with `head` the pooled 1280-d head vector (the
    semantic summary UnivFD reads). The encoder runs only as deep as those features need."""

    task = "classify"
    multiple = 1
    paper = "Ojha et al. CVPR 2023 (UnivFD: linear probe on frozen pretrained features)"

    def __init__(self, backbone: str = "mobilenet_v2", side: int = SIDE, max_views: int = MAX_VIEWS,
                 taps: int = 5, spread: bool = False, head: bool = True) -> None:
        spec = backbone_spec(backbone)
        if not 0 <= taps <= len(spec.taps) or not (taps or head):
            raise ValueError(f"taps must lie in 0..{len(spec.taps)}, and some feature must be read")
        super().__init__(backbone, len(spec.blocks))
        self.side, self.max_views, self.taps, self.spread, self.use_head = side, max_views, taps, spread, head
        dim = sum(spec.channels[:taps]) * (2 if spread else 1) + (spec.pooled_dim if head else 0)
        self.norm = nn.BatchNorm1d(dim, affine=False, momentum=None)  # cumulative mean/variance of the features
        self.fc = nn.Linear(dim, 1)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def trunk_modules(self) -> list[nn.Module]:
        return [*super().trunk_modules(), self.encoder.head]

    def trunk(self, x: Tensor) -> Tensor:
        """(B, dim) pooled features of RGB in [0, 1] (see the class docstring)."""
        enc, spec = self.encoder, self.encoder.spec
        depth = len(spec.blocks) if self.use_head else spec.taps[self.taps - 1] + 1
        maps = []
        with torch.no_grad():
            h = enc.stem(enc.normalise(x))
            for i, block in enumerate(enc.blocks[:depth]):
                h = block(h)
                if i in spec.taps[:self.taps]:
                    maps.append(h)
            stats = [m.mean(dim=(2, 3)) for m in maps]
            if self.spread:
                stats += [m.std(dim=(2, 3)) for m in maps]
            if self.use_head:
                stats.append(enc.head(h).mean(dim=(2, 3)))
            return torch.cat(stats, dim=1)

    def rest(self, h: Tensor, size: tuple[int, int]) -> dict[str, Tensor]:
        return {"logit": self.fc(self.norm(h.float())).squeeze(1)}

    def score(self, rgb: np.ndarray) -> float:
        """P(AI-generated) of one uint8 RGB image of any size: mean logit of its `views`."""
        crops = views(rgb, self.side, self.max_views)
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float() / 255.0
        with torch.inference_mode():
            logit = float(self(x)["logit"].mean())
        return float(1.0 / (1.0 + np.exp(-logit)))


ARCH = UnivFDNet

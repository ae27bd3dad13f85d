"""A small convolutional face-forgery classifier for aligned face crops (first baseline of the faces issue).

Five stride-2 convolution stages (batch norm, ReLU) and global average pooling to one logit, in the spirit of
the lightweight baselines DeepfakeBench compares (MesoNet, Afchar et al. WIFS 2018), trained on real and fake
face crops plus self-blended fakes (Shiohara & Yamasaki, CVPR 2022; unmask.train.sources.sbi).
"""

from __future__ import annotations

import itertools

from torch import Tensor, nn

from ..layers import conv_block
from ..net import ForensicNet


class FaceCNN(ForensicNet):
    task = "classify"
    multiple = 32
    paper = "Afchar et al. WIFS 2018 (MesoNet); Shiohara & Yamasaki CVPR 2022 (SBI)"

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        chans = [3, w, 2 * w, 4 * w, 6 * w, 8 * w]
        self.features = nn.Sequential(*[conv_block(a, b, 2) for a, b in itertools.pairwise(chans)])
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.features((x - 0.5) / 0.25)
        return {"logit": self.head(h.mean(dim=(2, 3))).squeeze(1)}


ARCH = FaceCNN

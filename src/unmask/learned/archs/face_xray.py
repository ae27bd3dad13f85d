"""A face-forgery classifier with a blending-boundary head, for aligned face crops, trained from random weights.

The network `face_xray` shipped until 2026-12-07 (configs/train/face_xray_scratch.yaml); its ImageNet
successor is arch `face_xray_mbv2`. Kept so that model stays loadable for side-by-side benchmarks.

One small encoder feeds two heads: a global-pooled logit (is this face forged?) and a map of where the face
was blended into its surroundings, the "face X-ray" of Li et al. (CVPR 2020). The map is learned from
self-blended fakes (Shiohara & Yamasaki, CVPR 2022; unmask.train.sources.faces), whose blending boundary is
known exactly; reals teach it an empty map, and fakes of unknown method only train the logit.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..layers import conv_block
from ..net import ForensicNet


class FaceXRay(ForensicNet):
    task = "localize"
    multiple = 16
    # the input it was trained on (configs/train/face_xray_scratch.yaml, faces source): the square of box_scale times
    # the face box, cut from the upright aligned crop, at input_size px (unmask.faces.align.cut_square)
    input_size = 128
    box_scale = 1.1
    paper = "Li et al. CVPR 2020 (Face X-ray); Shiohara & Yamasaki CVPR 2022 (Self-Blended Images)"

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        w = width
        chans = [3, w, 2 * w, 4 * w, 8 * w]
        self.stages = nn.ModuleList(conv_block(a, b, 2) for a, b in itertools.pairwise(chans))
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(chans[-1], 1))
        self.lateral = nn.Conv2d(4 * w, 2 * w, 1)
        self.xray = nn.Sequential(conv_block(4 * w, 2 * w), nn.Conv2d(2 * w, 1, 1))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = (x - 0.5) / 0.25
        feats = []
        for stage in self.stages:
            h = stage(h)
            feats.append(h)
        mid = F.interpolate(self.lateral(feats[2]), size=feats[1].shape[2:], mode="bilinear", align_corners=False)
        boundary = self.xray(torch.cat([feats[1], mid], dim=1))
        return {"logit": self.head(h.mean(dim=(2, 3))).squeeze(1),
                "mask_logits": F.interpolate(boundary, size=x.shape[2:], mode="bilinear", align_corners=False)}


ARCH = FaceXRay

"""A face-forgery classifier with a blending-boundary head, on an ImageNet encoder, for aligned face crops.

The network of the shipped `face_xray` since 2026-12-07 (configs/train/face_xray.yaml): much better than its
scratch predecessor (arch `face_xray`) on DFDC faces it never saw, but it still calls many real faces from
other sources forged (docs/models/face_xray.md).

The encoder is a pretrained MobileNetV2 (unmask.learned.backbones) whose stem and first `frozen_blocks`
blocks stay as ImageNet made them (unmask.learned.pretrained); the later blocks are fine-tuned. Two heads:
a linear layer on the pooled features (is this face forged?) and a 1x1-convolution map, on the last
stride-16 features, of where the face was blended into its surroundings, the "face X-ray" of Li et al.
(CVPR 2020). The map is learned from self-blended fakes (Shiohara & Yamasaki, CVPR 2022;
unmask.train.sources.faces), whose blending boundary is known exactly; reals teach it an empty map, and fakes
of unknown method only train the logit.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ..pretrained import PretrainedNet


class FaceXRayMBV2(PretrainedNet):
    task = "localize"
    # the input it was trained on (configs/train/face_xray.yaml, faces source): the square of box_scale times
    # the face box, cut from the upright aligned crop, at input_size px (unmask.faces.align.cut_square)
    box_scale = 1.1
    paper = ("Li et al. CVPR 2020 (Face X-ray); Shiohara & Yamasaki CVPR 2022 (Self-Blended Images); "
             "Sandler et al. CVPR 2018 (MobileNetV2, ImageNet weights)")

    def __init__(self, backbone: str = "mobilenet_v2", frozen_blocks: int = 10, input_size: int = 160) -> None:
        super().__init__(backbone, frozen_blocks)
        self.input_size = input_size
        spec = self.encoder.spec
        # the last block at stride 16: the finest trained features, where the boundary map is read
        self.mid = max(i for i, s in enumerate(spec.block_strides) if s == 16)
        if self.mid < frozen_blocks:
            raise ValueError(f"frozen_blocks {frozen_blocks} would freeze the boundary head's features (block "
                             f"{self.mid}); freeze at most {self.mid}")
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(spec.pooled_dim, 1))
        self.xray = nn.Conv2d(spec.blocks[self.mid].cout, 1, 1)

    def rest(self, h: Tensor, size: tuple[int, int]) -> dict[str, Tensor]:
        mid = h
        for i in range(self.frozen_blocks, len(self.encoder.blocks)):
            h = self.encoder.blocks[i](h)
            if i == self.mid:
                mid = h
        pooled = self.encoder.head(h).mean(dim=(2, 3))
        boundary = self.xray(mid)
        return {"logit": self.head(pooled).squeeze(1),
                "mask_logits": F.interpolate(boundary, size=tuple(size), mode="bilinear", align_corners=False)}


ARCH = FaceXRayMBV2

"""The first `forensic_unet` (shipped until 2026-12): a small scratch-trained U-Net on RGB plus forensic residuals.

Kept so the earlier shipped weights still load, for side-by-side benchmarks (benchmarks/forensic_unet_compare.py
reads them from git history); the shipped localiser is now unmask.learned.archs.forensic_unet.


In the spirit of ManTra-Net (Wu et al., CVPR 2019: a feature extractor built on SRM and Bayar constrained
convolutions), MVSS-Net (Chen et al., ICCV 2021: a noise view beside the RGB view) and MMFusion (Triaridis &
Mezaris 2024: several forensic views fused). The stem concatenates normalised RGB, nine SRM residuals, three
Bayar residuals and, when `maps` names any, the heatmaps of those training-free detectors (input channels
after RGB, see unmask.detectors.maps); a
four-level U-Net predicts the mask at half resolution (then upsampled); the image logit comes from the bottleneck (mean and max pooled) and from
the mask's top-1% logits, so a small confident region can flag an image.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..layers import SRM, BayarConv, conv_block
from ..net import ForensicNet


class ForensicUNetScratch(ForensicNet):
    task = "localize"
    multiple = 8
    paper = "Wu et al. CVPR 2019 (ManTra-Net); Chen et al. ICCV 2021 (MVSS-Net); Bayar & Stamm 2018"

    def __init__(self, width: int = 16, maps: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__()
        w = width
        self.maps = list(maps)
        self.srm = SRM()
        self.bayar = BayarConv(3, 3, 5)
        self.enc = nn.ModuleList([
            nn.Sequential(nn.Conv2d(15 + len(self.maps), w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)),
            conv_block(w, 2 * w, 2), conv_block(2 * w, 4 * w, 2), conv_block(4 * w, 6 * w, 2)])
        self.dec = nn.ModuleList([conv_block(10 * w, 4 * w), conv_block(6 * w, 2 * w)])
        self.head = nn.Conv2d(2 * w, 1, 1)
        self.cls = nn.Linear(12 * w + 1, 1)

    def stem(self, x: Tensor) -> Tensor:
        rgb, maps = x[:, :3], x[:, 3:]
        return torch.cat([(rgb - 0.5) / 0.25, self.srm(rgb) * 16.0, self.bayar(rgb) * 16.0, (maps - 0.5) * 2.0],
                         dim=1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        feats, h = [], self.stem(x)
        for block in self.enc:
            h = block(h)
            feats.append(h)
        for block, skip in zip(self.dec, (feats[2], feats[1]), strict=True):
            h = F.interpolate(h, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            h = block(torch.cat([h, skip], dim=1))
        half = self.head(h)  # at 1/2 resolution: the full-resolution level only extracts residuals
        mask_logits = F.interpolate(half, size=x.shape[-2:], mode="bilinear", align_corners=False)
        flat = half.flatten(1)
        top = flat.topk(max(1, flat.shape[1] // 100), dim=1).values.mean(dim=1, keepdim=True)
        bottleneck = feats[-1]
        pooled = torch.cat([bottleneck.mean(dim=(2, 3)), bottleneck.amax(dim=(2, 3)), top], dim=1)
        return {"logit": self.cls(pooled).squeeze(1), "mask_logits": mask_logits}


ARCH = ForensicUNetScratch

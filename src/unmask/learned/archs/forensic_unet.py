"""A manipulation localiser: a U-Net on an ImageNet encoder, with a forensic residual branch injected into it.

Two views of the image, fused (MVSS-Net, Chen et al. ICCV 2021: an RGB view and a noise view; MMFusion,
Triaridis & Mezaris 2024: several forensic views):

- the RGB view is a MobileNetV2 (Sandler et al. CVPR 2018) with its ImageNet weights (unmask.learned.backbones).
  Its stem and first `frozen_blocks` blocks (down to stride 8) stay as ImageNet made them (the frozen trunk of
  unmask.learned.pretrained, cached during training); the stride-16 and stride-32 blocks are fine-tuned;
- the forensic view reads nine fixed SRM residuals and three Bayar-constrained learned residuals of the RGB
  (ManTra-Net, Wu et al. CVPR 2019; Bayar & Stamm 2018), plus, when `maps` names any, the heatmaps of those
  training-free detectors (input channels after RGB, see unmask.detectors.maps), through three strided
  convolution blocks (strides 2, 4, 8). Its stride-8 features are added into the encoder's stride-8
  activation through a 1x1 convolution that starts at zero, so training starts from the plain ImageNet encoder
  and lets the fine-tuned blocks read the residuals as far as they help.

A U-Net decoder (Ronneberger et al. 2015) climbs back from stride 32 with skip connections from the encoder
(strides 16, 8, 4) and the forensic view (strides 8, 4) and predicts the mask at stride 4 (then upsampled
bilinearly). The image logit pools the stride-32 features (mean and max) and the mask's top-1% logits, so a
small confident region can flag an image.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..layers import SRM, BayarConv, conv_block
from ..pretrained import PretrainedNet


class ForensicUNet(PretrainedNet):
    task = "localize"
    paper = ("Chen et al. ICCV 2021 (MVSS-Net); Wu et al. CVPR 2019 (ManTra-Net); Bayar & Stamm 2018; "
             "Sandler et al. CVPR 2018 (MobileNetV2, ImageNet weights); Ronneberger et al. 2015 (U-Net)")

    def __init__(self, backbone: str = "mobilenet_v2", frozen_blocks: int = 6,
                 maps: tuple[str, ...] | list[str] = (), width: int = 16) -> None:
        super().__init__(backbone, frozen_blocks)
        spec = self.encoder.spec
        s4, s8, s16, s32 = spec.taps[1:]
        if not s4 + 2 <= frozen_blocks <= s8 + 1:  # the trunk must end at stride 8
            raise ValueError(f"frozen_blocks must end the frozen trunk at stride 8 ({s4 + 2}..{s8 + 1} for "
                             f"{backbone}), got {frozen_blocks}")
        self.taps = (s4, s8, s16, s32)
        self.encoder.head = nn.Identity()  # the 1280-channel ImageNet head convolution is not used
        self.maps = list(maps)
        w = width
        c4, c8, c16, c32 = (spec.blocks[i].cout for i in self.taps)
        self.srm = SRM()
        self.bayar = BayarConv(3, 3, 5)
        self.noise = nn.ModuleList([conv_block(12 + len(self.maps), w, 2), conv_block(w, 2 * w, 2),
                                    conv_block(2 * w, 3 * w, 2)])
        self.inject = nn.Conv2d(3 * w, c8, 1)
        nn.init.zeros_(self.inject.weight)
        nn.init.zeros_(self.inject.bias)
        self.reduce = nn.Sequential(nn.Conv2d(c32, 8 * w, 1, bias=False), nn.BatchNorm2d(8 * w), nn.ReLU(inplace=True))
        self.dec = nn.ModuleList([conv_block(8 * w + c16, 6 * w), conv_block(6 * w + c8 + 3 * w, 4 * w),
                                  conv_block(4 * w + c4 + 2 * w, 2 * w)])
        self.head = nn.Conv2d(2 * w, 1, 1)
        self.cls = nn.Linear(2 * c32 + 1, 1)

    def load_pretrained(self) -> None:
        from ..backbones import load_backbone

        state = load_backbone(self.backbone, classifier=False).state_dict()
        self.encoder.load_state_dict({k: v for k, v in state.items() if not k.startswith("head.")}, strict=True)

    def trunk(self, x: Tensor) -> Any:
        """(the input itself, RGB and maps; the frozen stride-4 features; the frozen trunk's output)."""
        with torch.no_grad():
            h = self.encoder.stem(self.encoder.normalise(x[:, :3]))
            f4 = h
            for i, block in enumerate(self.encoder.blocks[:self.frozen_blocks]):
                h = block(h)
                if i == self.taps[0]:
                    f4 = h
        return x, f4, h

    def rest(self, h: Any, size: tuple[int, int]) -> dict[str, Tensor]:
        x, f4, h = h
        rgb, maps = x[:, :3], x[:, 3:]
        n = torch.cat([self.srm(rgb) * 16.0, self.bayar(rgb) * 16.0, (maps - 0.5) * 2.0], dim=1)
        n2 = self.noise[0](n)
        n4 = self.noise[1](n2)
        n8 = self.noise[2](n4)
        h = h + self.inject(n8)  # the trunk ends at stride 8, as does the forensic view
        _, s8, s16, s32 = self.taps
        feats = {s8: h}
        for i in range(self.frozen_blocks, len(self.encoder.blocks)):
            h = self.encoder.blocks[i](h)
            if i in self.taps:
                feats[i] = h
        f8 = feats[s8]
        top = feats[s32]
        d = self.reduce(top)
        for block, skips in zip(self.dec, ((feats[s16],), (f8, n8), (f4, n4)), strict=True):
            d = F.interpolate(d, size=skips[0].shape[-2:], mode="bilinear", align_corners=False)
            d = block(torch.cat([d, *skips], dim=1))
        quarter = self.head(d)
        mask_logits = F.interpolate(quarter, size=tuple(size), mode="bilinear", align_corners=False)
        flat = quarter.flatten(1)
        k = max(1, flat.shape[1] // 100)
        pooled = torch.cat([top.mean(dim=(2, 3)), top.amax(dim=(2, 3)),
                            flat.topk(k, dim=1).values.mean(dim=1, keepdim=True)], dim=1)
        return {"logit": self.cls(pooled).squeeze(1), "mask_logits": mask_logits}


ARCH = ForensicUNet

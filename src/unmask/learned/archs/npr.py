"""An NPR-style AI-generated image classifier: neighbouring-pixel residuals, a small CNN, global pooling.

Tan et al., "Rethinking the Up-Sampling Operations in CNN-based Generative Network for Generalizable Deepfake
Detection" (CVPR 2024): the up-sampling layers of generator decoders tie each pixel to its neighbours in every
2x2 cell, and the image minus its 2x nearest down-then-up copy (NPR) exposes that tie whatever the generator.
Here the NPR of the input feeds four cheap convolution stages (the first at full resolution so the 2x2 phase
is seen intact); global mean pooling of the last stage gives the logit, so any image size works and a large
image is not more suspect than a small one (a max would grow with the number of pixels).
"""

from __future__ import annotations

from torch import Tensor, nn

from ..layers import conv_block, npr_residual
from ..net import ForensicNet


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class NPRNet(ForensicNet):
    task = "classify"
    multiple = 8
    paper = "Tan et al. CVPR 2024 (NPR: neighbouring pixel relationships)"

    def __init__(self, width: int = 16, gain: float = 8.0) -> None:
        super().__init__()
        w = width
        self.gain = gain  # NPR values are a few grey levels: scale them to unit-ish range for the first conv
        self.features = nn.Sequential(_conv(3, w, 1), _conv(w, w + w // 2, 2), _conv(w + w // 2, 2 * w, 2),
                                      conv_block(2 * w, 4 * w, 2))
        self.cls = nn.Linear(4 * w, 1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.features(npr_residual(x) * self.gain)
        return {"logit": self.cls(h.mean(dim=(2, 3))).squeeze(1)}


ARCH = NPRNet

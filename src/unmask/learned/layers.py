"""Forensic input layers shared by the networks: fixed SRM high-pass filters, Bayar's constrained
convolution and the neighbouring-pixel residual (NPR). They make a network see noise, not content."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Three of the spatial rich model filters (Fridrich & Kodovsky 2012) as used by Zhou et al., CVPR 2018
# (RGB-N): a 2nd-order "KB" filter, a 3rd-order edge filter and the 5x5 "KV" filter, each normalised.
_KB = [[0, 0, 0, 0, 0], [0, -1, 2, -1, 0], [0, 2, -4, 2, 0], [0, -1, 2, -1, 0], [0, 0, 0, 0, 0]]
_EDGE3 = [[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 1, -2, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
_KV = [[-1, 2, -2, 2, -1], [2, -6, 8, -6, 2], [-2, 8, -12, 8, -2], [2, -6, 8, -6, 2], [-1, 2, -2, 2, -1]]


class SRM(nn.Module):
    """Fixed SRM residuals of each colour channel: 3 filters x 3 channels = 9 output channels."""

    def __init__(self) -> None:
        super().__init__()
        bank = torch.tensor([_KB, _EDGE3, _KV], dtype=torch.float32)
        bank = bank / torch.tensor([4.0, 2.0, 12.0]).view(3, 1, 1)
        weight = bank.unsqueeze(1).repeat(3, 1, 1, 1)  # (9, 1, 5, 5), grouped per input channel
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=2, groups=3)


class BayarConv(nn.Module):
    """Constrained convolution (Bayar & Stamm 2018): each kernel's centre is -1 and its other weights sum to
    1, so the layer can only learn prediction-error (residual) filters, never content detectors."""

    def __init__(self, in_ch: int = 3, out_ch: int = 3, k: int = 5) -> None:
        super().__init__()
        self.k = k
        self.free = nn.Parameter(torch.randn(out_ch, in_ch, k * k - 1) * 0.1)

    def kernel(self) -> torch.Tensor:
        w = self.free / (self.free.abs().sum(dim=-1, keepdim=True) + 1e-6) * torch.sign(
            self.free.sum(dim=-1, keepdim=True) + 1e-12)
        centre = torch.full_like(w[..., :1], -1.0)
        half = (self.k * self.k) // 2
        full = torch.cat([w[..., :half], centre, w[..., half:]], dim=-1)
        return full.view(*full.shape[:2], self.k, self.k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.kernel(), padding=self.k // 2)


def npr_residual(x: torch.Tensor) -> torch.Tensor:
    """x minus its 2x nearest-neighbour down-then-up copy (Tan et al., CVPR 2024): the local correlation
    that up-sampling layers leave between neighbouring pixels. H and W must be even."""
    down = x[..., ::2, ::2]
    return x - down.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def conv_block(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    """Two 3x3 convolutions with batch norm and ReLU; the first may stride."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
    )

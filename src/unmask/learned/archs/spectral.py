"""A spectral AI-generated image classifier: the power spectrum of a high-pass residual, summarised, then an MLP.

Up-sampling in generator decoders replicates the spectrum and leaves periodic peaks at the up-sampling
frequencies (Zhang, Karaman & Chang, WIFS 2019, "Detecting and Simulating Artifacts in GAN Fake Images";
Frank et al., ICML 2020, "Leveraging Frequency Analysis for Deep Fake Image Recognition"), and the azimuthal
average of the spectrum separates real from generated images (Durall et al., CVPR 2020, "Watch your
Up-Convolution"). The luma of the image is high-passed with a 4-neighbour Laplacian (which, unlike the SRM
"KB" filter, keeps the axes of the spectrum), cut into fixed tiles whose power spectra are averaged, so any
image of at least one tile works. Features: the log azimuthal profile (shape, plus its mean level) and, at
every pair of multiples of N/8 (N/2, N/4 and N/8 included), the log peak-to-neighbourhood ratio.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..net import ForensicNet

_LUMA = (0.299, 0.587, 0.114)
_LAPLACE = ((0.0, -1.0, 0.0), (-1.0, 4.0, -1.0), (0.0, -1.0, 0.0))


def tile_power(x: Tensor, tile: int) -> Tensor:
    """Mean power spectrum (B, tile, tile) over the non-overlapping tiles of the luma Laplacian residual."""
    luma = (x * torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    kernel = torch.tensor(_LAPLACE, dtype=x.dtype, device=x.device).view(1, 1, 3, 3)
    res = F.conv2d(luma * 255.0, kernel)[:, 0]
    b, h, w = res.shape
    if h < tile or w < tile:
        raise ValueError(f"the spectral model needs at least {tile + 2}x{tile + 2} pixels, got {h + 2}x{w + 2}")
    res = res[:, : h - h % tile, : w - w % tile]
    tiles = res.unfold(1, tile, tile).unfold(2, tile, tile).reshape(b, -1, tile, tile)
    tiles = tiles - tiles.mean(dim=(-2, -1), keepdim=True)
    return torch.fft.fft2(tiles).abs().square().mean(dim=1) / (tile * tile)


def fold(power: Tensor) -> Tensor:
    """Fold the four quadrants onto non-negative frequencies: (B, N/2+1, N/2+1), index = |frequency|."""
    n = power.shape[-1]
    idx = torch.arange(n // 2 + 1, device=power.device)
    neg = (n - idx) % n
    rows = (power[:, idx] + power[:, neg]) / 2
    return (rows[:, :, idx] + rows[:, :, neg]) / 2


class SpectralNet(ForensicNet):
    task = "classify"
    multiple = 1
    paper = "Zhang et al. WIFS 2019 (AutoGAN); Frank et al. ICML 2020; Durall et al. CVPR 2020"

    def __init__(self, tile: int = 32, hidden: int = 32, neighbourhood: int = 2) -> None:
        super().__init__()
        if tile % 8:
            raise ValueError("tile must be a multiple of 8 (the peaks sit at multiples of N/8)")
        self.tile, self.reach = tile, neighbourhood
        half = tile // 2
        fu, fv = torch.meshgrid(torch.arange(half + 1), torch.arange(half + 1), indexing="ij")
        radius = torch.sqrt((fu**2 + fv**2).float()).floor().long()
        self.register_buffer("ring", radius, persistent=False)
        self.n_bins = half
        steps = range(0, half + 1, tile // 8)
        self.peaks = [(a, b) for a in steps for b in steps if (a, b) != (0, 0)]
        n_features = self.n_bins + 1 + len(self.peaks)
        self.norm = nn.BatchNorm1d(n_features)
        self.mlp = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden),
                                 nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def radial(self, folded: Tensor) -> Tensor:
        """Log mean power per integer radius 0..N/2-1 (the azimuthal average of the folded spectrum)."""
        b = folded.shape[0]
        keep = self.ring < self.n_bins
        sums = torch.zeros(b, self.n_bins, dtype=folded.dtype, device=folded.device)
        sums.index_add_(1, self.ring[keep], folded[:, keep])
        counts = torch.bincount(self.ring[keep], minlength=self.n_bins).to(folded.dtype)
        return torch.log(sums / counts + 1e-6)

    def peak_ratios(self, folded: Tensor) -> Tensor:
        """Log power at each peak minus the log median of its neighbourhood (centre excluded, edges clipped)."""
        logp = torch.log(folded + 1e-6)
        n, r, out = folded.shape[-1], self.reach, []
        for a, b in self.peaks:
            win = logp[:, max(0, a - r): min(n, a + r + 1), max(0, b - r): min(n, b + r + 1)].flatten(1)
            centre = (min(a, r)) * (min(n, b + r + 1) - max(0, b - r)) + min(b, r)
            ring = torch.cat([win[:, :centre], win[:, centre + 1:]], dim=1)
            out.append(logp[:, a, b] - ring.median(dim=1).values)
        return torch.stack(out, dim=1)

    def features(self, x: Tensor) -> Tensor:
        folded = fold(tile_power(x, self.tile))
        prof = self.radial(folded)
        level = prof.mean(dim=1, keepdim=True)
        return torch.cat([prof - level, level, self.peak_ratios(folded)], dim=1)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return {"logit": self.mlp(self.norm(self.features(x))).squeeze(1)}


ARCH = SpectralNet

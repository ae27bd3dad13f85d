"""AASIST, the anti-spoofing network of Jung et al., "AASIST: Audio Anti-Spoofing using Integrated
Spectro-Temporal Graph Attention Networks" (ICASSP 2022): the known end-to-end design the speech detectors are
measured against (issue 16, item 6), written here from the paper, with the public code (clovaai/aasist) read
for its sizes and the details the paper leaves open.

The network, on raw 16 kHz samples of any length (>= MIN_SAMPLES; the paper trains on 64,600 samples, ~4 s;
here the windows are 2 s, 32,000 samples, and the network works at any length because every stage is a
convolution, a pooling or a graph over however many nodes there are):

1. Front end: a fixed sinc-convolution filterbank (70 band-pass filters of 129 taps, band edges equally
   spaced on the mel scale from 0 to 8 kHz, Hamming windowed; not trained), |.|, 3x3 max pooling over
   (band, time), batch norm, SELU: a (1, 23, T/3) "spectrogram".
2. Encoder: six RawNet2-style residual blocks of 2-D convolutions (BN-SELU pre-activation except in the first,
   (2, 3) kernels, a (1, 3) convolution on the skip when the width changes, (1, 3) max pooling): 23 spectral
   rows, T/3^7 frames (14 for a 2-s window, 29 for the paper's 4 s).
3. Graphs: the spectral graph's nodes are the 23 rows (max |.| over time, plus a learned positional
   embedding), the temporal graph's the frames (max |.| over frequency). One graph attention layer each
   (attention from the element-wise product of node pairs, temperature 2), then graph pooling (the top-k
   nodes by a learned sigmoid score, scaled by it).
4. Heterogeneous stacking graph attention (HS-GAL): the two graphs joined into one, with one attention
   weight for temporal-temporal, one for spectral-spectral and one for cross pairs (temperature 100), plus a
   "stack node" that attends over all nodes and carries what they share. Two branches, each HS-GAL, pooling,
   a second HS-GAL added residually; the branches are merged by an element-wise maximum (the "max graph
   operation", MGO).
5. Readout: max |.| and mean of the temporal and of the spectral nodes and the stack node (5 x 32 values),
   dropout 0.5, a linear layer to two classes (bona fide, spoof). The log-odds of spoof is their difference.

Two sizes, as the public configurations: "full" (AASIST, widths 32-32-64-64, graph width 64, 297,866
parameters, as the paper's ~297k) and "light" (AASIST-L, widths 32-32-24-24, graph width 24, 85,306, as
the paper's ~85k).

Against the public code: (a) the residual block applies its BN-SELU pre-activation before the first
convolution, as RawNet2 and the paper describe (the public code computes it and then convolves the block's
input instead, so its pre-activation is dead code; the parameter count is the same), the one departure; (b)
the four HS-GAL poolings all use the third pooling ratio, as the public code does (its fourth ratio is never
read), so a size here lists three ratios; (c) the stack node is expanded to the batch before the first HS-GAL
(the public code broadcasts it; the same result). The frequency-masking augmentation of the public code is
off in its AASIST configurations and is left out.

Why here and not in unmask.learned.archs: a ForensicNet takes RGB images (B, 3, H, W) and every module there
is an image network that the image trainer and the learned store build by name; the speech detectors' models
are frame models (unmask.audio.windows.FrameModel) stored as safetensors arrays, like lfcc_gmm's and
whisper_probe's, and trained by the audio trainer (unmask.train.audio, ARCHS).

The frame model. unmask.audio.windows.score_track hands a model the frames of one window at a time;
AASIST reads the window's samples, so `AasistModel.features` returns the samples themselves cut into 10-ms
rows (160 samples) and `logit` joins the rows back into the window's waveform and runs the network on it, the
calibrated scale and offset on top, like the other frame models. A window shorter than `window_s` (a clip
shorter than one window is scored whole) is repeated up to `window_s`, as the paper pads its 4-s crops.

Speed on one CPU core (benchmarks/aasist_speed.py: torch 2.13 CPU build, one thread, 2-s windows, median of 5
batches; a shared 2-core machine with both cores busy, so read them as upper bounds), seconds per window:

    size    forward (batch 8)   forward (batch 1)   forward+backward+Adam (batch 8)
    light   0.135               0.145               0.39
    full    0.166               0.180               0.52

with glibc told to keep freed memory (MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 in the
environment); by default every large activation is a fresh mmap and page faults make the same work ~1.8x
slower (light 0.29 / 0.67 s, full 0.37 / 0.86 s). The encoder's convolutions run channels-last (~2x faster
on a CPU than the default layout); the front end and the first residual block, at full time resolution, are
most of the cost, which is why the light size is not much cheaper. unmask.train.aasist estimates the cost of
one leave-one-source-out benchmark run from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

RATE = 16000
FRAME = 160  # samples per 10-ms row of AasistModel.features
SINC_TAPS = 129  # the paper's 128, made odd so every filter is symmetric
SINC_BANDS = 70
MIN_SAMPLES = SINC_TAPS - 1 + 3 ** 7  # the shortest input that leaves one frame after the seven poolings

# size -> encoder widths (6 blocks), graph widths (GAT, HS-GAL), pooling ratios (spectral, temporal, HS-GAL),
# temperatures (GAT, HS-GAL); from the public AASIST.conf and AASIST-L.conf
SIZES: dict[str, dict[str, Any]] = {
    "full": {"widths": (32, 32, 64, 64, 64, 64), "graph": (64, 32), "pools": (0.5, 0.7, 0.5),
             "temperatures": (2.0, 100.0)},
    "light": {"widths": (32, 32, 24, 24, 24, 24), "graph": (24, 32), "pools": (0.4, 0.5, 0.7),
              "temperatures": (2.0, 100.0)},
}


def sinc_bank(bands: int = SINC_BANDS, taps: int = SINC_TAPS, rate: int = RATE) -> np.ndarray:
    """(bands, taps) band-pass FIR filters: ideal band-pass (difference of two sinc low-passes) between
    consecutive mel-spaced edges from 0 to rate/2, times a Hamming window."""
    def mel(hz: Any) -> Any:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges = 700.0 * (10.0 ** (np.linspace(0.0, mel(rate / 2), bands + 1) / 2595.0) - 1.0)
    t = np.arange(taps) - (taps - 1) / 2

    def low(fc: float) -> np.ndarray:
        return 2.0 * fc / rate * np.sinc(2.0 * fc * t / rate)

    bank = np.stack([low(hi) - low(lo) for lo, hi in pairwise(edges)])
    return (bank * np.hamming(taps)).astype(np.float32)


def _xavier(rows: int, cols: int) -> nn.Parameter:
    w = nn.Parameter(torch.empty(rows, cols))
    nn.init.xavier_normal_(w)
    return w


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool) -> None:
        super().__init__()
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm2d(cin), nn.SELU())
        self.conv1 = nn.Conv2d(cin, cout, (2, 3), padding=(1, 1))
        self.mid = nn.Sequential(nn.BatchNorm2d(cout), nn.SELU())
        self.conv2 = nn.Conv2d(cout, cout, (2, 3), padding=(0, 1))
        self.skip = nn.Conv2d(cin, cout, (1, 3), padding=(0, 1)) if cin != cout else nn.Identity()
        self.pool = nn.MaxPool2d((1, 3))

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.conv2(self.mid(self.conv1(self.pre(x)))) + self.skip(x))


def _node_norm(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """Batch norm of every node's features, all nodes of all items pooled."""
    b, n, d = x.shape
    return bn(x.reshape(b * n, d)).reshape(b, n, d)


class GraphAttention(nn.Module):
    """A graph attention layer over fully connected nodes (B, N, D): the attention of node i to node j is a
    softmax over j of w . tanh(A (x_i * x_j)) / temperature; the output is BN-SELU of
    P (sum_j a_ij x_j) + Q x_i."""

    def __init__(self, din: int, dout: int, temperature: float) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.att = nn.Linear(din, dout)
        self.att_w = _xavier(dout, 1)
        self.with_att = nn.Linear(din, dout)
        self.without_att = nn.Linear(din, dout)
        self.bn = nn.BatchNorm1d(dout)
        self.temperature = temperature

    def forward(self, x: Tensor) -> Tensor:
        x = self.drop(x)
        pairs = torch.tanh(self.att(x.unsqueeze(2) * x.unsqueeze(1)))  # (B, N, N, dout)
        a = torch.softmax((pairs @ self.att_w).squeeze(-1) / self.temperature, dim=-1)
        return F.selu(_node_norm(self.bn, self.with_att(a @ x) + self.without_att(x)))


class HeteroGraphAttention(nn.Module):
    """HS-GAL: two node types (temporal, spectral) projected to one space and joined into one graph; pair
    attention as GraphAttention with one weight vector per type pair (11, 22, and one for both cross
    directions); a stack node attends over every node and is updated with its own projection (no norm)."""

    def __init__(self, din: int, dout: int, temperature: float) -> None:
        super().__init__()
        self.type1 = nn.Linear(din, din)
        self.type2 = nn.Linear(din, din)
        self.drop = nn.Dropout(0.2)
        self.att = nn.Linear(din, dout)
        self.att_stack = nn.Linear(din, dout)
        self.w11, self.w22, self.w12, self.w_stack = (_xavier(dout, 1) for _ in range(4))
        self.with_att = nn.Linear(din, dout)
        self.without_att = nn.Linear(din, dout)
        self.stack_with_att = nn.Linear(din, dout)
        self.stack_without_att = nn.Linear(din, dout)
        self.bn = nn.BatchNorm1d(dout)
        self.temperature = temperature

    def forward(self, x1: Tensor, x2: Tensor, stack: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        n1 = x1.shape[1]
        x = self.drop(torch.cat([self.type1(x1), self.type2(x2)], dim=1))
        pairs = torch.tanh(self.att(x.unsqueeze(2) * x.unsqueeze(1)))  # (B, N, N, dout)
        first = torch.arange(x.shape[1], device=x.device) < n1
        both1, both2 = first[:, None] & first[None, :], ~first[:, None] & ~first[None, :]
        score = torch.where(both1, (pairs @ self.w11).squeeze(-1),
                            torch.where(both2, (pairs @ self.w22).squeeze(-1), (pairs @ self.w12).squeeze(-1)))
        a = torch.softmax(score / self.temperature, dim=-1)
        s = torch.tanh(self.att_stack(x * stack)) @ self.w_stack  # (B, N, 1)
        s = torch.softmax(s / self.temperature, dim=1)
        stack = self.stack_with_att(s.transpose(1, 2) @ x) + self.stack_without_att(stack)
        x = F.selu(_node_norm(self.bn, self.with_att(a @ x) + self.without_att(x)))
        return x[:, :n1], x[:, n1:], stack


class GraphPool(nn.Module):
    """Keep the top `ratio` of the nodes (at least one) by a learned sigmoid score, each scaled by its score."""

    def __init__(self, ratio: float, dim: int, dropout: float = 0.3) -> None:
        super().__init__()
        self.ratio = ratio
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(dim, 1)

    def forward(self, h: Tensor) -> Tensor:
        score = torch.sigmoid(self.proj(self.drop(h)))  # (B, N, 1)
        k = max(int(h.shape[1] * self.ratio), 1)
        idx = torch.topk(score, k, dim=1).indices.expand(-1, -1, h.shape[2])
        return torch.gather(h * score, 1, idx)


class Branch(nn.Module):
    """One of the two HS-GAL branches merged by the max graph operation."""

    def __init__(self, din: int, dout: int, ratio: float, temperature: float) -> None:
        super().__init__()
        self.stack = nn.Parameter(torch.randn(1, 1, din))
        self.first = HeteroGraphAttention(din, dout, temperature)
        self.pool_t = GraphPool(ratio, dout)
        self.pool_s = GraphPool(ratio, dout)
        self.second = HeteroGraphAttention(dout, dout, temperature)

    def forward(self, t: Tensor, s: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        t, s, m = self.first(t, s, self.stack.expand(t.shape[0], -1, -1))
        t, s = self.pool_t(t), self.pool_s(s)
        t2, s2, m2 = self.second(t, s, m)
        return t + t2, s + s2, m + m2


class Aasist(nn.Module):
    """AASIST on (B, samples) 16 kHz waveforms -> (B, 2) class logits (0 = bona fide, 1 = spoof)."""

    def __init__(self, size: str = "full") -> None:
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"unknown AASIST size {size!r}; known: {', '.join(SIZES)}")
        cfg = SIZES[size]
        self.size = size
        widths, (g1, g2) = cfg["widths"], cfg["graph"]
        (r_s, r_t, r_h), (temp_gat, temp_hs) = cfg["pools"], cfg["temperatures"]
        self.register_buffer("sinc", torch.from_numpy(sinc_bank())[:, None, :], persistent=False)
        self.first_bn = nn.BatchNorm2d(1)
        ins = (1, *widths[:-1])
        self.encoder = nn.Sequential(*(ResidualBlock(a, b, i == 0) for i, (a, b) in enumerate(zip(ins, widths,
                                                                                                  strict=True))))
        self.encoder.to(memory_format=torch.channels_last)  # see forward
        c = widths[-1]
        self.pos_s = nn.Parameter(torch.randn(1, SINC_BANDS // 3, c))
        self.gat_s = GraphAttention(c, g1, temp_gat)
        self.gat_t = GraphAttention(c, g1, temp_gat)
        self.pool_s = GraphPool(r_s, g1)
        self.pool_t = GraphPool(r_t, g1)
        self.branches = nn.ModuleList(Branch(g1, g2, r_h, temp_hs) for _ in range(2))
        self.drop_way = nn.Dropout(0.2)
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(5 * g2, 2)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] < MIN_SAMPLES:
            raise ValueError(f"AASIST needs {MIN_SAMPLES} samples or more, got {x.shape[-1]}")
        x = F.conv1d(x.unsqueeze(1), self.sinc)  # (B, 70, T)
        x = F.selu(self.first_bn(F.max_pool2d(x.abs().unsqueeze(1), 3)))  # (B, 1, 23, T/3)
        # channels-last: the 2-D convolutions at full time resolution run ~2x faster on a CPU (oneDNN)
        e = self.encoder(x.contiguous(memory_format=torch.channels_last)).abs()  # (B, C, 23, T')
        s = e.amax(dim=3).transpose(1, 2) + self.pos_s  # spectral nodes (B, 23, C)
        t = e.amax(dim=2).transpose(1, 2)  # temporal nodes (B, T', C)
        s, t = self.pool_s(self.gat_s(s)), self.pool_t(self.gat_t(t))
        outs = [tuple(self.drop_way(v) for v in b(t, s)) for b in self.branches]
        t, s, m = (torch.maximum(a, b) for a, b in zip(*outs, strict=True))
        h = torch.cat([t.abs().amax(dim=1), t.mean(dim=1), s.abs().amax(dim=1), s.mean(dim=1), m[:, 0]], dim=1)
        return self.out(self.drop(h))

    def log_odds(self, x: Tensor) -> Tensor:
        """(B,) log-odds of spoof: the difference of the two class logits."""
        z = self(x)
        return z[:, 1] - z[:, 0]


def parameter_count(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))


def round_to_half(net: nn.Module) -> nn.Module:
    """Round the parameters to float16 precision in place (kept float32), so that the network equals what
    AasistModel.arrays stores."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(p.half().float())
    return net


@dataclass
class AasistModel:
    """The frame model (unmask.audio.windows.FrameModel) of an AASIST detector: 10-ms rows of raw samples in,
    the calibrated log-odds of the window's waveform out."""

    net: Aasist = field(repr=False)
    scale: float = 1.0
    offset: float = 0.0
    window_s: float = 2.0  # the training crop; shorter windows are repeated up to it
    frame_s: float = FRAME / RATE  # 0.01

    def features(self, x: np.ndarray) -> np.ndarray:
        """(ceil(len(x) / 160), 160) the samples in 10-ms rows, the last one zero-padded."""
        x = np.asarray(x, np.float32).reshape(-1)
        n = -(-x.size // FRAME)
        return np.pad(x, (0, n * FRAME - x.size)).reshape(n, FRAME)

    def waveform(self, frames: np.ndarray) -> np.ndarray:
        """The window's samples from its rows, repeated up to `window_s` when shorter."""
        x = np.asarray(frames, np.float32).reshape(-1)
        need = max(round(self.window_s * RATE), MIN_SAMPLES)
        return np.resize(x, need) if 0 < x.size < need else x

    def raw(self, waves: np.ndarray) -> np.ndarray:
        """Uncalibrated log-odds of a batch of equal-length waveforms (B, samples)."""
        self.net.eval()
        device = next(self.net.parameters()).device
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(waves, np.float32), device=device)
            return self.net.log_odds(x).double().cpu().numpy()

    def logit(self, frames: np.ndarray) -> float:
        return float(self.scale * self.raw(self.waveform(frames)[None])[0] + self.offset)

    def arrays(self) -> dict[str, np.ndarray]:
        """The state dict (parameters as float16, batch-norm statistics as float32), the calibration and the
        configuration (size: 0 full, 1 light; window_s)."""
        params = {name for name, _ in self.net.named_parameters()}
        # C order: the encoder's weights are channels-last in memory, and safetensors writes raw buffers
        out = {f"net.{k}": np.ascontiguousarray(v.detach().cpu().numpy(), np.float16 if k in params else np.float32)
               for k, v in self.net.state_dict().items() if not k.endswith("num_batches_tracked")}
        out["calibration"] = np.array([self.scale, self.offset], np.float32)
        out["config"] = np.array([list(SIZES).index(self.net.size), self.window_s], np.float32)
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> AasistModel:
        size, window_s = list(SIZES)[int(a["config"][0])], float(a["config"][1])
        net = Aasist(size)
        state = {k[4:]: torch.from_numpy(np.asarray(v, np.float32)) for k, v in a.items() if k.startswith("net.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"AASIST arrays do not match the {size} network: missing {missing}, "
                             f"unexpected {unexpected}")
        scale, offset = (float(v) for v in a["calibration"])
        return cls(net.eval(), scale, offset, window_s)

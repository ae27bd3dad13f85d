"""Splicebuster: unsupervised segmentation of local noise-residual statistics into host and splice.

Paper: Cozzolino, Poggi & Verdoliva 2015, "Splicebuster: a new blind image splicing detector" (IEEE WIFS),
building on the co-occurrence features of Fridrich & Kodovsky 2012 ("Rich models for steganalysis").

Method: luma is high-pass filtered with the third-order linear filter r = -x[i-1] + 3x[i] - 3x[i+1] + x[i+2],
horizontally and vertically; residuals are quantised and truncated, clip(round(r / q), -2, 2), and every
run of 4 consecutive values along the filter direction is one co-occurrence code (5^4 = 625, pooled to 169
classes by sign and mirror symmetry). Histograms of the codes over sliding 64x64 windows (stride 16 px, via
per-cell bincounts and an integral image) describe each window's camera/processing "fingerprint". They are
square-rooted, reduced to 6 dimensions by PCA learned on the image itself, and EM fits the paper's blind
model: host windows Gaussian, spliced windows uniform (an outlier class), which makes the host fit robust.
The map is each window's Mahalanobis distance from the host Gaussian; its logarithm is standardised by the
image's own median and MAD, and heat = sigmoid(1.5 (z - 6)).

What differs from the paper, and why: the paper uses 128-px windows on a fine stride and a fixed q; 64-px
windows with a 16-px stride keep it fast and usable on small images. q is set to the image's own median
|residual| (rounded to 1/4) rather than fixed: with a fixed step, a noisy or textured photo saturates the
5-level quantiser everywhere and every window looks alike. Horizontal and vertical histograms are pooled
(summed) rather than concatenated. Windows that are mostly clipped or flat (no readable residual) are left out
of the fit and the map. A Gaussian splice class (`mixture="gaussian"`) is available as in the paper.

Score: the heat is averaged over 3x3 neighbouring windows (so an isolated odd window counts little), then
the mean of the hottest 2% of windows is taken (high only when a region of about 2% of the image is
confidently different), damped when more than a third of windows are "anomalous" (then the image simply has
two kinds of content). Limits: content also changes these statistics (strong texture, very dark or bright
areas), heavy JPEG compression erases them, a splice from a camera with similar processing leaves little
trace, and on a heavily textured picture added noise looks like more texture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.image import box_mean, gray, upsample
from ...preprocess.residual import (
    N_COOC_CLASSES,
    ZERO_CLASS,
    pad_to,
    region_score,
    robust_z,
    sigmoid,
    third_order_activity,
    third_order_codes,
    third_order_scale,
)
from .. import wording
from ..base import Detector
from ..evidence import Evidence

_CELL = 16  # stride of the sliding window, in pixels
_MIN_WINDOWS = 12


@dataclass
class SplicebusterOutput:
    """Native output on the window grid (one window per 16-px step): the Mahalanobis distance from the host
    model, the EM posterior of the splice class, the anomaly in [0,1] (0 where not `informative`), the
    splice class weight, the median distance of splice-class windows over that of host windows, and the share
    of feature variance the PCA kept."""

    distance: np.ndarray
    posterior_splice: np.ndarray
    anomaly: np.ndarray
    informative: np.ndarray
    window: int
    weight_splice: float
    separation: float
    explained_variance: float


def cell_histograms(codes: np.ndarray, cell: int) -> np.ndarray:
    """Co-occurrence class counts per non-overlapping `cell` x `cell` tile: (rows, cols, 169) float32."""
    hc, wc = codes.shape[0] // cell, codes.shape[1] // cell
    tiles = codes[: hc * cell, : wc * cell].reshape(hc, cell, wc, cell)
    cell_id = (np.arange(hc)[:, None, None, None] * wc + np.arange(wc)[None, None, :, None]) * N_COOC_CLASSES
    flat = (tiles + cell_id).ravel()
    counts = np.bincount(flat, minlength=hc * wc * N_COOC_CLASSES)
    return counts.reshape(hc, wc, N_COOC_CLASSES).astype(np.float32)


def window_sums(cells: np.ndarray, k: int) -> np.ndarray:
    """Sums over every k x k block of cells (stride 1), via an integral image over the two grid axes."""
    s = np.zeros((cells.shape[0] + 1, cells.shape[1] + 1, cells.shape[2]), np.float64)
    s[1:, 1:] = cells.cumsum(0).cumsum(1)
    return (s[k:, k:] - s[:-k, k:] - s[k:, :-k] + s[:-k, :-k]).astype(np.float32)


def window_features(media: ImageMedia, q: float | None, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Square-rooted co-occurrence frequencies of every window, shape (rows, cols, 169), and which windows
    are informative: not mostly clipped (near 0 or 255) and carrying more residual than the 8-bit rounding of
    a smooth gradient (mean |r| >= 1, about a third of a grey level of noise)."""
    if q is None:  # adaptive: the image's median |residual|, rounded to 1/4 (so the cache key is stable)
        q = max(1.0, round(third_order_scale(media) * 4) / 4)
    rows, cols = third_order_codes(media, q)
    h = min(rows.shape[0], cols.shape[0]) // _CELL * _CELL
    w = min(rows.shape[1], cols.shape[1]) // _CELL * _CELL
    k = window // _CELL
    cells = cell_histograms(rows[:h, :w], _CELL) + cell_histograms(cols[:h, :w], _CELL)
    counts = window_sums(cells, k)
    freq = counts / np.maximum(counts.sum(axis=2, keepdims=True), 1.0)
    g = gray(media)[:h, :w]
    clipped = ((g < 5) | (g > 250)).reshape(h // _CELL, _CELL, w // _CELL, _CELL).mean(axis=(1, 3))
    clipped_win = window_sums(clipped[..., None].astype(np.float32), k)[..., 0] / (k * k)
    activity = third_order_activity(media, _CELL)[: h // _CELL, : w // _CELL]
    activity_win = window_sums(activity[..., None], k)[..., 0] / (k * k)
    informative = (activity_win >= 1.0) & (freq[..., ZERO_CLASS] < 0.7) & (clipped_win < 0.3)
    return np.sqrt(freq), informative


def pca(x: np.ndarray, dims: int) -> tuple[np.ndarray, float]:
    """Project rows of x on their top `dims` principal components; also the share of variance kept."""
    centred = x - x.mean(axis=0)
    cov = centred.T @ centred / max(len(x) - 1, 1)
    vals, vecs = np.linalg.eigh(cov.astype(np.float64))
    top = np.argsort(vals)[::-1][:dims]
    kept = float(vals[top].sum() / max(vals.sum(), 1e-12))
    return (centred @ vecs[:, top]).astype(np.float64), kept


def _log_gauss(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log density (up to the shared constant) and squared Mahalanobis distance of each row of x."""
    chol = np.linalg.cholesky(cov)
    white = (x - mean) @ np.linalg.inv(chol).T
    d2 = (white * white).sum(axis=1)
    return -0.5 * d2 - np.log(np.diag(chol)).sum(), d2


def fit_two_gaussians(x: np.ndarray, iters: int = 30, reg: float = 1e-3) -> dict[str, np.ndarray | float]:
    """EM for a 2-component full-covariance Gaussian mixture, started from host = all data and splice = the
    10% of rows farthest from it. Returns weights, means, covariances and the splice posterior."""
    n, d = x.shape
    eye = np.eye(d) * reg * float(np.trace(np.cov(x.T))) / d
    mean0, cov0 = x.mean(axis=0), np.cov(x.T) + eye
    far = _log_gauss(x, mean0, cov0)[1] >= np.quantile(_log_gauss(x, mean0, cov0)[1], 0.9)
    resp = far.astype(np.float64)
    for _ in range(iters):
        params = []
        for r in (1.0 - resp, resp):
            w = max(r.sum(), 1e-9)
            mu = r @ x / w
            diff = x - mu
            params.append((w / n, mu, (diff * r[:, None]).T @ diff / w + eye))
        logs = np.stack([np.log(max(p, 1e-9)) + _log_gauss(x, mu, c)[0] for p, mu, c in params])
        logs -= logs.max(axis=0)
        post = np.exp(logs)
        resp = post[1] / post.sum(axis=0)
    if params[1][0] > params[0][0]:  # the host is the larger component
        params, resp = params[::-1], 1.0 - resp
    return {"weights": np.array([params[0][0], params[1][0]]), "mean_host": params[0][1],
            "cov_host": params[0][2], "mean_splice": params[1][1], "cov_splice": params[1][2],
            "posterior": resp}


def fit_gaussian_uniform(x: np.ndarray, iters: int = 30, reg: float = 1e-3) -> dict[str, np.ndarray | float]:
    """EM for host ~ Gaussian (full covariance) and splice ~ uniform over the data's bounding box, the
    paper's blind model: the uniform component absorbs whatever the host Gaussian does not explain, so the
    host fit is robust. Returns the splice weight, host mean and covariance and the splice posterior."""
    n, d = x.shape
    eye = np.eye(d) * reg * float(np.trace(np.cov(x.T))) / d
    log_uniform = -float(np.log(np.maximum(x.max(axis=0) - x.min(axis=0), 1e-9)).sum())
    half_log_2pi = 0.5 * d * np.log(2 * np.pi)
    resp, pi_splice = np.zeros(n), 0.1
    for _ in range(iters):
        w = 1.0 - resp
        mean = w @ x / max(w.sum(), 1e-9)
        diff = x - mean
        cov = (diff * w[:, None]).T @ diff / max(w.sum(), 1e-9) + eye
        log_host = _log_gauss(x, mean, cov)[0] - half_log_2pi + np.log(1.0 - pi_splice)
        log_splice = log_uniform + np.log(pi_splice)
        resp = 1.0 / (1.0 + np.exp(np.clip(log_host - log_splice, -50, 50)))
        pi_splice = float(np.clip(resp.mean(), 1e-3, 0.5))
    return {"weight_splice": pi_splice, "mean_host": mean, "cov_host": cov, "posterior": resp}


class Splicebuster(Detector):
    name = "splicebuster"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    extra = "image"
    requires = ()
    profiles = ("thorough",)
    paper = "Cozzolino, Poggi & Verdoliva 2015, 'Splicebuster: a new blind image splicing detector' (WIFS)"
    description = "Finds a region whose fine noise-residual statistics differ from the rest of the image."

    def __init__(self, q: float | None = None, window: int = 64, dims: int = 6, z_threshold: float = 6.0,
                 slope: float = 1.5, mixture: str = "uniform") -> None:
        """`q` is the quantisation step (None: the image's median |residual|); `window` (a multiple of 16 px)
        the analysis window; `dims` the PCA dimension; `z_threshold` the robust z of the log distance at
        which a window's heat reaches 0.5; `mixture` the splice class, "uniform" or "gaussian"."""
        self.q = q
        self.window = window
        self.dims = dims
        self.z_threshold = z_threshold
        self.slope = slope
        if mixture not in ("uniform", "gaussian"):
            raise ValueError("mixture must be 'uniform' or 'gaussian'")
        self.mixture = mixture

    def predict(self, media: ImageMedia) -> SplicebusterOutput:
        if min(media.height, media.width) < 2 * self.window:
            raise NotApplicable(f"image is too small (under {2 * self.window} px a side) for windowed "
                                "residual statistics")
        feats, informative = window_features(media, self.q, self.window)
        if informative.sum() < _MIN_WINDOWS:
            raise NotApplicable("too little of the image carries readable noise (flat, clipped or tiny)")
        x, kept = pca(feats[informative], max(1, min(self.dims, int(informative.sum()) // 4)))
        if self.mixture == "gaussian":
            fit = fit_two_gaussians(x)
            weight = float(fit["weights"][1])
        else:
            fit = fit_gaussian_uniform(x)
            weight = float(fit["weight_splice"])
        dist = np.sqrt(_log_gauss(x, fit["mean_host"], fit["cov_host"])[1])
        z = robust_z(np.log(dist + 1e-6), floor=0.05)
        splice = fit["posterior"] > 0.5
        sep = float(np.median(dist[splice]) / np.median(dist[~splice])) if splice.any() and (~splice).any() \
            else 1.0
        maps = [np.zeros(informative.shape, np.float32) for _ in range(3)]
        heat = sigmoid(self.slope * (z - self.z_threshold))
        for m, v in zip(maps, (dist, fit["posterior"], heat), strict=True):
            m[informative] = v
        return SplicebusterOutput(*maps, informative, self.window, weight, sep, kept)

    def to_evidence(self, native: SplicebusterOutput, media: ImageMedia) -> Evidence:
        heat = pad_to(window_map_to_pixels(native.anomaly, native.window, media.height, media.width),
                      media.height, media.width)
        score, frac = region_score(box_mean(native.anomaly, 1)[native.informative])
        details = {
            "anomalous_fraction": frac,
            "splice_component_weight": native.weight_splice,
            "splice_to_host_distance_ratio": native.separation,
            "max_distance": float(native.distance.max()),
            "median_distance": float(np.median(native.distance)),
            "pca_variance_kept": native.explained_variance,
            "window_px": native.window,
            "informative_fraction": float(native.informative.mean()),
        }
        share = wording.share(heat)  # what the map shows, at its pixels
        details.update({"region_share": share, "band": wording.band(score)})
        where = wording.region(share)
        summary = wording.say(
            score,
            clear=f"{where[:1].upper()}{where[1:]} has a fine-grain noise pattern unlike the rest, which suggests it "
                  "came from another photo or camera.",
            unclear=(f"{where} has a fine-grain noise pattern somewhat unlike the rest" if share > 0.001 else
                     "Some parts of the picture have a fine-grain noise pattern slightly unlike the rest, none "
                     "clearly") + ": a weak sign, not enough on its own to point to content from another camera.",
            none="No clear sign of content from another camera: " + (
                f"only {where} has a fine-grain noise pattern unlike the rest, too little to stand out."
                if share > 0.001 else "the fine-grain noise pattern looks the same across the picture."),
        )
        return Evidence(score=score, summary=summary, heatmap=heat, details=details)


def window_map_to_pixels(grid: np.ndarray, window: int, height: int, width: int) -> np.ndarray:
    """Per-cell mean of the windows covering it (each window spans window/16 cells), upsampled to pixels."""
    k = window // _CELL
    padded = np.pad(grid, k - 1, mode="constant")
    ones = np.pad(np.ones_like(grid), k - 1, mode="constant")
    total = window_sums(padded[..., None], k)[..., 0]
    count = window_sums(ones[..., None], k)[..., 0]
    cells = total / np.maximum(count, 1e-6)
    return upsample(cells, height, width, block=_CELL)

"""Colour-filter-array (demosaicing) traces: regions where the camera's Bayer interpolation is missing.

Papers: Popescu & Farid 2005, "Exposing digital forgeries in color filter array interpolated images"
(IEEE TSP); Dirik & Memon 2009, "Image tamper detection based on demosaicing artifacts" (ICIP); the local
statistic and its two-component model follow Ferrara, Bianchi, De Rosa & Piva 2012, "Image forgery
localization via fine-grained analysis of CFA artifacts" (IEEE TIFS).

Method: the Bayer arrangement is estimated among the 4 by bilinear re-interpolation (shared step in
`unmask.preprocess.cfa`). The green channel is re-interpolated from its 4 neighbours; at sites the camera
interpolated the error is close to zero, at sites it acquired it is not. Per 8x8 block and over a 40x40
window, L = mean log(e^2 + c) at acquired sites minus the same at interpolated sites. Authentic regions
have L clearly above 0; a region pasted from a resized or synthetic source has L near 0, and one from
another photo whose Bayer grid lands shifted by one pixel has L below 0. A Gaussian mixture fitted by EM
to the image's own L values (trace absent at mean 0, trace present at mu, inverted at -mu, as in
Ferrara et al.'s two-hypothesis model plus the mirrored case) gives the heatmap: the posterior that the
window's trace is foreign (absent or inverted).

Assumptions and limits: the image must still carry the camera's demosaicing trace at its native
resolution. JPEG compression below roughly quality 90, resizing, heavy denoising or a synthetic origin
erase it everywhere; the detector then says so and returns no score instead of flagging everything.
Flat or saturated areas carry no information and are left at the prior. Some in-camera processing
(non-Bayer sensors, strong sharpening) also removes the trace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.cfa import BayerFit, fit_bayer, green_residual
from ...preprocess.image import box_mean
from .. import wording
from ..base import Detector
from ..evidence import Evidence

_BLOCK = 8
_LOG_FLOOR = 0.5  # c in log(e^2 + c): of the order of 8-bit rounding noise, so exact zeros don't dominate


@dataclass
class CFAOutput:
    """Native output: the Bayer fit, the per-window log variance ratio, the foreign-trace posterior.

    Maps are on the 8x8 block grid. `informative` marks windows with enough texture to judge.
    `mixture` holds the EM fit (pi_absent, pi_inverted, sigma_absent, mu_present, sigma_present), empty
    when the image has no usable trace (`trace_present` False).
    """

    bayer: BayerFit
    log_ratio: np.ndarray
    informative: np.ndarray
    posterior_absent: np.ndarray
    trace_strength: float
    positive_fraction: float
    trace_present: bool
    mixture: dict[str, float]


def _block_means(x: np.ndarray, b: int) -> np.ndarray:
    """Mean over non-overlapping b x b blocks (the image is cropped to a multiple of b)."""
    h, w = x.shape[0] // b * b, x.shape[1] // b * b
    return x[:h, :w].reshape(h // b, b, w // b, b).mean(axis=(1, 3))


def local_log_ratio(residual: np.ndarray, green_parity: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-window log geometric-mean ratio of squared error, acquired vs interpolated green sites, and
    the larger of the two log energies (how much texture the window has)."""
    le = np.log(residual.astype(np.float32) ** 2 + _LOG_FLOOR)
    sign = np.full(residual.shape, -1.0, np.float32)  # +1 where (row + col) % 2 == green_parity (acquired)
    sign[0::2, green_parity::2] = 1.0
    sign[1::2, 1 - green_parity :: 2] = 1.0
    ratio = box_mean(_block_means(le * sign, _BLOCK) * 2.0, radius)
    energy = box_mean(_block_means(le, _BLOCK), radius)
    return ratio, energy + np.abs(ratio) / 2.0


def _gauss(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mu) / sigma) ** 2) / sigma


def _responsibilities(x: np.ndarray, pis: tuple[float, float], s0: float, mu1: float,
                      s1: float) -> np.ndarray:
    """Posterior of (absent, present, inverted) for each value, shape (3, n)."""
    dens = np.stack([
        pis[0] * _gauss(x, 0.0, s0),
        (1.0 - pis[0] - pis[1]) * _gauss(x, mu1, s1),
        pis[1] * _gauss(x, -mu1, s1),
    ])
    return dens / (dens.sum(axis=0, keepdims=True) + 1e-30)


def fit_mixture(x: np.ndarray, iters: int = 60) -> tuple[dict[str, float], np.ndarray]:
    """EM for a 3-component Gaussian mixture of the log ratio and the posterior that the trace is foreign.

    Components: absent N(0, s0^2) (no CFA trace), present N(mu1, s1^2) (the image's own pattern) and
    inverted N(-mu1, s1^2) (a CFA trace on a grid shifted by one pixel, i.e. content from another
    photo). Returns the parameters and, per value, the posterior of absent + inverted.
    """
    mu1 = float(np.median(x))
    s1 = max(float(np.median(np.abs(x - mu1))) * 1.4826, 0.05)
    pis, s0 = (0.1, 0.01), max(mu1 / 4.0, 0.05)
    for _ in range(iters):
        r = _responsibilities(x, pis, s0, mu1, s1)
        w = r.sum(axis=1)
        pis = (float(np.clip(w[0] / x.size, 1e-3, 0.5)), float(np.clip(w[2] / x.size, 1e-3, 0.5)))
        s0 = float(np.clip(np.sqrt(r[0] @ x**2 / max(w[0], 1e-9)), 0.03, max(mu1 / 3.0, 0.03)))
        signed = r[1] @ x - r[2] @ x  # the inverted component mirrors the present one
        mu1 = float(max(signed / max(w[1] + w[2], 1e-9), 0.0))
        spread = r[1] @ (x - mu1) ** 2 + r[2] @ (x + mu1) ** 2
        s1 = float(max(np.sqrt(spread / max(w[1] + w[2], 1e-9)), 0.05))
    r = _responsibilities(x, pis, s0, mu1, s1)
    params = {"pi_absent": pis[0], "pi_inverted": pis[1], "sigma_absent": s0, "mu_present": mu1,
              "sigma_present": s1}
    return params, r[0] + r[2]


def block_map_to_pixels(grid: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    """Expand a block-grid map to pixels (nearest), replicating the edge over any cropped border."""
    up = np.repeat(np.repeat(grid, block, axis=0), block, axis=1)[: shape[0], : shape[1]]
    pad = ((0, shape[0] - up.shape[0]), (0, shape[1] - up.shape[1]))
    return np.pad(up, pad, mode="edge").astype(np.float32)


class CFAArtifacts(Detector):
    name = "cfa"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    paper = (
        "Popescu & Farid 2005, 'Exposing digital forgeries in color filter array interpolated images'; "
        "Dirik & Memon 2009, 'Image tamper detection based on demosaicing artifacts'; "
        "Ferrara et al. 2012, 'Image forgery localization via fine-grained analysis of CFA artifacts'"
    )
    description = "Maps regions where the camera's colour-filter (Bayer) interpolation pattern is missing."

    def __init__(self, radius: int = 2, min_strength: float = 0.15, min_positive: float = 0.8) -> None:
        """`radius` (in 8-px blocks) sets the window; `min_strength` (median log ratio) and `min_positive`
        (share of windows with a positive ratio) decide whether the image carries a usable trace at all."""
        self.radius = radius
        self.min_strength = min_strength
        self.min_positive = min_positive

    def predict(self, media: ImageMedia) -> CFAOutput:
        if min(media.height, media.width) < 4 * _BLOCK:
            raise NotApplicable("image is too small to measure a colour-filter pattern")
        bayer = fit_bayer(media)
        ratio, energy = local_log_ratio(green_residual(media), bayer.green_parity, self.radius)
        informative = energy > np.log(2.0 + _LOG_FLOOR)  # rms re-interpolation error above ~1.4 levels
        values = ratio[informative]
        strength = float(np.median(values)) if values.size else 0.0
        positive = float((values > 0).mean()) if values.size else 0.0
        present = values.size >= 16 and strength >= self.min_strength and positive >= self.min_positive
        posterior = np.zeros_like(ratio)
        mixture: dict[str, float] = {}
        if present:
            mixture, post = fit_mixture(values.astype(np.float64))
            posterior[:] = mixture["pi_absent"] + mixture["pi_inverted"]  # the prior, where untextured
            posterior[informative] = post
        return CFAOutput(bayer, ratio, informative, posterior.astype(np.float32), strength, positive,
                         bool(present), mixture)

    def to_evidence(self, native: CFAOutput, media: ImageMedia) -> Evidence:
        details = {
            "bayer_pattern": native.bayer.pattern,
            "bayer_contrast": native.bayer.contrast,
            "trace_strength": native.trace_strength,
            "positive_fraction": native.positive_fraction,
            "informative_fraction": float(native.informative.mean()),
            "trace_present": native.trace_present,
            **native.mixture,
        }
        if not native.trace_present:
            return Evidence(
                score=None,
                summary=(
                    "The image carries no usable camera colour-filter pattern (typical after JPEG "
                    "compression, resizing or for synthetic images), so this check gives no opinion."
                ),
                details=details,
            )
        heat = block_map_to_pixels(native.posterior_absent, _BLOCK, (media.height, media.width))
        hot = native.posterior_absent[native.informative] > 0.5
        frac = float(hot.mean())
        peak = float(np.percentile(native.posterior_absent[native.informative], 99.5))
        score = peak * min(1.0, frac / 0.02)  # a confident region of at least 2% of the textured image
        share = wording.share(heat)  # what the map shows, at its pixels
        details.update({"absent_fraction": frac, "peak": peak, "region_share": share, "band": wording.band(score)})
        where = f"{wording.region(share)} ({frac:.1%} of its textured part)"
        summary = wording.say(
            score,
            clear=f"The camera's colour-filter pattern is missing in {where}, which suggests that part was pasted "
                  "in, resized or retouched.",
            unclear=f"The camera's colour-filter pattern looks weaker or shifted in {where}: a weak sign, not enough "
                    "on its own to point to a paste, resizing or retouching.",
            none="No clear sign of a pasted or retouched region: " + (
                f"the camera's colour-filter pattern is missing only in {where}, too little to stand out."
                if share > 0.001 else "the camera's colour-filter pattern is present and consistent across the "
                                      "image."),
        )
        return Evidence(score=score, summary=summary, heatmap=heat, details=details)

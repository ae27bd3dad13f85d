"""Local noise level inconsistencies, estimated from the finest wavelet diagonal band.

Paper: Mahdian & Saic 2009, "Using noise inconsistencies for blind image forensics" (Image and Vision
Computing 27(10)). A camera adds sensor noise of a roughly even level over the whole picture; a region pasted
from another photo, or locally denoised, blurred or retouched, usually carries a different level.

Method: luma is decomposed with one level of a Daubechies-8 wavelet (only HH1 is computed). Per 8x8 tile of
the half-size diagonal band HH1 (16x16 pixels) the noise standard deviation is the robust median estimator
sigma = median(|HH1|) / 0.6745 (Donoho & Johnstone 1994), which isolated edges barely move.

What differs from the paper, and why: Mahdian & Saic merge blocks of homogeneous noise by region growing and
leave the reading to an analyst. Here every window is scored against the image's own typical level instead.
The HH1 estimate is biased where the content is finely textured (texture leaks into HH1) and where noise is
signal dependent or clipped, so log sigma (floored at 0.6 grey levels, about 8-bit rounding) is regressed on
local brightness and texture (median |gradient| of the 4x-downscaled luma, where noise is averaged away) with
a quadratic fit, refitted once without outliers, and only the residual is kept. Very dark, very bright or
clipped tiles carry little noise and are left out. The residual is averaged over 3x3 tiles (48 px windows),
and turned into a robust z by its median and a MAD taken per texture quartile (estimates scatter more in
texture). Both more and less noise than the rest count: heat = sigmoid(|z| - 4.5).

Score: the mean heat of the hottest 2% of informative windows, so it is high only when a region of at least
about 2% of the image is confidently anomalous, not for one odd window; damped when more than a third of the
image is "anomalous" (then there is no single typical level, a property of the content rather than an edit).

Limits: heavy JPEG compression removes most of the noise everywhere, a splice from a camera with the same
noise level leaves no trace, and in strongly textured pictures (fabric, foliage, wood) the noise estimate
varies so much with content that a noisier region can hide in it. Distant or out-of-focus areas can read as
"smoother". Small images give few windows and noisy estimates (e.g. CASIA v1, 384x256: near chance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.image import block_means, box_mean, gray, upsample
from ...preprocess.residual import cell_quantiles, pad_to, region_score, robust_z, sigmoid, wavelet_hh
from .. import wording
from ..base import Detector
from ..evidence import Evidence

_TILE = 8  # tile of the half-size HH1 band: 16x16 pixels
_PIXELS = 2 * _TILE
_MIN_SIDE = 64
_MAD_FLOOR = 0.12  # log units: a ~12% spread of noise level is within what estimation error alone gives
_SIGMA_FLOOR = 0.6  # below about one grey level, differences are 8-bit rounding and JPEG, not sensor noise


@dataclass
class NoiseOutput:
    """Native output on the 16-px tile grid: the local noise std, the residual after brightness/texture
    conditioning, its robust z-score, the informative-tile mask and the anomaly (|z| mapped to [0,1])."""

    sigma: np.ndarray
    residual: np.ndarray
    z: np.ndarray
    informative: np.ndarray
    anomaly: np.ndarray
    typical_sigma: float
    fit_r2: float


def _covariates(media: ImageMedia, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per 16-px tile: brightness in [0,1], log texture (median |gradient| of the 4x-downscaled luma, where
    noise is averaged away; a median, like the noise estimate, so one strong edge does not count as texture)
    and the share of clipped pixels."""
    g = gray(media)
    small = block_means(g, 4)
    grad = np.abs(np.diff(small, axis=0, append=small[-1:]))
    grad += np.abs(np.diff(small, axis=1, append=small[:, -1:]))
    h, w = shape
    texture = np.log1p(cell_quantiles(grad, 4, 0.5)[:h, :w])
    bright = (block_means(small, 4)[:h, :w] / 255.0).astype(np.float32)
    clipped = block_means(((g < 4) | (g > 251)).astype(np.float32), _PIXELS)[:h, :w]
    return bright, texture, clipped


def _condition(log_sigma: np.ndarray, bright: np.ndarray, texture: np.ndarray,
               informative: np.ndarray) -> tuple[np.ndarray, float]:
    """log sigma minus a quadratic in (brightness, texture) fitted on informative tiles, refitted once
    without the tiles whose residual is an outlier (so an edited region does not bend the fit)."""
    b, t = bright.ravel(), texture.ravel()
    design = np.stack([np.ones_like(b), b, b * b, t, t * t, b * t], axis=1).astype(np.float64)
    y = log_sigma.ravel().astype(np.float64)
    use = informative.ravel().copy()
    for _ in range(2):
        beta, *_ = np.linalg.lstsq(design[use], y[use], rcond=None)
        resid = y - design @ beta
        z = robust_z(resid, use, floor=_MAD_FLOOR / 2)
        use = informative.ravel() & (np.abs(z) < 2.5)
    total = float(np.var(y[informative.ravel()])) + 1e-12
    r2 = 1.0 - float(np.var(resid[informative.ravel()])) / total
    return resid.reshape(log_sigma.shape).astype(np.float32), r2


def _texture_scaled_z(resid: np.ndarray, texture: np.ndarray, informative: np.ndarray,
                      bins: int = 4) -> np.ndarray:
    """Robust z of the residual with a scale (MAD) of its own per texture quartile: the noise estimate
    scatters more where texture leaks into HH1, so a textured window needs a larger deviation to count."""
    med = float(np.median(resid[informative]))
    edges = np.quantile(texture[informative], np.linspace(0.0, 1.0, bins + 1)[1:-1])
    which = np.digitize(texture, edges)
    z = np.zeros_like(resid)
    for b in range(bins):
        ref = resid[informative & (which == b)]
        mad = float(np.median(np.abs(ref - med))) * 1.4826 if ref.size >= 4 else 0.0
        sel = which == b
        z[sel] = (resid[sel] - med) / max(mad, _MAD_FLOOR)
    return z


class NoiseWavelet(Detector):
    name = "noise_wavelet"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    extra = "image"
    requires = ("pywt",)
    profiles = ("default", "thorough")
    paper = "Mahdian & Saic 2009, 'Using noise inconsistencies for blind image forensics'"
    description = "Maps regions whose sensor-noise level (finest wavelet band) differs from the rest."

    def __init__(self, wavelet: str = "db8", smooth_radius: int = 1, z_threshold: float = 4.5,
                 slope: float = 1.0) -> None:
        """`wavelet` is the PyWavelets name; `smooth_radius` (in 16-px tiles) sets the averaging window;
        heat = sigmoid(slope * (|z| - z_threshold)), so `z_threshold` is the robust z where it reaches 0.5."""
        self.wavelet = wavelet
        self.smooth_radius = smooth_radius
        self.z_threshold = z_threshold
        self.slope = slope

    def predict(self, media: ImageMedia) -> NoiseOutput:
        if min(media.height, media.width) < _MIN_SIDE:
            raise NotApplicable(f"image is too small (under {_MIN_SIDE} px) to estimate local noise levels")
        hh = wavelet_hh(media, self.wavelet)
        sigma = cell_quantiles(np.abs(hh), _TILE, 0.5) / 0.6745
        log_sigma = 0.5 * np.log(sigma**2 + _SIGMA_FLOOR**2)
        bright, texture, clipped = _covariates(media, sigma.shape)
        informative = (clipped < 0.3) & (bright > 0.06) & (bright < 0.94)
        if informative.sum() < 8:
            raise NotApplicable("the picture is almost all very dark, very bright or clipped, so its noise "
                                "cannot be read")
        resid, r2 = _condition(log_sigma, bright, texture, informative)
        r = self.smooth_radius
        weight = box_mean(informative.astype(np.float32), r)
        informative_s = weight > 0.5
        resid_s = box_mean(np.where(informative, resid, 0.0), r) / np.maximum(weight, 1e-6)
        z = _texture_scaled_z(resid_s, box_mean(texture, r), informative_s)
        heat = sigmoid(self.slope * (np.abs(z) - self.z_threshold))
        anomaly = np.where(informative_s, heat, 0.0).astype(np.float32)
        typical = float(np.exp(np.median(log_sigma[informative])))
        return NoiseOutput(sigma.astype(np.float32), resid_s, z.astype(np.float32), informative_s, anomaly,
                           typical, r2)

    def to_evidence(self, native: NoiseOutput, media: ImageMedia) -> Evidence:
        heat = upsample(native.anomaly, media.height, media.width, block=_PIXELS)
        heat = pad_to(heat, media.height, media.width)
        score, frac = region_score(native.anomaly[native.informative])
        hot = native.anomaly > 0.5
        direction = float(np.median(native.z[hot])) if hot.any() else 0.0
        details = {
            "typical_noise_sigma": native.typical_sigma,
            "anomalous_fraction": frac,
            "anomaly_direction": "noisier" if direction > 0 else "smoother" if direction < 0 else "none",
            "max_abs_z": float(np.abs(native.z[native.informative]).max()),
            "informative_fraction": float(native.informative.mean()),
            "conditioning_r2": native.fit_r2,
        }
        share = wording.share(heat)  # what the map shows, at its pixels
        details.update({"region_share": share, "band": wording.band(score)})
        return Evidence(score=score, summary=_summary(score, share, direction), heatmap=heat, details=details)


def _summary(score: float, share: float, direction: float) -> str:
    """The sentence for the score's band (unmask.detectors.wording), with the share of the map above 0.5."""
    where = wording.region(share)
    kind = ("grainier (more sensor noise)" if direction > 0 else "smoother (less sensor noise)" if direction < 0
            else "different in grain (sensor noise)")
    return wording.say(
        score,
        clear=f"{where[:1].upper()}{where[1:]} is {kind} than the rest, which suggests that part was pasted in "
              "from another photo or retouched.",
        unclear=(f"{where} is somewhat {kind} than the rest" if share > 0.001 else
                 "Some parts of the picture differ slightly in grain (sensor noise) from the rest, none clearly")
                + ": a weak sign, not enough on its own to point to a paste or retouching.",
        none="No clear sign of a pasted or retouched region: " + (
            f"only {where} is {kind} than the rest, too little to stand out." if share > 0.001
            else "the grain (sensor noise) looks even across the whole picture."),
    )

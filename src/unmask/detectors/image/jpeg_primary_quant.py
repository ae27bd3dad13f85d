"""Inconsistent blocking artifacts: blocks of a re-saved JPEG that disagree with its primary quantization.

Paper: Ye, Sun & Chang 2007, "Detecting digital image forgeries by measuring inconsistencies of blocking
artifact" (ICME 2007).

When a JPEG is decoded, edited and saved again, the untouched part's DCT coefficients were quantized first
with the primary step Q1 and then with the file's own step Q2; their values stay close to multiples of Q1.
A region pasted in (never compressed, or compressed on another grid) was quantized with Q2 only and does
not. For the luma of the file (coefficients read with jpeglib) and the first 31 AC modes in zigzag order:

1. Primary step per mode (the paper reads Q1 off the periodicity of the coefficient histogram). Here each
   candidate q in Q2+1..max(4 Q2, Q2+16) is scored by how well it explains the periodic pattern of the
   mode's histogram of non-zero quantized values: the unquantized coefficients y are estimated by
   calibration (DCT on the grid shifted by 4x4 pixels, as in jpeg_double_quant), and single compression
   round(y / Q2) and double compression round((q round(y / q) + e) / Q2), e the +-1 rounding between the
   saves, predict histograms. Q1 is the q whose prediction is closest (L1) to the observed histogram,
   accepted when it is at most half as far as the single-compression prediction, the two predictions differ
   by at least 0.2, and their mean residuals |D - q round(D / q)| differ by at least 15% of q / 2. A divisor
   or multiple of Q1 predicts bins that are empty or full in the wrong places, so the true step wins.
   Otherwise the mode falls back to Q1 = Q2, where the residual is always zero: it adds nothing. Blocks
   where the decoder clipped pixels (more than 1%) are left out: clipping between the saves moves
   coefficients off the primary lattice.
2. Blocking-artifact measure. Each block's B = sum over the modes of |D - Q1 round(D / Q1)| (the paper's
   measure, kept in the native output). For the map, each residual is rescaled by its mode's two
   predictions, (r - R_double) / (R_single - R_double) (about 0 for a doubly-quantized coefficient, 1 for a
   singly-quantized one), and averaged over the non-zero coefficients of a 5x5-block neighbourhood (two
   pseudo-counts at 0): the activity normalisation, so that textured blocks with many non-zero
   coefficients do not stand out just for having more terms, and flat blocks (no terms) read as untouched.
3. The map is robust-normalised by its median and MAD (a logistic of the robust z-score minus 3, the spread
   floored at 0.2 of the 0..1 scale). The image score follows ela.py: how peaked and how large the anomalous
   region is; 0 when fewer than 3 modes show a primary step (no trace of an earlier compression).

Speed: about 45-100 ms per megapixel on a shared 2-core machine (calibration DCT plus per-mode histogram
fits), so it is not in the "fast" profile.

Limits: the image must have been compressed twice on the same grid with a coarser first step (Q1 > Q2, a
first save at lower quality than the last). A singly-compressed image, or one whose earlier compression was
finer, cropped off-grid or equal, shows no primary step and gets a low score. A region pasted from a JPEG of
the same quality on the same grid agrees with Q1 and is missed. The map assumes that most of the image is
untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...media import ImageMedia
from ...preprocess.image import box_mean
from ...preprocess.jpeg import block_map_to_pixels, clipped_blocks, luma_histogram_input
from ...preprocess.residual import peak_share_score, robust_z, sigmoid
from .. import wording
from ..base import Detector
from ..evidence import Evidence

_N_MODES = 31  # AC modes, in zigzag order
_MIN_NONZERO = 50  # non-zero coefficients a mode needs for its histogram to say anything
_ROUNDING_NOISE = ((-1.0, 0.25), (0.0, 0.5), (1.0, 0.25))  # pixel rounding between saves, in DCT units
_MAX_BIN = 40  # |quantized value| beyond this is pooled into the end bins
_MIN_CONTRAST = 0.2  # L1 distance between the single- and double-compression histograms for q to be testable
_MAX_RELATIVE_DISTANCE = 0.5  # the observed histogram must be this much closer to double than to single
_MIN_RESIDUAL_GAP = 0.15  # R_single - R_double, as a fraction of q / 2: below this blocks cannot be told apart
_MIN_MODES = 3  # modes with Q1 != Q2 needed before the image counts as doubly compressed
_MIN_BLOCKS = 64  # about 64x64 pixels
_CLIP_SHARE = 0.01  # blocks with more decoder-clipped (black/white) pixels than this say nothing: clipping
# between the saves moves coefficients off the primary lattice
_PSEUDO = 2.0
_MIN_SPREAD = 0.2  # pseudo-counts at 0 (untouched) in each neighbourhood mean


def zigzag(n: int = _N_MODES) -> list[tuple[int, int]]:
    """The first n AC positions (row, column) of the JPEG zigzag scan."""
    order = sorted(((u, v) for u in range(8) for v in range(8)),
                   key=lambda p: (p[0] + p[1], p[1] if (p[0] + p[1]) % 2 == 0 else p[0]))
    return order[1: n + 1]


def lattice_residual(d: np.ndarray, q: float) -> np.ndarray:
    """|d - q round(d / q)|: how far values lie from the nearest multiple of q."""
    return np.abs(d - q * np.round(d / q))


@dataclass
class ModeEstimate:
    """Primary-step estimate for one mode: the file's Q2, the chosen Q1 (== Q2 when none was found), its
    fit (1 - L1 distance to the double-compression prediction / distance to the single one), and the mean
    residuals to Q1 that single and double compression predict (non-zero coefficients only)."""

    mode: tuple[int, int]
    q2: int
    q1: int
    fit: float
    r_single: float
    r_double: float

    @property
    def doubly_compressed(self) -> bool:
        return self.q1 != self.q2


def _mean_residual(k: np.ndarray, counts: np.ndarray, q2: int, q: int) -> float:
    """Count-weighted mean residual to step q of the dequantized values k Q2 (counts over k, k != 0)."""
    total = counts.sum()
    return float((counts * lattice_residual(k * float(q2), q)).sum() / total) if total else 0.0


def _nonzero_hist(k: np.ndarray, k_max: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Normalised histogram of integer values -K..K (outliers pooled at the ends; `weights` are counts per
    value) with the zero bin emptied."""
    counts = np.bincount(np.clip(k, -k_max, k_max) + k_max, weights, minlength=2 * k_max + 1).astype(np.float64)
    counts[k_max] = 0.0
    return counts / max(counts.sum(), 1.0)


def estimate_q1(quantized: np.ndarray, calibrated: np.ndarray, q2: int, mode: tuple[int, int]) -> ModeEstimate:
    """Pick the primary step of one mode from the periodicity of its histogram (module docstring, step 1)."""
    none = ModeEstimate(mode, q2, q2, 0.0, 0.0, 0.0)
    if np.count_nonzero(quantized) < _MIN_NONZERO:
        return none
    k_max = int(min(_MAX_BIN, max(np.abs(quantized).max(), 1)))
    k = np.arange(-k_max, k_max + 1)
    observed = _nonzero_hist(quantized.astype(np.int64).ravel(), k_max)
    y = np.round(calibrated.ravel()).astype(np.int64)
    y_lo = int(y.min())
    y_counts = np.bincount(y - y_lo).astype(np.float64)
    y_vals = np.arange(y_counts.size) + y_lo
    single = _nonzero_hist(np.round(y_vals / q2).astype(np.int64), k_max, y_counts)
    fits = []
    for q in range(q2 + 1, max(4 * q2, q2 + 16) + 1):
        d1 = np.round(y_vals / q) * q
        double = sum(w * _nonzero_hist(np.round((d1 + e) / q2).astype(np.int64), k_max, y_counts)
                     for e, w in _ROUNDING_NOISE)
        fits.append((np.abs(observed - double).sum(), np.abs(single - double).sum(), q, double))
    d_single = np.abs(observed - single).sum()
    dist, contrast, q, double = min(fits, key=lambda f: f[0])
    if contrast < _MIN_CONTRAST or dist > _MAX_RELATIVE_DISTANCE * d_single:
        return none
    r_s, r_d = _mean_residual(k, single, q2, q), _mean_residual(k, double, q2, q)
    if r_s - r_d < _MIN_RESIDUAL_GAP * q / 2:
        return none
    return ModeEstimate(mode, q2, q, float(1.0 - dist / max(d_single, 1e-9)), r_s, r_d)


@dataclass
class BlockArtifactOutput:
    """Native output: per-mode estimates, Ye et al.'s per-block measure B, the activity-normalised and
    pooled per-block measure, and its robust-normalised anomaly in [0, 1] (all per 8x8 luma block)."""

    modes: list[ModeEstimate]
    blocking: np.ndarray
    normalised: np.ndarray
    anomaly: np.ndarray
    block_pixels: tuple[int, int]

    @property
    def doubly_compressed_modes(self) -> list[ModeEstimate]:
        return [m for m in self.modes if m.doubly_compressed]


def block_measures(dequantized: np.ndarray, modes: list[ModeEstimate]) -> tuple[np.ndarray, ...]:
    """Per block: B (sum of residuals to Q1), sum of rescaled residuals and count of non-zero terms."""
    shape = dequantized.shape[:2]
    b, scaled, count = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for m in modes:
        d = dequantized[..., m.mode[0], m.mode[1]].astype(np.float64)
        r = lattice_residual(d, m.q1)
        b += r
        if m.doubly_compressed:
            nz = d != 0
            scaled += nz * (r - m.r_double) / (m.r_single - m.r_double)
            count += nz
    return b, scaled, count


def robust_anomaly(values: np.ndarray) -> np.ndarray:
    """Logistic of the median/MAD z-score minus 3: ~0 for typical blocks, ~1 for clear outliers above. The
    spread is floored at _MIN_SPREAD of the measure's 0 (doubly) .. 1 (singly quantized) scale: a cleanly
    re-saved image has a tiny MAD, and its ordinary tail would otherwise look like outliers."""
    return sigmoid(robust_z(values, floor=_MIN_SPREAD) - 3.0).astype(np.float32)


class JpegPrimaryQuant(Detector):
    name = "jpeg_primary_quant"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap")
    extra = "image"
    requires = ("jpeglib",)
    profiles = ("thorough",)  # ~80 ms per megapixel and a fixed ~50 ms: the default profile has no room for it
    paper = ("Ye, Sun & Chang 2007, 'Detecting digital image forgeries by measuring inconsistencies of "
             "blocking artifact' (ICME 2007)")
    description = ("Estimates the steps of a re-saved JPEG's earlier compression and maps blocks whose "
                   "coefficients do not follow them.")

    def __init__(self, neighbourhood: int = 2) -> None:
        """`neighbourhood` (blocks) is the radius over which the normalised measure is averaged."""
        self.neighbourhood = neighbourhood

    def predict(self, media: ImageMedia) -> BlockArtifactOutput:
        luma = luma_histogram_input(media, "blocking-artifact analysis", _MIN_BLOCKS)
        coefs, quantized, plane, calibrated = luma.coefs, luma.quantized, luma.plane, luma.calibrated
        usable = ~clipped_blocks(plane, _CLIP_SHARE)
        modes = [estimate_q1(quantized[..., u, v][usable], calibrated[..., u, v], int(coefs.qtables[0][u, v]),
                             (u, v)) for u, v in zigzag()]
        b, scaled, count = block_measures(coefs.dequantized(0), modes)
        scaled, count = scaled * usable, count * usable
        k = (2 * self.neighbourhood + 1) ** 2
        pooled = box_mean(scaled, self.neighbourhood) * k / (box_mean(count, self.neighbourhood) * k + _PSEUDO)
        if sum(m.doubly_compressed for m in modes) < _MIN_MODES:
            anomaly = np.zeros(pooled.shape, np.float32)
        else:
            anomaly = robust_anomaly(pooled)
        return BlockArtifactOutput(modes, b.astype(np.float32), pooled.astype(np.float32), anomaly,
                                   coefs.block_pixels(0))

    def to_evidence(self, native: BlockArtifactOutput, media: ImageMedia) -> Evidence:
        """Score as ela.py: the anomaly's 99.5th percentile, scaled down while under 2% of the image is
        anomalous (> 0.5) and capped at 0.5 when half of it is; 0 when no primary step was found."""
        dq = native.doubly_compressed_modes
        details = {
            "doubly_compressed_modes": len(dq),
            "q1_estimates": {f"{m.mode[0]},{m.mode[1]}": m.q1 for m in native.modes},
            "q2": {f"{m.mode[0]},{m.mode[1]}": m.q2 for m in native.modes},
            "primary_found": len(dq) >= _MIN_MODES,
        }
        heat = block_map_to_pixels(native.anomaly, (media.height, media.width), native.block_pixels)
        if len(dq) < _MIN_MODES:
            details["band"] = wording.band(0.0)
            return Evidence(score=0.0, heatmap=heat, details=details, summary=wording.say(0.0, none=(
                "The JPEG's coefficients show no trace of an earlier compression, so this test finds nothing "
                "pasted in (it can only see edits in JPEGs saved twice).")))
        score, frac, peak = peak_share_score(native.anomaly)
        share = wording.share(heat)  # what the map shows, at its pixels
        details.update({"anomalous_fraction": frac, "region_share": share, "peak": peak, "band": wording.band(score)})
        where = wording.region(share)
        summary = wording.say(
            score,
            clear=f"The JPEG was saved at least twice, and {where} does not follow the earlier save's compression "
                  "steps, which suggests it was pasted in or edited afterwards.",
            unclear=f"The JPEG was saved at least twice, and {where} follows the earlier save's compression steps "
                    "less well than the rest: a weak sign, not enough on its own to point to a paste or an edit.",
            none="The JPEG was saved at least twice, with no clear sign of an edit: " + (
                f"only {where} departs from the earlier save's compression steps, too little to stand out."
                if share > 0.001 else "the whole image follows the earlier save's compression steps."),
        )
        return Evidence(score=score, summary=summary, heatmap=heat, details=details)

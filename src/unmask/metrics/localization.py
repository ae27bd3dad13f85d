"""Pixel-level localization metrics (IMDL-BenCo / PhotoHolmes conventions), numpy and Pillow only.

Per image: the ground-truth mask is binarised (`binarize_mask`), the predicted heatmap is resized to the
mask's size (bilinear) and thresholded with a strict `heatmap > threshold` as IMDL-BenCo's evaluators do
(Ma et al., "IMDL-BenCo", NeurIPS 2024 D&B), or the method's own binary mask is resized (nearest) and used
instead. F1 / IoU / MCC / pixel AUC are computed per image and averaged over images; pooled-over-all-pixels
figures are reported under separate "..._pooled" keys.

Degenerate cases (no true positive): F1 = 0 and IoU = 0, also when both the mask and the prediction are
empty; this is what IMDL-BenCo's epsilon-guarded formulas (and PhotoHolmes's weighted F1) give. MCC = 0
whenever its denominator is 0 (scikit-learn's `matthews_corrcoef`); torchmetrics, used by PhotoHolmes,
instead returns +1 / -1 when the prediction is entirely right / entirely wrong on a single-class image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .binary import _trapezoid_auc


def _as_array(x: Any) -> np.ndarray:
    """Array view of x; a palette PIL image is converted to grey levels first."""
    if getattr(x, "mode", None) == "P":
        x = x.convert("L")
    return np.asarray(x)


def _to_gray(a: np.ndarray) -> np.ndarray:
    """One channel: (H, W, 1) squeezed, 2 channels (grey + alpha) -> first, 3/4 (RGB/RGBA) -> mean of RGB."""
    if a.ndim == 3 and a.shape[2] in (1, 2):
        a = a[..., 0]
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        a = a[..., :3].astype(np.float64).mean(axis=2)
    if a.ndim != 2:
        raise ValueError(f"a mask must be (H, W) or (H, W, C), got shape {a.shape}")
    return a


def _unit_scale(dtype: np.dtype, top: float) -> float:
    """Divisor that maps mask values to [0, 1]: 1 if already there, else 65535 for uint16, else 255 or the max."""
    if top <= 1.0:
        return 1.0
    if dtype == np.uint16:
        return 65535.0
    return 255.0 if top <= 255.0 else float(top)


def binarize_mask(mask: Any) -> np.ndarray:
    """Ground-truth mask as bool (H, W): scale to [0, 1], then manipulated iff value >= 0.5.

    Scaling: bool as is; values already within [0, 1] (float masks, 0/1 integer masks) as is; uint16 / 65535;
    otherwise / 255 (or / max when above 255). Colour masks use the mean of R, G, B as IMDL-BenCo does. For
    uint8 masks `>= 0.5` after / 255 equals IMDL-BenCo's `mean > 127.5` (both mean v >= 128); 0/1 uint8 masks,
    which IMDL-BenCo would read as all-authentic, are read as 0/1 here.
    """
    a = _as_array(mask)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    dtype = a.dtype
    a = _to_gray(a).astype(np.float64)
    if a.size == 0 or not np.isfinite(a).all():
        raise ValueError("mask is empty or contains NaN/infinite values")
    return a / _unit_scale(dtype, float(a.max())) >= 0.5


def resize_heatmap(heatmap: Any, shape: tuple[int, int]) -> np.ndarray:
    """Heatmap (H, W) resized to `shape` = (height, width) with Pillow's bilinear filter, as float32.

    Pillow aligns pixel centres (like align_corners=False) and, when shrinking, widens the triangle filter to
    the scale factor, so a downscale is area-weighted rather than point-sampled (cv2's INTER_LINEAR is not).
    """
    from PIL import Image

    h = np.ascontiguousarray(np.asarray(heatmap, dtype=np.float32))
    if h.ndim != 2:
        raise ValueError(f"a heatmap must be 2-D (H, W), got shape {h.shape}")
    height, width = int(shape[0]), int(shape[1])
    if h.shape == (height, width):
        return h.copy()
    out = Image.fromarray(h).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def resize_mask(mask: Any, shape: tuple[int, int]) -> np.ndarray:
    """Mask binarised (`binarize_mask`) and resized to `shape` = (height, width) by Pillow nearest, as bool.

    Pillow's nearest takes, for output pixel i, source pixel floor((i + 0.5) * in_size / out_size).
    """
    from PIL import Image

    b = binarize_mask(mask)
    height, width = int(shape[0]), int(shape[1])
    if b.shape == (height, width):
        return b
    img = Image.fromarray(b.astype(np.uint8) * np.uint8(255))
    return np.asarray(img.resize((width, height), Image.Resampling.NEAREST)) > 127


def _as_bool(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype != bool:
        if a.size and not np.isin(a, (0, 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1); binarise or threshold it first")
        a = a.astype(bool)
    return a


def _confusion(pred: Any, gt: Any) -> tuple[int, int, int, int]:
    """(TP, FP, FN, TN) pixel counts of a boolean prediction against a boolean ground truth of equal shape."""
    p, g = _as_bool(pred, "pred"), _as_bool(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"prediction and ground truth shapes differ: {p.shape} vs {g.shape}")
    tp = int(np.count_nonzero(p & g))
    fp = int(np.count_nonzero(p)) - tp
    fn = int(np.count_nonzero(g)) - tp
    return tp, fp, fn, int(p.size) - tp - fp - fn


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2.0 * tp / (2 * tp + fp + fn) if tp else 0.0


def _iou(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + fp + fn) if tp else 0.0


def _mcc(tp: int, fp: int, fn: int, tn: int) -> float:
    denom = float(tp + fp) * float(tp + fn) * float(tn + fp) * float(tn + fn)
    return float((float(tp) * tn - float(fp) * fn) / np.sqrt(denom)) if denom > 0 else 0.0


def pixel_f1(pred_bool: Any, gt_bool: Any) -> float:
    """Pixel F1 = 2TP / (2TP + FP + FN) of one image; 0 when TP = 0 (including empty mask and prediction)."""
    tp, fp, fn, _ = _confusion(pred_bool, gt_bool)
    return _f1(tp, fp, fn)


def pixel_iou(pred_bool: Any, gt_bool: Any) -> float:
    """Pixel IoU = TP / (TP + FP + FN) of one image; 0 when TP = 0 (including empty mask and prediction)."""
    tp, fp, fn, _ = _confusion(pred_bool, gt_bool)
    return _iou(tp, fp, fn)


def pixel_mcc(pred_bool: Any, gt_bool: Any) -> float:
    """Matthews correlation of one image's pixels; 0 when any marginal is empty (sklearn convention)."""
    return _mcc(*_confusion(pred_bool, gt_bool))


def pixel_auc(heatmap: Any, gt_bool: Any) -> float | None:
    """ROC AUC of the heatmap's pixels against the mask (ties count half, as sklearn); None if gt is one class.

    IMDL-BenCo returns 0.0 for an all-authentic mask and breaks ties by sort order; both differ from this.
    """
    h = np.asarray(heatmap, dtype=np.float64)
    g = _as_bool(gt_bool, "gt")
    if h.shape != g.shape:
        raise ValueError(f"heatmap and ground truth shapes differ: {h.shape} vs {g.shape}")
    if not np.isfinite(h).all():
        raise ValueError("heatmap contains NaN or infinite values")
    n_pos = int(np.count_nonzero(g))
    if n_pos == 0 or n_pos == g.size:
        return None
    return _trapezoid_auc(g.ravel().astype(np.int8), h.ravel())


def _unit_heatmap(heatmap: Any, shape: tuple[int, int]) -> np.ndarray:
    h = np.asarray(heatmap, dtype=np.float32)
    if h.ndim != 2 or not np.isfinite(h).all():
        raise ValueError(f"a heatmap must be a finite 2-D (H, W) array, got shape {h.shape}")
    if h.size and (h.min() < -1e-6 or h.max() > 1 + 1e-6):
        raise ValueError(f"heatmap must lie in [0, 1] to be thresholded, got [{h.min():g}, {h.max():g}]")
    return resize_heatmap(h, shape)


def _score_image(
    heatmap: Any, gt_mask: Any, threshold: float, mask: Any, inversion_tolerant: bool
) -> tuple[dict[str, float | None], tuple[int, int, int, int]]:
    gt = binarize_mask(gt_mask)
    if heatmap is None and mask is None:
        raise ValueError("give a heatmap, a binary mask, or both")
    h = None if heatmap is None else _unit_heatmap(heatmap, gt.shape)
    pred = resize_mask(mask, gt.shape) if mask is not None else h > threshold
    tp, fp, fn, tn = _confusion(pred, gt)
    out: dict[str, float | None] = {
        "f1": _f1(tp, fp, fn),
        "iou": _iou(tp, fp, fn),
        "mcc": _mcc(tp, fp, fn, tn),
        "auc": None if h is None else pixel_auc(h, gt),
    }
    if inversion_tolerant:
        out["f1_inversion_tolerant"] = max(out["f1"], _f1(fn, tn, tp))
    return out, (tp, fp, fn, tn)


def localization_scores(
    heatmap: Any, gt_mask: Any, threshold: float = 0.5, mask: Any = None, inversion_tolerant: bool = False
) -> dict[str, float | None]:
    """Per-image f1, iou, mcc (at `heatmap > threshold`, strict) and pixel auc, heatmap resized to the gt size.

    `heatmap` must lie in [0, 1] (None is allowed when `mask` is given; auc is then None). If the method's own
    binary `mask` is given, F1/IoU/MCC use it (resized nearest) and the heatmap serves only the AUC. With
    `inversion_tolerant`, "f1_inversion_tolerant" = max(F1(pred), F1(not pred)), IMDL-BenCo's "double" mode:
    the complement of the binary prediction, so pixels exactly at the threshold count as inverted positives.
    """
    return _score_image(heatmap, gt_mask, threshold, mask, inversion_tolerant)[0]


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


class LocalizationAccumulator:
    """Collects per-image localization scores and reports image-averaged means plus pooled-pixel figures.

    `summary()` keys: n (images), f1, iou, mcc (image-averaged), auc (averaged over the n_auc images whose
    mask has both classes), f1_inversion_tolerant (if enabled), and f1_pooled, iou_pooled, mcc_pooled from
    TP/FP/FN/TN summed over all pixels of all images ("pooled over all pixels", not the headline).
    """

    def __init__(self, threshold: float = 0.5, inversion_tolerant: bool = False) -> None:
        self.threshold = threshold
        self.inversion_tolerant = inversion_tolerant
        self.records: list[dict[str, float | None]] = []
        self._counts = np.zeros(4, dtype=np.int64)

    def add(self, heatmap: Any, gt_mask: Any, mask: Any = None) -> dict[str, float | None]:
        """Score one image (see `localization_scores`), keep its record and return it."""
        scores, counts = _score_image(heatmap, gt_mask, self.threshold, mask, self.inversion_tolerant)
        self.records.append(scores)
        self._counts += np.asarray(counts, dtype=np.int64)
        return scores

    def summary(self) -> dict[str, float | int | None]:
        """Image-averaged means (None before any image) and the pooled-over-all-pixels figures."""
        keys = ["f1", "iou", "mcc", "auc"] + (["f1_inversion_tolerant"] if self.inversion_tolerant else [])
        out: dict[str, float | int | None] = {"n": len(self.records)}
        out.update({k: _mean([r.get(k) for r in self.records]) for k in keys})
        out["n_auc"] = sum(r["auc"] is not None for r in self.records)
        tp, fp, fn, tn = (int(c) for c in self._counts)
        pooled = bool(self.records)
        out["f1_pooled"] = _f1(tp, fp, fn) if pooled else None
        out["iou_pooled"] = _iou(tp, fp, fn) if pooled else None
        out["mcc_pooled"] = _mcc(tp, fp, fn, tn) if pooled else None
        return out

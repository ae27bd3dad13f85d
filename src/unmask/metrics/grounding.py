"""DGM4 / HAMMER multimodal manipulation grounding metrics (M.8 to M.12), numpy only.

Shao et al., "Detecting and Grounding Multi-Modal Media Manipulation", CVPR 2023 (`test.py`,
`tools/multilabel_metrics.py`, `models/box_ops.py`). Four manipulation types, in this column order:
face swap (FS), face attribute (FA), text swap (TS), text attribute (TA). Logits are raw (pre-sigmoid);
a type is predicted iff its logit >= 0. Ratios that the reference leaves as 0/0 are NaN here as there
(numpy), except that the multi-label AP of a class without positives raises (the reference divides by zero).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .binary import ArrayLike

TYPES = ("FS", "FA", "TS", "TA")
_TYPE_INDEX = {"face_swap": 0, "face_attribute": 1, "text_swap": 2, "text_attribute": 3}


def dgm4_targets(fake_cls: Sequence[str]) -> np.ndarray:
    """(N, 4) 0/1 targets from DGM4 `fake_cls` strings ('orig', 'face_swap&text_attribute', ...)."""
    out = np.zeros((len(fake_cls), 4), dtype=np.int64)
    for i, name in enumerate(fake_cls):
        if name == "orig":
            continue
        for part in name.split("&"):
            if part not in _TYPE_INDEX:
                raise ValueError(f"unknown DGM4 manipulation type {part!r} in {name!r}")
            out[i, _TYPE_INDEX[part]] = 1
    return out


def _multilabel(logits: ArrayLike, targets: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    s, t = np.asarray(logits, dtype=np.float64), np.asarray(targets)
    if s.ndim != 2 or s.shape != t.shape or s.shape[0] == 0:
        raise ValueError(f"logits and targets must be equal non-empty (N, K) arrays: {s.shape} {t.shape}")
    if not np.isin(t, (0, 1)).all():
        raise ValueError("targets must hold only 0 and 1")
    if not np.isfinite(s).all():
        raise ValueError("logits contain NaN or infinite values")
    return s, t.astype(np.int64)


def _nonint_ap(scores: np.ndarray, target: np.ndarray) -> float:
    """Mean over positives of (positives so far / samples so far), scores high to low (stable on ties)."""
    hits = target[np.argsort(-scores, kind="stable")]
    if not hits.any():
        raise ValueError("average precision of a class without positive samples is undefined")
    ranks = np.flatnonzero(hits) + 1
    return float(np.mean(np.arange(1, ranks.size + 1) / ranks))


def multilabel_map(logits: ArrayLike, targets: ArrayLike) -> dict[str, Any]:
    """Per-class non-interpolated AP and their mean, HAMMER `AveragePrecisionMeter` (M.8).

    Ties among scores are taken in input order (the reference's `torch.sort` promises no order for ties).
    Returns {"ap": [AP per class], "map": mean}.
    """
    s, t = _multilabel(logits, targets)
    ap = [_nonint_ap(s[:, k], t[:, k]) for k in range(s.shape[1])]
    return {"ap": ap, "map": float(np.mean(ap))}


def _counts(s: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: (correct positives Nc, predicted positives Np, ground-truth positives Ng), logit >= 0."""
    pred = s >= 0
    return (pred & (t == 1)).sum(0), pred.sum(0), (t == 1).sum(0)


def _ratio(a: Any, b: Any) -> Any:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.true_divide(a, b)


def _f1(p: Any, r: Any) -> Any:
    return _ratio(2 * p * r, p + r)


def multilabel_overall(logits: ArrayLike, targets: ArrayLike) -> dict[str, float]:
    """OP, OR, OF1, CP, CR, CF1 of HAMMER's `evaluation` (M.9); predicted iff logit >= 0.

    Np is set to 1 where a class has no predicted positive; Ng is not, so CR is NaN when a class has no
    positive. CF1 = 2 CP CR / (CP + CR), not the mean of per-class F1.
    """
    nc, np_, ng = _counts(*_multilabel(logits, targets))
    np_ = np.maximum(np_, 1)
    op, or_ = _ratio(nc.sum(), np_.sum()), _ratio(nc.sum(), ng.sum())
    cp, cr = float(np.mean(nc / np_)), float(np.mean(_ratio(nc, ng)))
    of1, cf1 = float(_f1(op, or_)), float(_f1(cp, cr))
    return {"OP": float(op), "OR": float(or_), "OF1": of1, "CP": cp, "CR": cr, "CF1": cf1}


def per_type_f1(logits: ArrayLike, targets: ArrayLike, names: Sequence[str] = TYPES) -> dict[str, float]:
    """F1 per manipulation type from TP/FP/FN pooled over all samples, logit >= 0 (M.10): "F1_FS", ...

    P = TP / (TP + FP), R = TP / (TP + FN), F1 = 2PR / (P + R); NaN when TP = 0, as in the reference.
    """
    nc, np_, ng = _counts(*_multilabel(logits, targets))
    if len(names) != nc.size:
        raise ValueError(f"{len(names)} names for {nc.size} classes")
    f1 = _f1(_ratio(nc, np_), _ratio(nc, ng))
    return {f"F1_{n}": float(v) for n, v in zip(names, f1, strict=True)}


def hammer_gt_box(xyxy: Sequence[float] | None, width: float, height: float) -> np.ndarray:
    """DGM4 ground-truth box as HAMMER feeds it: pixel xyxy -> normalised cxcywh; missing box -> [0, 0, 0, 0].

    As the reference's `get_bbox`, x0, y0 and the width and height (x1 - x0, y1 - y0) are truncated to int.
    """
    if xyxy is None or len(xyxy) == 0:
        return np.zeros(4)
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    x, y, w, h = int(x0), int(y0), int(x1 - x0), int(y1 - y0)
    return np.array([(x + w / 2) / width, (y + h / 2) / height, w / width, h / height])


def _area(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])


def _xyxy(cxcywh: np.ndarray) -> np.ndarray:
    cx, cy, w, h = cxcywh.T
    return np.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], axis=1)


def box_iou(pred_cxcywh: ArrayLike, gt_cxcywh: ArrayLike) -> np.ndarray:
    """Paired IoU of predicted and GT boxes (both normalised cxcywh, no clipping) with HAMMER's zero-GT rule.

    Where the GT's first xyxy coordinate x0 is 0 (a missing box is all zeros; the reference tests only x0) and
    every predicted xyxy coordinate is < 1e-4, IoU = 1. Otherwise inter / union, NaN for 0 / 0.
    """
    p, g = np.asarray(pred_cxcywh, dtype=np.float64), np.asarray(gt_cxcywh, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 4 or p.shape != g.shape:
        raise ValueError(f"boxes must be equal (N, 4) arrays, got {p.shape} and {g.shape}")
    bp, bg = _xyxy(p), _xyxy(g)
    wh = np.clip(np.minimum(bp[:, 2:], bg[:, 2:]) - np.maximum(bp[:, :2], bg[:, :2]), 0.0, None)
    inter = wh[:, 0] * wh[:, 1]
    iou = _ratio(inter, _area(bp) + _area(bg) - inter)
    zero_gt = (bg[:, 0] == 0) & (bp < 1e-4).all(axis=1)
    return np.where(zero_gt, 1.0, iou)


def grounding_iou(pred_cxcywh: ArrayLike, gt_cxcywh: ArrayLike) -> dict[str, float | int]:
    """IoUmean over ALL samples (pristine and text-only included) and IoU50/75/95 = fraction with IoU > t.

    The thresholds are strict (M.11). A NaN IoU (0 / 0) makes iou_mean NaN, as in the reference.
    """
    iou = box_iou(pred_cxcywh, gt_cxcywh)
    if iou.size == 0:
        raise ValueError("no boxes")
    out: dict[str, float | int] = {"iou_mean": float(np.mean(iou))}
    for t in (50, 75, 95):
        out[f"iou{t}"] = float(np.mean(iou > t / 100))
    out["n"] = int(iou.size)
    return out


def token_labels_from_word_ids(
    word_ids: Sequence[int | None], fake_words: Sequence[int], max_words: int = 30
) -> np.ndarray:
    """0/1 label per token: 1 for every sub-word token of a manipulated word (HAMMER's `word_ids` mapping).

    `word_ids` is the tokenizer's word index per token ([CLS]/[SEP] removed; None for special tokens); fake
    word positions >= `max_words` are dropped, as DGM4's dataset does after `pre_caption`.
    """
    fake = {int(w) for w in fake_words if int(w) < max_words}
    return np.array([w is not None and w in fake for w in word_ids], dtype=np.int64)


def _token_pred(pred: ArrayLike) -> np.ndarray:
    a = np.asarray(pred)
    if a.ndim == 2 and a.shape[1] == 2:
        return a.argmax(axis=1)  # logits: argmax, the first index on a tie as torch
    return a.ravel()


def token_metrics(gt_tokens: Sequence[ArrayLike], pred_tokens: Sequence[ArrayLike]) -> dict[str, float | int]:
    """Token ACC / P / R / F1 with TP/TN/FP/FN pooled over all tokens of all samples (M.12).

    Per sample: gt is a 0/1 array (-100 marks padding, which is skipped) and pred is either 0/1 labels or
    (T, 2) logits (argmax). Pristine captions count (their tokens are TN or FP). NaN for 0 / 0.
    """
    if len(gt_tokens) != len(pred_tokens):
        raise ValueError(f"{len(gt_tokens)} gt sequences for {len(pred_tokens)} predictions")
    tp = tn = fp = fn = 0
    for gt, pred in zip(gt_tokens, pred_tokens, strict=True):
        g, p = np.asarray(gt).ravel(), _token_pred(pred)
        if g.shape != p.shape:
            raise ValueError(f"token counts differ: gt {g.shape} vs pred {p.shape}")
        if not np.isin(g, (0, 1, -100)).all() or not np.isin(p, (0, 1)).all():
            raise ValueError("token labels must be 0/1 (-100 = padding in gt)")
        tp += int(np.sum((g == 1) & (p == 1)))
        tn += int(np.sum((g == 0) & (p == 0)))
        fp += int(np.sum((g == 0) & (p == 1)))
        fn += int(np.sum((g == 1) & (p == 0)))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return {
        "acc": float(_ratio(tp + tn, tp + tn + fp + fn)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(_f1(precision, recall)),
        "tp": tp, "tn": tn, "fp": fp, "fn": fn,
    }

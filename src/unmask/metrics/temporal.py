"""Temporal forgery localization metrics (LAV-DF / AV-Deepfake1M and ActivityNet conventions), numpy only.

Inputs are mappings keyed by video: `segments[v]` = ground-truth fake segments, an (m, 2) array of
[start, end] in seconds (m = 0 for a real video); `proposals[v]` = an (n, 3) array of [score, start, end].
LAV-DF's proposals are in frames (pass fps=25, Cai et al., DICTA 2022, `metrics.py`); AV-Deepfake1M's are in
seconds (fps=1, Cai et al., ACM MM 2024, `src/loc_1d.rs`). Computation is in float64 where the references use
float32, so the last digits can differ.

- M.15 `iou_1d`: intersection over the hull of the two segments, which equals the true IoU.
- M.16 `lavdf_ap`: per-video greedy matching (each GT in order takes the first unused proposal with IoU > tau,
  strict), global stable ranking by score, AP = sum of recall steps times the running-max precision. The
  reference omits the step from recall 0 to the first ranked proposal's recall; `parity=True` does too.
- M.17 `lavdf_ar`: recall of the first N proposals, IoU > tau (strict), pooled over videos, averaged over
  tau in 0.50:0.05:0.95. N is clamped to the proposals available (as the Rust reference). `parity=True`
  reproduces its quirk that a video without proposals contributes neither TP nor FN.
- M.18 `activitynet_ap` / `activitynet_map`: ActivityNet / ActionFormer / UMMAFormer `eval_detection.py`:
  global ranking, each prediction matched to the best-tIoU unlocked GT of its video with tIoU >= tau
  (inclusive), VOC all-point interpolated AP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .binary import ArrayLike

AR_THRESHOLDS = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
ACTIVITYNET_THRESHOLDS = tuple(float(t) for t in np.linspace(0.5, 0.95, 10))  # 0.9 is 0.8999999999999999


def _segments(a: ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be a finite (m, 2) array of [start, end], got shape {arr.shape}")
    return arr


def _proposals(a: ArrayLike, fps: float, sort: bool, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(scores, [start, end] / fps) of one video, stably sorted by score descending when `sort`."""
    arr = np.asarray(a, dtype=np.float64)
    if arr.size == 0:
        return np.zeros(0), np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 3 or not np.isfinite(arr).all():
        raise ValueError(f"{what} must be a finite (n, 3) array of [score, start, end], got {arr.shape}")
    if sort:
        arr = arr[np.argsort(-arr[:, 0], kind="stable")]
    return arr[:, 0], arr[:, 1:] / fps


def iou_1d(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """(n, m) IoU of segments a (n, 2) against b (m, 2): max(0, overlap) / hull length (M.15).

    Equals the true IoU since the overlap is 0 whenever the segments are disjoint; 0 when the hull is empty
    (two identical zero-length segments), where the references divide 0 by 0.
    """
    sa, sb = _segments(a, "segments a"), _segments(b, "segments b")
    inter = np.minimum(sa[:, None, 1], sb[None, :, 1]) - np.maximum(sa[:, None, 0], sb[None, :, 0])
    hull = np.maximum(sa[:, None, 1], sb[None, :, 1]) - np.minimum(sa[:, None, 0], sb[None, :, 0])
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.maximum(inter, 0.0) / hull
    return np.where(hull > 0, iou, 0.0)


def _video_items(
    proposals: Mapping[str, ArrayLike], segments: Mapping[str, ArrayLike], fps: float, sort: bool
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(scores, proposal segments, GT segments) per video of `segments`; every such video needs proposals."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    items = []
    for video, gt in segments.items():
        if video not in proposals:
            raise KeyError(f"no proposals for video {video!r} (an empty array means none)")
        scores, segs = _proposals(proposals[video], fps, sort, f"proposals[{video!r}]")
        items.append((scores, segs, _segments(gt, f"segments[{video!r}]")))
    return items


def _greedy_tp(ious: np.ndarray, tau: float) -> np.ndarray:
    """LAV-DF matching: each GT in order takes the first not yet used proposal with IoU > tau (strict)."""
    is_tp = np.zeros(ious.shape[0], dtype=bool)
    for g in range(ious.shape[1]):
        free = np.flatnonzero((ious[:, g] > tau) & ~is_tp)
        if free.size:
            is_tp[free[0]] = True
    return is_tp


def _lavdf_ap_curve(is_tp: np.ndarray, n_gt: int, parity: bool) -> float:
    """Sum over ranks of (recall_i - recall_{i-1}) * max_{j>=i} precision_j; parity drops the i = 1 term."""
    if is_tp.size == 0:
        return 0.0
    cum = np.cumsum(is_tp)
    precision = cum / np.arange(1, is_tp.size + 1)
    recall = cum / n_gt
    run_max = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(recall, prepend=0.0)
    if parity:
        steps[0] = 0.0
    return float(np.sum(steps * run_max))


def lavdf_ap(
    proposals: Mapping[str, ArrayLike],
    segments: Mapping[str, ArrayLike],
    iou_thresholds: Sequence[float] = (0.5, 0.75, 0.95),
    fps: float = 1.0,
    parity: bool = False,
    sort: bool = True,
) -> dict[float, float]:
    """AP@tau per threshold, LAV-DF / AV-Deepfake1M convention (M.16); videos = the keys of `segments`.

    Each video's proposals are stably sorted by score (descending) before matching when `sort` (matching
    follows list order, so unsorted lists change the result); real videos (no segments) contribute only false
    positives. `parity=True` omits the first recall step (worth <= 1 / N_gt) exactly as the reference code.
    Raises ValueError when there is no GT segment at all and KeyError when a video has no proposals entry.
    """
    items = _video_items(proposals, segments, fps, sort)
    n_gt = sum(gt.shape[0] for _, _, gt in items)
    if n_gt == 0:
        raise ValueError("AP is undefined without any ground-truth segment")
    scores = np.concatenate([s for s, _, _ in items])
    order = np.argsort(-scores, kind="stable")
    ious = [iou_1d(p, gt) for _, p, gt in items]
    out = {}
    for tau in iou_thresholds:
        is_tp = np.concatenate([_greedy_tp(iou, tau) for iou in ious])
        out[float(tau)] = _lavdf_ap_curve(is_tp[order], n_gt, parity)
    return out


def _video_recall_counts(
    segs: np.ndarray, gt: np.ndarray, ns: Sequence[int], taus: np.ndarray, parity: bool
) -> np.ndarray:
    """(len(taus), len(ns), 2) counts of (TP, FN) of one video's GTs within its first N proposals."""
    counts = np.zeros((taus.size, len(ns), 2), dtype=np.int64)
    if segs.shape[0] == 0:
        if not parity:
            counts[..., 1] = gt.shape[0]
        return counts
    best = np.maximum.accumulate(iou_1d(segs, gt), axis=0)  # best IoU per GT within the first k proposals
    for j, n in enumerate(ns):
        row = best[min(n, segs.shape[0]) - 1]
        tp = (row[None, :] > taus[:, None]).sum(axis=1)
        counts[:, j, 0], counts[:, j, 1] = tp, gt.shape[0] - tp
    return counts


def lavdf_ar(
    proposals: Mapping[str, ArrayLike],
    segments: Mapping[str, ArrayLike],
    n_proposals: Sequence[int] = (100, 50, 20, 10),
    iou_thresholds: Sequence[float] = AR_THRESHOLDS,
    fps: float = 1.0,
    parity: bool = False,
    sort: bool = True,
) -> dict[int, float]:
    """AR@N per N, LAV-DF / AV-Deepfake1M convention (M.17); videos = the keys of `segments`.

    Per video the first min(N, n) proposals are kept (list order, after a stable sort by score when `sort`);
    a GT is recalled when its best IoU among them is > tau (strict); TP and FN are pooled over videos and
    recall is averaged over the thresholds. A video without proposals counts its GTs as missed, unless
    `parity=True` (the Rust reference ignores them, inflating AR). Raises ValueError without any GT segment.
    """
    if any(int(n) < 1 for n in n_proposals):
        raise ValueError(f"every N must be >= 1, got {list(n_proposals)}")
    items = _video_items(proposals, segments, fps, sort)
    if sum(gt.shape[0] for _, _, gt in items) == 0:
        raise ValueError("AR is undefined without any ground-truth segment")
    ns, taus = [int(n) for n in n_proposals], np.asarray(iou_thresholds, dtype=np.float64)
    total = sum(_video_recall_counts(p, gt, ns, taus, parity) for _, p, gt in items)
    seen = total.sum(axis=2)
    recall = np.where(seen > 0, total[..., 0] / np.maximum(seen, 1), 0.0)  # the Rust reference's 0 for 0/0
    return {n: float(recall[:, j].mean()) for j, n in enumerate(ns)}


def _activitynet_flags(order: np.ndarray, ious: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """(len(taus), n) TP flags of one video's predictions visited in `order`; a GT is locked once per tau."""
    tp = np.zeros((taus.size, ious.shape[0]), dtype=bool)
    if ious.shape[1] == 0:
        return tp
    locked = np.zeros((taus.size, ious.shape[1]), dtype=bool)
    for i in order:
        by_iou = np.argsort(ious[i], kind="stable")[::-1]  # as argsort()[::-1]: later GT first on ties
        for t, tau in enumerate(taus):
            for g in by_iou:
                if ious[i, g] < tau:
                    break
                if not locked[t, g]:
                    tp[t, i] = locked[t, g] = True
                    break
    return tp


def activitynet_ap(
    predictions: Mapping[str, ArrayLike],
    segments: Mapping[str, ArrayLike],
    tiou_thresholds: Sequence[float] = ACTIVITYNET_THRESHOLDS,
) -> dict[float, float]:
    """AP at each tIoU, ActivityNet convention (M.18, UMMAFormer/ActionFormer `eval_detection.py`).

    `predictions[v]` = (n, 3) [score, start, end] in seconds, for any video; `segments[v]` = GT segments.
    All predictions are ranked by score descending, ties last-listed first (the reference's
    `argsort()[::-1]` whenever numpy's sort is stable, which it always is for <= 16 predictions). Each is a
    TP when the highest-tIoU unlocked GT of its video has tIoU >= tau (inclusive), which locks that GT;
    otherwise, and in a video without GT, an FP. AP is VOC all-point interpolated; 0 without predictions.
    """
    gts = {v: _segments(g, f"segments[{v!r}]") for v, g in segments.items()}
    n_gt = sum(g.shape[0] for g in gts.values())
    if n_gt == 0:
        raise ValueError("AP is undefined without any ground-truth segment")
    taus = np.asarray(tiou_thresholds, dtype=np.float64)
    videos = list(predictions)
    parts = [_proposals(predictions[v], 1.0, False, f"predictions[{v!r}]") for v in videos]
    scores = np.concatenate([s for s, _ in parts]) if parts else np.zeros(0)
    if scores.size == 0:
        return {float(t): 0.0 for t in taus}
    rank = np.empty(scores.size, dtype=np.int64)
    rank[np.argsort(scores, kind="stable")[::-1]] = np.arange(scores.size)  # global rank of each prediction
    flags, start = np.zeros((taus.size, scores.size), dtype=bool), 0
    for v, (s, segs) in zip(videos, parts, strict=True):
        ious = iou_1d(segs, gts.get(v, np.zeros((0, 2))))
        local = np.argsort(rank[start : start + s.size])  # this video's predictions in global order
        flags[:, start : start + s.size] = _activitynet_flags(local, ious, taus)
        start += s.size
    ranked = flags[:, np.argsort(rank)]
    return {float(t): _voc_ap(ranked[k], n_gt) for k, t in enumerate(taus)}


def _voc_ap(is_tp: np.ndarray, n_gt: int) -> float:
    """VOC all-point interpolated AP: precision made non-increasing from the right, summed over recall."""
    tp = np.cumsum(is_tp)
    precision = tp / np.arange(1, is_tp.size + 1)
    mprec = np.r_[0.0, precision, 0.0]
    mrec = np.r_[0.0, tp / n_gt, 1.0]
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    step = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[step] - mrec[step - 1]) * mprec[step]))


def activitynet_map(
    predictions: Mapping[str, ArrayLike],
    segments: Mapping[str, ArrayLike],
    tiou_thresholds: Sequence[float] = ACTIVITYNET_THRESHOLDS,
) -> float:
    """Mean of `activitynet_ap` over the thresholds (default np.linspace(0.5, 0.95, 10), as the reference)."""
    return float(np.mean(list(activitynet_ap(predictions, segments, tiou_thresholds).values())))

"""Frame- and video-level detection metrics, DeepfakeBench convention (M.20), numpy only.

DeepfakeBench (Yan et al., NeurIPS 2023 D&B, `training/metrics/utils.py:get_test_metrics`) scores frames, then
groups them into videos: video score = mean frame probability, video label = int(mean frame label), so a video
counts as fake only when every one of its frames is labelled fake. Frame accuracy uses p > 0.5 (strict).
DeepfakeBench groups by the frame path's parent folder *name* (`parts[-2]`), which merges distinct videos that
share a folder name across datasets or methods; here the caller passes a full video key per frame
(`video_key` derives one from a frame path: the whole parent path).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .binary import ArrayLike, _check, average_precision, eer, roc_auc


def video_key(frame_path: str) -> str:
    """Full parent path of a frame file ("a/b/vid01/0001.png" -> "a/b/vid01"); '/' and '\\' both separate."""
    cut = max(frame_path.rfind("/"), frame_path.rfind("\\"))
    if cut < 0:
        raise ValueError(f"frame path {frame_path!r} has no parent folder to name its video")
    return frame_path[:cut]


def video_level(
    keys: Sequence[str], p: ArrayLike, y: ArrayLike
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(video keys in first-seen order, mean frame probability, int(mean frame label)) per video (M.20).

    Frames are grouped by exact key equality; `y` holds 0/1 frame labels, so a video's label is 1 only when
    all of its frames are fake. The mean sums the video's frames left to right, as DeepfakeBench does.
    """
    y_arr, p_arr = _check(y, p, "p")
    if len(keys) != y_arr.size:
        raise ValueError(f"got {len(keys)} video keys for {y_arr.size} frames")
    index: dict[str, int] = {}
    idx = np.fromiter((index.setdefault(k, len(index)) for k in keys), dtype=np.int64, count=y_arr.size)
    count = np.bincount(idx, minlength=len(index))
    score = np.bincount(idx, weights=p_arr, minlength=len(index)) / count
    label = np.bincount(idx, weights=y_arr, minlength=len(index)).astype(np.int64) // count
    return list(index), score, label


def frame_accuracy(y: ArrayLike, p: ArrayLike, threshold: float = 0.5) -> float:
    """Frame accuracy with fake iff p > threshold (strict, DeepfakeBench), unlike `accuracy_at`'s >=."""
    y_arr, p_arr = _check(y, p, "p")
    return float(np.mean((p_arr > threshold) == y_arr.astype(bool)))


def _both(y: np.ndarray) -> bool:
    return 0 < int(y.sum()) < y.size


def video_summary(keys: Sequence[str], p: ArrayLike, y: ArrayLike) -> dict[str, float | int | None]:
    """DeepfakeBench's test row: frame auc / ap / acc (p > 0.5) / eer (M.5) and video_auc over video means.

    Metrics that need both classes are None when one is missing (at frame or video level); n_frames, n_videos
    and n_fake_videos give the support.
    """
    y_arr, p_arr = _check(y, p, "p")
    _, v_score, v_label = video_level(keys, p_arr, y_arr)
    both = _both(y_arr)
    return {
        "frame_auc": roc_auc(y_arr, p_arr) if both else None,
        "frame_ap": average_precision(y_arr, p_arr) if y_arr.any() else None,
        "frame_acc": frame_accuracy(y_arr, p_arr),
        "frame_eer": eer(y_arr, p_arr, "deepfakebench") if both else None,
        "video_auc": roc_auc(v_label, v_score) if _both(v_label) else None,
        "n_frames": int(y_arr.size),
        "n_videos": int(v_label.size),
        "n_fake_videos": int(v_label.sum()),
    }

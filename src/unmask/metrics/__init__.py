"""Metrics with named conventions: the single metric code every unmask benchmark uses (numpy + Pillow only).

Conventions (the numbers refer to METRICS.md in the shared docs; tables must name the convention used):

Image-level detection (`binary`): y = 1 fake/manipulated (positive), higher score = more fake.
- `roc_auc`: sklearn `roc_auc_score` (trapezoid over the tie-grouped ROC; a tie is half a win). ValueError on
  a single class.
- `average_precision`: sklearn `average_precision_score` (step-wise, no interpolation).
- `accuracy_at`, `balanced_accuracy_at`: fake iff s >= threshold (inclusive); the threshold is fixed before
  seeing test labels. Balanced accuracy = mean per-class recall (sklearn `balanced_accuracy_score`).
- `tpr_at_fpr`: largest ROC-point TPR with FPR <= target, no interpolation.
- `brier`: mean squared error of P(fake); `ece`: 15 equal-width bins of P(fake), count-weighted |acc - conf|.
- `eer(variant=...)`: "deepfakebench" (M.5, nearest ROC point, no averaging), "hammer" (M.3, interpolated
  root of 1 - fpr - tpr), "asvspoof" (M.4, positive = bona fide with higher score = more bona fide, EER =
  mean of FRR and FAR at the closest DET point; pass `eer(1 - y, -s, "asvspoof")` from fake-convention data).
  `asvspoof_eer(bonafide, spoof)` also returns the threshold. Fractions in [0, 1]; papers print x100.
- `binary_summary`: one table row (auc, ap, accuracy, balanced_accuracy, tpr@1%fpr, tpr@5%fpr, n, n_pos, and
  brier/ece when `calibrated=True`).

Pixel-level localization (`localization`, IMDL-BenCo / PhotoHolmes): masks binarised at >= 0.5 after scaling
to [0, 1]; heatmaps resized to the mask (Pillow bilinear), methods' masks by nearest; prediction = heatmap >
threshold (strict, as IMDL-BenCo) or the method's own mask; per-image F1 / IoU / MCC / pixel AUC averaged over
images (`LocalizationAccumulator`), pooled-over-all-pixels figures under "*_pooled" keys; F1 and IoU are 0
when there is no true positive, MCC is 0 when undefined, pixel AUC is None for a single-class mask;
"f1_inversion_tolerant" = max(F1(pred), F1(not pred)).
"""

from .binary import (
    accuracy_at,
    asvspoof_eer,
    average_precision,
    balanced_accuracy_at,
    binary_clf_curve,
    binary_summary,
    brier,
    ece,
    eer,
    roc_auc,
    roc_curve,
    tpr_at_fpr,
)
from .localization import (
    LocalizationAccumulator,
    binarize_mask,
    localization_scores,
    pixel_auc,
    pixel_f1,
    pixel_iou,
    pixel_mcc,
    resize_heatmap,
    resize_mask,
)

__all__ = [
    "LocalizationAccumulator",
    "accuracy_at",
    "asvspoof_eer",
    "average_precision",
    "balanced_accuracy_at",
    "binarize_mask",
    "binary_clf_curve",
    "binary_summary",
    "brier",
    "ece",
    "eer",
    "localization_scores",
    "pixel_auc",
    "pixel_f1",
    "pixel_iou",
    "pixel_mcc",
    "resize_heatmap",
    "resize_mask",
    "roc_auc",
    "roc_curve",
    "tpr_at_fpr",
]

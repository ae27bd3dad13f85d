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

Reliability curves (`calibration`): `reliability_curve` bins P(fake) exactly as `ece` (15 equal-width bins,
[k/15, (k+1)/15), the last closed at 1) and gives per-bin count, mean P(fake) and observed fake rate (NaN /
None for an empty bin); its count-weighted gap is `ece`.

Video level (`video`, DeepfakeBench M.20): frames grouped by a full video key (`video_key` = the whole parent
path, not DeepfakeBench's folder name); video score = mean frame probability, video label = int(mean frame
label) (fake only if every frame is); `frame_accuracy` uses p > 0.5 (strict, unlike `accuracy_at`);
`video_summary` = frame auc / ap / acc / eer (M.5) and video_auc, None where a class is missing.

Temporal localization (`temporal`): proposals [score, start, end] per video, GT segments [start, end] in
seconds. `iou_1d` (M.15) = overlap / hull. `lavdf_ap` (M.16, LAV-DF / AV-Deepfake1M): each video's proposals
stably sorted by score, each GT in order takes the first free proposal with IoU > tau (strict), global stable
ranking, AP = sum of recall steps x running-max precision; `parity=True` drops the first recall step as the
reference code does. `lavdf_ar` (M.17): IoU > tau within the first min(N, n) proposals, TP/FN pooled, mean
over tau = .50:.05:.95; a video without proposals counts its GTs as misses unless `parity=True` (Rust
reference: ignored). `activitynet_ap` / `activitynet_map` (M.18): global ranking (ties: last-listed first),
best-tIoU unlocked GT with tIoU >= tau (inclusive), VOC all-point AP, default tau = linspace(.5, .95, 10).

Audio t-DCF (`audio`, ASVspoof M.6 / M.7): CM scores higher = bona fide; ASV at its M.4 EER threshold
(accept iff score >= threshold); `min_tdcf(version="2019")` = AASIST legacy (C1 Pmiss + C2 Pfa) / min(C1, C2),
"2021" = eval package (C0 + C1 Pmiss + C2 Pfa) / (C0 + min(C1, C2)); ValueError where the references abort
(NaN/inf, < 3 distinct CM scores, no spoof ASV trials, negative weight) or the normaliser is 0.

Grounding (`grounding`, DGM4 / HAMMER): types FS, FA, TS, TA; predicted iff logit >= 0. `multilabel_map`
(M.8, non-interpolated AP, ties in input order, ValueError for a class without positives);
`multilabel_overall` (M.9 OP/OR/OF1/CP/CR/CF1, Np floored to 1, CF1 from CP and CR); `per_type_f1` (M.10);
`box_iou` / `grounding_iou` (M.11: cxcywh -> xyxy unclipped, IoU = 1 where the GT's x0 is 0 and every
predicted coordinate < 1e-4, IoUmean over all samples, IoU50/75/95 strict >); `token_metrics` (M.12: counts
pooled over all tokens, -100 = padding); undefined ratios are NaN as in the reference.

Fake news (`text`, ICTMCG M.13): hard label = np.around(p) (0.5 -> 0, real); macro P/R/F1 over the labels
present in y or the predictions (0 for a 0/0 ratio, sklearn's default); `partial_auc` = sklearn's
McClish-corrected `roc_auc_score(max_fpr=...)`, spAUC at 0.1; `per_domain_metrics` adds support counts and
gives auc None for a single-class domain.
"""

from .audio import AsvRates, asv_rates, min_tdcf, min_tdcf_from_weights, tdcf_weights
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
from .calibration import ReliabilityCurve, reliability_curve
from .grounding import (
    box_iou,
    dgm4_targets,
    grounding_iou,
    hammer_gt_box,
    multilabel_map,
    multilabel_overall,
    per_type_f1,
    token_labels_from_word_ids,
    token_metrics,
)
from .intervals import ap_interval, bootstrap_interval, paired_difference, wilson
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
from .temporal import activitynet_ap, activitynet_map, iou_1d, lavdf_ap, lavdf_ar
from .text import fake_news_metrics, hard_labels, partial_auc, per_domain_metrics
from .video import frame_accuracy, video_key, video_level, video_summary

__all__ = [
    "AsvRates",
    "LocalizationAccumulator",
    "ReliabilityCurve",
    "accuracy_at",
    "activitynet_ap",
    "activitynet_map",
    "ap_interval",
    "asv_rates",
    "asvspoof_eer",
    "average_precision",
    "balanced_accuracy_at",
    "binarize_mask",
    "binary_clf_curve",
    "binary_summary",
    "bootstrap_interval",
    "box_iou",
    "brier",
    "dgm4_targets",
    "ece",
    "eer",
    "fake_news_metrics",
    "frame_accuracy",
    "grounding_iou",
    "hammer_gt_box",
    "hard_labels",
    "iou_1d",
    "lavdf_ap",
    "lavdf_ar",
    "localization_scores",
    "min_tdcf",
    "min_tdcf_from_weights",
    "multilabel_map",
    "multilabel_overall",
    "paired_difference",
    "partial_auc",
    "per_domain_metrics",
    "per_type_f1",
    "pixel_auc",
    "pixel_f1",
    "pixel_iou",
    "pixel_mcc",
    "reliability_curve",
    "resize_heatmap",
    "resize_mask",
    "roc_auc",
    "roc_curve",
    "tdcf_weights",
    "token_labels_from_word_ids",
    "token_metrics",
    "tpr_at_fpr",
    "video_key",
    "video_level",
    "video_summary",
    "wilson",
]

"""The bench's speech-research tables: anti-spoofing detection (ASVspoof conventions) and temporal localization.

Both take the items of one (perturbation, detector) with their cached rows, as `report` gathers them, and
compute every number with `unmask.metrics`:

- `spoofing_row`: EER by the ASVspoof recipe (M.4; the bench's rows are fake = positive, higher = more fake,
  so it is `eer(1 - y, -s, "asvspoof")`), AUC (sklearn, fake = positive), the share of real items flagged
  (false alarms) and of fake items flagged (detected) at the protocol's threshold, and min t-DCF when the
  protocol gives the ASV side (`min_tdcf_from_weights` with the CM scores negated, bona fide = higher).
- `generator_rows`: the same EER / AUC / detection rate per value of `attrs["generator"]` (the attack or
  vocoder), each generator's fakes against every real item of the run, as ASVspoof papers report per attack.
- `temporal_row`: segment AP at tIoU 0.5 and 0.75 and mAP over 0.5:0.05:0.95 (ActivityNet convention, M.18)
  of the detector's Evidence segments as proposals [score, start, end], over the items with ground-truth
  `segments` plus the real items (whose proposals are all false positives), and the share of real items
  with any segment.

A result without a score (error, not applicable, no opinion) scores 0 (not flagged), as in the detection
table; a result without segments proposes none.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..datasets import Item
from ..metrics import activitynet_ap, activitynet_map, eer, min_tdcf_from_weights, roc_auc
from .cache import parse_segments, row_scores

TIOU = (0.5, 0.75)
NO_ASV = "no ASV side in the protocol"

SPOOF_HEADER = ("Anti-spoofing detection, ASVspoof conventions. `eer`: ASVspoof recipe (M.4, "
                "`compute_eer` of the 2019/2021 packages: bona fide = positive, EER = mean of miss and false "
                "alarm at the closest DET point), computed as `eer(1 - y, -score, \"asvspoof\")` from the "
                "bench's fake-convention scores; a fraction (papers print x100). `auc`: sklearn, fake = "
                "positive. `false_alarms`: share of real items with score >= {thr}; `detected`: share of fake "
                "items with score >= {thr} (threshold fixed in the protocol). `min_tdcf`: normalised minimum "
                "t-DCF (M.6 / M.7) of the negated scores with the ASV side named in `tdcf_asv`; without one "
                "in the protocol no t-DCF is computed (no made-up ASV numbers). A result without a score "
                "counts as score 0 (bona fide); `no_score`, `errors`, `n/a` and `missing` count as in the "
                "detection table.")
GENERATOR_HEADER = ("Per generator (`attrs.generator`: attack, vocoder or TTS system), unseen-attack analysis as "
                    "ASVspoof papers report per attack: each generator's fake items against every real item "
                    "of the run as the bona fide side. EER by the ASVspoof recipe (fraction); `detected` = "
                    "share of that generator's items with score >= {thr}.")
TEMPORAL_HEADER = ("Temporal localization of fake segments, ActivityNet convention (M.18, `activitynet_ap`): "
                   "proposals are the detector's Evidence segments [score, start, end] in seconds; all "
                   "proposals ranked by score, a proposal is a true positive when the best-tIoU unmatched "
                   "ground-truth segment of its item has tIoU >= tau (inclusive); VOC all-point AP; `map` = "
                   "mean AP over tau = 0.50:0.05:0.95. Items scored: those with ground-truth `segments` and "
                   "the real items (every proposal on them is a false positive); fake items without segment "
                   "labels are left out (`fake_unlabelled`). The speech detectors propose only their flagged "
                   "stretches (windows at or above 0.5), so recall stops at what they flag. `real_flagged` / "
                   "`fake_flagged`: share of real / labelled fake items with any segment; `no_result`: items "
                   "scored with an error or not-applicable result (no proposals); items not yet in the cache "
                   "are left out (`missing`).")

SPOOF_COLUMNS = ["perturbation", "detector", "n", "n_fake", "n_real", "eer", "auc", "false_alarms", "detected",
                 "min_tdcf", "tdcf_asv", "errors", "n/a", "no_score", "missing"]
GENERATOR_COLUMNS = ["perturbation", "detector", "generator", "n_fake", "n_real", "eer", "auc", "detected"]
TEMPORAL_COLUMNS = ["perturbation", "detector", "n", "n_fake", "n_real", "n_gt", "proposals", "ap@0.5",
                    "ap@0.75", "map", "real_flagged", "fake_flagged", "no_result", "fake_unlabelled", "missing"]


def _flagged(s: np.ndarray, threshold: float) -> float | None:
    return float(np.mean(s >= threshold)) if s.size else None


def _eer_auc(y: np.ndarray, s: np.ndarray) -> tuple[float | None, float | None]:
    if not 0 < y.sum() < y.size:
        return None, None
    return eer(1 - y, -s, "asvspoof"), roc_auc(y, s)


def spoofing_row(items: list[Item], rows: list[dict[str, Any]], threshold: float,
                 tdcf: dict[str, Any] | None) -> dict[str, Any]:
    """One line of the spoofing table (SPOOF_COLUMNS, less perturbation/detector/missing)."""
    y = np.array([it.y for it in items], dtype=np.int64)
    s = row_scores(rows)
    real, fake = s[y == 0], s[y == 1]
    out: dict[str, Any] = {"n": int(y.size), "n_fake": int(fake.size), "n_real": int(real.size)}
    out["eer"], out["auc"] = _eer_auc(y, s)
    out["false_alarms"], out["detected"] = _flagged(real, threshold), _flagged(fake, threshold)
    out["min_tdcf"], out["tdcf_asv"] = None, NO_ASV
    if tdcf is not None:
        out["tdcf_asv"] = tdcf.get("source", "protocol")
        try:  # CM scores higher = bona fide
            out["min_tdcf"] = min_tdcf_from_weights(-real, -fake, tdcf["c0"], tdcf["c1"], tdcf["c2"])
        except ValueError as exc:
            out["tdcf_asv"] += f"; not computed: {exc}"
    out["errors"] = sum(r["status"] == "error" for r in rows)
    out["n/a"] = sum(r["status"] == "not_applicable" for r in rows)
    out["no_score"] = sum(r.get("score") is None for r in rows)
    return out


def generator(item: Item) -> str | None:
    value = item.attrs.get("generator")
    return None if value in (None, "") else str(value)


def generator_rows(items: list[Item], rows: list[dict[str, Any]], threshold: float) -> list[dict[str, Any]]:
    """One row per generator of the fake items (GENERATOR_COLUMNS less perturbation/detector)."""
    y = np.array([it.y for it in items], dtype=np.int64)
    s = row_scores(rows)
    names = [generator(it) if it.y == 1 else None for it in items]
    out = []
    for name in sorted({n for n in names if n is not None}):
        member = np.array([n == name for n in names])
        pick = member | (y == 0)
        e, a = _eer_auc(y[pick], s[pick])
        out.append({"generator": name, "n_fake": int(member.sum()), "n_real": int((y == 0).sum()), "eer": e,
                    "auc": a, "detected": _flagged(s[member], threshold)})
    return out


def _proposals(row: dict[str, Any]) -> np.ndarray:
    """[score, start, end] rows of a cached result's segments; none for a failed result."""
    segs = parse_segments(row.get("segments")) if row.get("status") == "ok" else None
    if not segs:
        return np.zeros((0, 3))
    return np.array([[score, start, end] for start, end, score in segs], dtype=np.float64)


def temporal_row(items: list[Item], rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One line of the temporal table (TEMPORAL_COLUMNS less perturbation/detector/missing); None without any
    ground-truth segment among the items. `rows[i]` is items[i]'s cached result."""
    gts: dict[str, np.ndarray] = {}
    preds: dict[str, np.ndarray] = {}
    real_hit, fake_hit, no_result, unlabelled = [], [], 0, 0
    for i, (item, row) in enumerate(zip(items, rows, strict=True)):
        if item.segments:
            gt = np.asarray(item.segments, dtype=np.float64).reshape(-1, 2)
        elif item.label == "real":
            gt = np.zeros((0, 2))
        else:
            unlabelled += 1
            continue
        gts[str(i)] = gt
        preds[str(i)] = _proposals(row)
        no_result += row.get("status") != "ok"
        (fake_hit if gt.shape[0] else real_hit).append(preds[str(i)].shape[0] > 0)
    n_gt = sum(g.shape[0] for g in gts.values())
    if n_gt == 0:
        return None
    ap = activitynet_ap(preds, gts, TIOU)
    return {"n": len(gts), "n_fake": len(fake_hit), "n_real": len(real_hit), "n_gt": n_gt,
            "proposals": sum(p.shape[0] for p in preds.values()), "ap@0.5": ap[0.5], "ap@0.75": ap[0.75],
            "map": activitynet_map(preds, gts), "real_flagged": float(np.mean(real_hit)) if real_hit else None,
            "fake_flagged": float(np.mean(fake_hit)) if fake_hit else None, "no_result": int(no_result),
            "fake_unlabelled": unlabelled}

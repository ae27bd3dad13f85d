"""Metric families beyond binary/localization (calibration, video, temporal, audio t-DCF, grounding, text).

Every expected number is worked out by hand in the comment beside it (METRICS.md M.x numbers); loop-based
re-statements of the reference recipes check the vectorised code on random tied data, and scikit-learn is
used only when it happens to be installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from unmask.metrics import ece
from unmask.metrics.audio import asv_rates, min_tdcf, min_tdcf_from_weights, tdcf_weights
from unmask.metrics.calibration import reliability_curve
from unmask.metrics.grounding import (
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
from unmask.metrics.temporal import (
    ACTIVITYNET_THRESHOLDS,
    activitynet_ap,
    activitynet_map,
    iou_1d,
    lavdf_ap,
    lavdf_ar,
)
from unmask.metrics.text import fake_news_metrics, hard_labels, partial_auc, per_domain_metrics
from unmask.metrics.video import frame_accuracy, video_key, video_level, video_summary

# ------------------------------------------------------------------------------------------- calibration


def test_reliability_curve_hand_case_matches_ece():
    # 15 bins: .1 -> floor(1.5) = bin 1, .9 -> floor(13.5) = bin 13.
    rc = reliability_curve([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9])
    assert rc.count.tolist() == [0, 2] + [0] * 11 + [2, 0]
    assert rc.mean_confidence[1] == pytest.approx(0.1) and rc.fake_rate[1] == pytest.approx(0.5)
    assert rc.mean_confidence[13] == pytest.approx(0.9) and rc.fake_rate[13] == pytest.approx(1.0)
    assert np.isnan(rc.fake_rate[0]) and np.isnan(rc.mean_confidence[14])
    assert rc.ece == pytest.approx(0.25) == ece([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9])
    rows = rc.to_rows()
    assert len(rows) == 15 and rows[0]["fake_rate"] is None and rows[1]["count"] == 2
    assert rows[14]["hi"] == 1.0 and rows[1]["lo"] == pytest.approx(1 / 15)


def test_reliability_bin_edges_are_left_closed_last_closed():
    # bins=2: [0, .5) and [.5, 1]; 1/15 lands in bin 1 of 15 (1/15 * 15 == 1.0 exactly).
    rc = reliability_curve([0, 0, 1, 1], [0.0, 0.4999, 0.5, 1.0], bins=2)
    assert rc.count.tolist() == [2, 2]
    assert rc.fake_rate.tolist() == [0.0, 1.0]
    assert reliability_curve([1], [1 / 15]).count[1] == 1


def test_reliability_agrees_with_ece_on_random_data_and_rejects_bad_input():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.25), 0, 1)
    rc = reliability_curve(y, p)
    assert rc.n == 500 and rc.ece == pytest.approx(ece(y, p), abs=1e-12)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability_curve([0, 1], [0.2, 1.2])
    with pytest.raises(ValueError, match="bins"):
        reliability_curve([0, 1], [0.2, 0.8], bins=0)


# ------------------------------------------------------------------------------------------------ video


def test_video_key_keeps_the_full_parent_path():
    assert video_key("ds/fake/vid01/0001.png") == "ds/fake/vid01"
    assert video_key("C:\\data\\real\\vid7\\f3.png") == "C:\\data\\real\\vid7"
    # DeepfakeBench's parts[-2] would merge these two videos (both "000").
    assert video_key("ff/fake/000/1.png") != video_key("celeb/fake/000/1.png")
    with pytest.raises(ValueError):
        video_key("frame.png")


def test_video_level_mean_score_and_floor_of_mean_label():
    keys = ["v1", "v1", "v2", "v2", "v3"]
    names, score, label = video_level(keys, [0.2, 0.4, 0.9, 0.7, 0.6], [1, 0, 1, 1, 0])
    assert names == ["v1", "v2", "v3"]
    np.testing.assert_allclose(score, [0.3, 0.8, 0.6])
    assert label.tolist() == [0, 1, 0]  # v1 is half fake: int(0.5) = 0
    out = video_summary(keys, [0.2, 0.4, 0.9, 0.7, 0.6], [1, 0, 1, 1, 0])
    assert out["video_auc"] == pytest.approx(1.0)  # fake .8 above reals .3 and .6
    # Frame AUC: fakes .2 .9 .7 vs reals .4 .6 -> wins 0 + 2 + 2 of 6.
    assert out["frame_auc"] == pytest.approx(4 / 6)
    assert (out["n_frames"], out["n_videos"], out["n_fake_videos"]) == (5, 3, 1)
    with pytest.raises(ValueError, match="video keys"):
        video_level(["v1"], [0.2, 0.3], [0, 1])


def test_frame_accuracy_is_strict():
    # p = .5 is real under DeepfakeBench's p > .5: predictions 0 0 1 -> all right (>= would give 2/3).
    assert frame_accuracy([0, 0, 1], [0.5, 0.2, 0.9]) == pytest.approx(1.0)
    assert video_summary(["a", "b", "c"], [0.5, 0.2, 0.9], [0, 0, 1])["frame_acc"] == pytest.approx(1.0)


def test_video_summary_single_class_gives_none():
    out = video_summary(["a", "a", "b"], [0.7, 0.2, 0.9], [1, 0, 0])  # videos a (label 0) and b (0)
    assert out["video_auc"] is None and out["frame_auc"] == pytest.approx(0.5)
    only_real = video_summary(["a"], [0.3], [0])
    assert only_real["frame_auc"] is None and only_real["frame_ap"] is None and only_real["frame_eer"] is None


# --------------------------------------------------------------------------------------------- temporal


def test_iou_1d_hand_cases():
    iou = iou_1d([[0, 2], [0, 1], [0, 4], [5, 5]], [[1, 3], [2, 3], [1, 2], [5, 5]])
    assert iou[0, 0] == pytest.approx(1 / 3)  # overlap 1, hull 3
    assert iou[1, 1] == 0.0  # disjoint
    assert iou[2, 2] == pytest.approx(1 / 4)  # contained
    assert iou[3, 3] == 0.0  # identical zero-length segments: 0, not 0/0
    assert iou.shape == (4, 4) and iou_1d(np.zeros((0, 2)), [[0, 1]]).shape == (0, 1)


# Video A: GT [0, 10]; proposals .9 [0, 10] (TP) and .8 [0, 10] (duplicate, FP). B: real, .75 (FP).
# C: GT [20, 30]; proposal .7 [20, 29], IoU exactly 9/10.
PROPS = {"A": [[0.9, 0, 10], [0.8, 0, 10]], "B": [[0.75, 0, 5]], "C": [[0.7, 20, 29]]}
SEGS = {"A": [[0, 10]], "B": [], "C": [[20, 30]]}


def test_lavdf_ap_hand_case_and_parity_quirk():
    # Ranked TP F F TP, N_gt 2: precision 1 .5 1/3 .5, recall .5 .5 .5 1, running max from the right
    # 1 .5 .5 .5 -> AP = .5 * 1 + .5 * .5 = .75; the reference drops the first step: .25.
    assert lavdf_ap(PROPS, SEGS, [0.5])[0.5] == pytest.approx(0.75)
    assert lavdf_ap(PROPS, SEGS, [0.5], parity=True)[0.5] == pytest.approx(0.25)
    # tau .9 is strict: C's IoU .9 is not > .9 -> only A's TP, first of 4 -> AP .5 (parity: 0).
    ap = lavdf_ap(PROPS, SEGS, [0.89, 0.9, 0.95])
    assert ap == pytest.approx({0.89: 0.75, 0.9: 0.5, 0.95: 0.5})
    assert lavdf_ap(PROPS, SEGS, [0.9], parity=True)[0.9] == pytest.approx(0.0)


def test_lavdf_ap_matching_is_greedy_in_gt_order_unlike_activitynet():
    # GT1 [0, 10], GT2 [5, 15]; P1 (.9) [4, 14]: IoU 6/14 with GT1, 9/11 with GT2; P2 (.8) [0, 10]: 1 and 1/3.
    props, segs = {"v": [[0.9, 4, 14], [0.8, 0, 10]]}, {"v": [[0, 10], [5, 15]]}
    # tau .4: GT1 takes P1 (first with IoU > .4), GT2 finds no free proposal -> TP F -> AP = .5 * 1.
    assert lavdf_ap(props, segs, [0.4])[0.4] == pytest.approx(0.5)
    # ActivityNet: P1 takes its best GT (GT2), P2 then GT1 -> both TP -> AP 1.
    assert activitynet_ap(props, segs, [0.4])[0.4] == pytest.approx(1.0)
    # List order decides when not sorted first: P2 before P1 -> GT1 takes P2, GT2 takes P1 (rank 2).
    swapped = {"v": [[0.8, 0, 10], [0.9, 4, 14]]}
    assert lavdf_ap(swapped, segs, [0.4])[0.4] == pytest.approx(0.5)
    assert lavdf_ap(swapped, segs, [0.4], sort=False)[0.4] == pytest.approx(1.0)


def test_lavdf_ap_fps_and_errors():
    # LAV-DF proposals in frames at 25 fps: [0, 250] frames = [0, 10] s.
    assert lavdf_ap({"v": [[0.9, 0, 250]]}, {"v": [[0, 10]]}, [0.95], fps=25)[0.95] == pytest.approx(1.0)
    with pytest.raises(KeyError, match="no proposals"):
        lavdf_ap({}, {"v": [[0, 10]]})
    with pytest.raises(ValueError, match="ground-truth"):
        lavdf_ap({"v": [[0.9, 0, 1]]}, {"v": []})
    assert lavdf_ap({"v": []}, {"v": [[0, 10]]}, [0.5])[0.5] == 0.0


def _lavdf_ap_reference_curve(props, segs, tau):
    """M.16 restated literally: per-GT first free match, stable global sort, (1, 0) + reversed curve."""
    values, n_gt = [], 0
    for v, gts in segs.items():
        rows = sorted(props[v], key=lambda r: -r[0])
        used = []
        for g in gts:
            for j, r in enumerate(rows):
                if iou_1d([r[1:]], [g])[0, 0] > tau and j not in used:
                    used.append(j)
                    break
        values += [(r[0], j in used) for j, r in enumerate(rows)]
        n_gt += len(gts)
    values.sort(key=lambda t: -t[0])
    hits = np.cumsum([t[1] for t in values])
    curve = [(1.0, 0.0), *[(h / n_gt, h / (i + 1)) for i, h in enumerate(hits)][::-1]]
    x, y = np.array(curve).T
    return float(np.sum(np.abs(np.diff(x)) * np.maximum.accumulate(y)[:-1]))


def test_lavdf_ap_parity_matches_reference_curve_on_random_videos():
    rng = np.random.default_rng(9)
    for _ in range(10):
        props, segs = {}, {}
        for v in range(8):
            st = np.round(rng.uniform(0, 20, rng.integers(0, 3)))
            segs[v] = [[s, s + rng.integers(1, 6)] for s in st]
            st = np.round(rng.uniform(0, 20, rng.integers(0, 6)))
            props[v] = [[round(rng.uniform(), 1), s, s + rng.integers(1, 6)] for s in st]
        if not any(segs.values()):
            continue
        for tau in (0.3, 0.5, 0.7):
            want = _lavdf_ap_reference_curve(props, segs, tau)
            assert lavdf_ap(props, segs, [tau], parity=True)[tau] == pytest.approx(want, abs=1e-12)


# A: GT [0, 10], proposals by score: [20, 30] (IoU 0), [0, 9] (.9), [0, 10] (1). B: GT [0, 10], no proposals.
# C: real video with one proposal.
AR_PROPS = {"A": [[0.9, 20, 30], [0.8, 0, 9], [0.7, 0, 10]], "B": [], "C": [[0.5, 0, 1]]}
AR_SEGS = {"A": [[0, 10]], "B": [[0, 10]], "C": []}


def test_lavdf_ar_hand_case_and_zero_proposal_quirk():
    # N=1: best IoU 0 -> no TP. N=2: best .9 > tau for the 8 taus .50-.85 (not .90, .95: strict). N=5 is
    # clamped to 3: IoU 1 > every tau. B's GT is a miss: recall per tau = TP / 2.
    ar = lavdf_ar(AR_PROPS, AR_SEGS, n_proposals=(1, 2, 5))
    assert ar == pytest.approx({1: 0.0, 2: 8 * 0.5 / 10, 5: 0.5})
    # The Rust reference ignores B (no proposals): TP / 1.
    quirk = lavdf_ar(AR_PROPS, AR_SEGS, n_proposals=(1, 2, 5), parity=True)
    assert quirk == pytest.approx({1: 0.0, 2: 0.8, 5: 1.0})
    # With only proposal-less GT videos the quirk leaves 0 / 0, which the reference reports as 0.
    assert lavdf_ar({"B": []}, {"B": [[0, 10]]}, n_proposals=(10,), parity=True) == {10: 0.0}
    with pytest.raises(ValueError, match=">= 1"):
        lavdf_ar(AR_PROPS, AR_SEGS, n_proposals=(0,))


def _lavdf_ar_loop(props, segs, n, taus, parity):
    """M.17 restated one GT and one threshold at a time."""
    tp = np.zeros(len(taus))
    fn = np.zeros(len(taus))
    for v, gts in segs.items():
        rows = sorted(props[v], key=lambda r: -r[0])[:n]
        if not rows and parity:
            continue
        for g in gts:
            best = max((iou_1d([r[1:]], [g])[0, 0] for r in rows), default=0.0)
            for k, tau in enumerate(taus):
                tp[k] += best > tau
                fn[k] += best <= tau
    return float(np.mean(tp / (tp + fn)))


def test_lavdf_ar_matches_loop_on_random_videos():
    rng = np.random.default_rng(5)
    taus = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
    for _ in range(10):
        props, segs = {}, {}
        for v in range(8):
            starts = np.round(rng.uniform(0, 20, rng.integers(0, 3)))
            segs[v] = [[s, s + rng.integers(1, 6)] for s in starts]
            k = rng.integers(0, 6)
            st = np.round(rng.uniform(0, 20, k))
            props[v] = [[round(rng.uniform(), 1), s, s + rng.integers(1, 6)] for s in st]
        if not any(segs.values()):
            continue
        for parity in (False, True):
            got = lavdf_ar(props, segs, n_proposals=(3,), parity=parity)[3]
            want = _lavdf_ar_loop(props, segs, 3, taus, parity)
            assert got == pytest.approx(want, nan_ok=True) or (np.isnan(want) and got == 0.0)


# ActivityNet case. GT: v1 [0, 10]; v2 [0, 10], [20, 30]. Predictions by score: .9 v1 [0, 10] TP,
# .8 v2 [20, 30] TP, .7 v3 (no GT) FP, .6 v1 duplicate (GT locked) FP, .5 v2 [0, 4] (tIoU .4 with [0, 10]).
AN_PRED = {"v1": [[0.9, 0, 10], [0.6, 0, 10]], "v2": [[0.8, 20, 30], [0.5, 0, 4]], "v3": [[0.7, 0, 10]]}
AN_SEGS = {"v1": [[0, 10]], "v2": [[0, 10], [20, 30]]}


def test_activitynet_ap_hand_case_inclusive_threshold():
    # tau .5: T T F F F, npos 3: precision 1 1 2/3 .5 .4, recall 1/3 2/3 ...; VOC: 1/3 + 1/3 = 2/3.
    # tau .4: the last one matches (.4 >= .4): recall reaches 1 at precision .6 -> 1/3 + 1/3 + 1/3 * .6.
    ap = activitynet_ap(AN_PRED, AN_SEGS, [0.4, 0.5])
    assert ap == pytest.approx({0.4: 13 / 15, 0.5: 2 / 3})
    assert activitynet_map(AN_PRED, AN_SEGS, [0.4, 0.5]) == pytest.approx((13 / 15 + 2 / 3) / 2)
    # tIoU exactly tau is a match here (>=) but not for LAV-DF (>): [0, 5] vs [0, 10] is .5.
    one, gt = {"v": [[0.9, 0, 5]]}, {"v": [[0, 10]]}
    assert activitynet_ap(one, gt, [0.5])[0.5] == pytest.approx(1.0)
    assert lavdf_ap(one, gt, [0.5])[0.5] == pytest.approx(0.0)


def test_activitynet_ties_and_defaults():
    # Equal scores: the reference's argsort()[::-1] puts the last-listed first: v2's FP, then v1's TP
    # -> precision 0, .5 at recall 0, 1 -> AP .5; listing v2 first gives TP first -> 1.
    gt = {"v1": [[0, 10]]}
    assert activitynet_ap({"v1": [[0.5, 0, 10]], "v2": [[0.5, 0, 10]]}, gt, [0.5])[0.5] == pytest.approx(0.5)
    assert activitynet_ap({"v2": [[0.5, 0, 10]], "v1": [[0.5, 0, 10]]}, gt, [0.5])[0.5] == pytest.approx(1.0)
    assert tuple(np.linspace(0.5, 0.95, 10)) == ACTIVITYNET_THRESHOLDS  # 0.9 is 0.8999999999999999
    assert activitynet_ap({}, gt) == {t: 0.0 for t in ACTIVITYNET_THRESHOLDS}
    with pytest.raises(ValueError, match="ground-truth"):
        activitynet_ap({"v": [[0.5, 0, 1]]}, {"v": []})


def _activitynet_loop(pred, segs, tau):
    """M.18 restated: global order, best-tIoU unlocked GT with tIoU >= tau, VOC interpolation by loops."""
    rows = [(r[0], v, r[1], r[2]) for v, rs in pred.items() for r in rs]
    order = np.argsort([r[0] for r in rows], kind="stable")[::-1]
    locked, flags = set(), []
    for i in order:
        _, v, s, e = rows[i]
        gts = segs.get(v, [])
        ious = [iou_1d([[s, e]], [g])[0, 0] for g in gts]
        hit = False
        for j in np.argsort(ious, kind="stable")[::-1]:
            if ious[j] < tau:
                break
            if (v, j) not in locked:
                locked.add((v, j))
                hit = True
                break
        flags.append(hit)
    npos = sum(len(g) for g in segs.values())
    tp = np.cumsum(flags)
    prec, rec = list(tp / np.arange(1, len(flags) + 1)), list(tp / npos)
    mprec, mrec = [0.0, *prec, 0.0], [0.0, *rec, 1.0]
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    return sum((mrec[i] - mrec[i - 1]) * mprec[i] for i in range(1, len(mrec)) if mrec[i] != mrec[i - 1])


def test_activitynet_matches_loop_on_random_videos_with_ties():
    rng = np.random.default_rng(6)
    for _ in range(10):
        pred, segs = {}, {}
        for v in range(6):
            st = np.round(rng.uniform(0, 20, rng.integers(0, 3)))
            if st.size:
                segs[v] = [[s, s + rng.integers(1, 6)] for s in st]
            st = np.round(rng.uniform(0, 20, rng.integers(0, 5)))
            pred[v] = [[round(rng.uniform(), 1), s, s + rng.integers(1, 6)] for s in st]
        if not segs:
            continue
        for tau in (0.3, 0.5, 0.7):
            assert activitynet_ap(pred, segs, [tau])[tau] == pytest.approx(_activitynet_loop(pred, segs, tau))


# ------------------------------------------------------------------------------------------------ audio

# ASV: targets 2, 3; non-targets 0, 1; spoofs .5, 2.5. CM (higher = bona fide): bona fide 3, 1; spoof 2, 0.
ASV = ([2.0, 3.0], [0.0, 1.0], [0.5, 2.5])
CM = ([3.0, 1.0], [2.0, 0.0])


def test_asv_rates_at_the_eer_threshold():
    # M.4 on targets vs non-targets: labels 0 0 1 1 -> index 2 -> threshold = 2nd sorted score = 1.
    r = asv_rates(*ASV)
    assert r.threshold == 1.0
    assert (r.pfa, r.pmiss, r.pmiss_spoof, r.pfa_spoof) == pytest.approx((0.5, 0.0, 0.5, 0.5))


def test_min_tdcf_hand_case_2019_and_2021():
    # Ptar = .9405, Pnon = .0095. C1 = .9405 - .0095 * 10 * .5 = .893; C2 = 10 * .05 * .5 = .25.
    # CM points (Pmiss, Pfa): (0, 1) (0, .5) (.5, .5) (.5, 0) (1, 0). 2019: min (C1 Pmiss + C2 Pfa) /
    # min(C1, C2) = .125 / .25 at (0, .5).
    assert tdcf_weights(asv_rates(*ASV), "2019") == pytest.approx((0.0, 0.893, 0.25))
    assert min_tdcf(*CM, *ASV, version="2019") == pytest.approx(0.5)
    # 2021: C0 = .9405 * 0 + .0095 * 10 * .5 = .0475; (C0 + .125) / (C0 + .25).
    assert tdcf_weights(asv_rates(*ASV), "2021") == pytest.approx((0.0475, 0.893, 0.25))
    assert min_tdcf(*CM, *ASV, version="2021") == pytest.approx(0.1725 / 0.2975)
    assert min_tdcf_from_weights(*CM, 0.0, 0.893, 0.25) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="version"):
        tdcf_weights(asv_rates(*ASV), "2017")


def test_min_tdcf_aborts_like_the_reference():
    with pytest.raises(ValueError, match="soft CM scores"):
        min_tdcf([1.0, 1.0], [0.0, 0.0], *ASV)
    with pytest.raises(ValueError, match="NaN"):
        min_tdcf([1.0, np.nan], [0.0, 2.0], *ASV)
    with pytest.raises(ValueError, match="spoof_asv"):
        min_tdcf(*CM, [2.0, 3.0], [0.0, 1.0], [])
    # Ten targets all below ten non-targets: EER threshold 9 -> Pmiss .9, Pfa 1 -> C1 = .09405 - .095 < 0.
    bad_asv = (np.arange(10.0), np.arange(10.0) + 100, [0.5])
    for version in ("2019", "2021"):
        with pytest.raises(ValueError, match=">= 0"):
            min_tdcf(*CM, *bad_asv, version=version)
    with pytest.raises(ValueError, match="normalisation"):
        min_tdcf_from_weights(*CM, 0.0, 0.5, 0.0)


def test_min_tdcf_swap_check_warns():
    with pytest.warns(UserWarning, match="swapped"):
        min_tdcf([0.0, 1.0], [2.0, 3.0], *ASV, check_swap=True)


def _tdcf_loop(bona, spoof, c0, c1, c2):
    """M.6/M.7 by the reference's DET walk: stable ascending sort, bona fide first on ties, every trial."""
    scores = np.r_[bona, spoof]
    labels = np.r_[np.ones(len(bona)), np.zeros(len(spoof))][np.argsort(scores, kind="stable")]
    best = np.inf
    for k in range(len(scores) + 1):
        pmiss = labels[:k].sum() / len(bona)
        pfa = (len(spoof) - (k - labels[:k].sum())) / len(spoof)
        best = min(best, (c0 + c1 * pmiss + c2 * pfa) / (c0 + min(c1, c2)))
    return best


def test_min_tdcf_matches_full_det_walk_with_ties():
    rng = np.random.default_rng(7)
    for _ in range(20):
        bona = np.round(rng.normal(1.0, 1.0, rng.integers(3, 30)), 1)
        spoof = np.round(rng.normal(0.0, 1.0, rng.integers(3, 30)), 1)
        for weights in ((0.0, 0.893, 0.25), (0.0475, 0.893, 0.25), (0.01, 0.2, 0.9)):
            got = min_tdcf_from_weights(bona, spoof, *weights)
            assert got == pytest.approx(_tdcf_loop(bona, spoof, *weights), abs=1e-12)


# -------------------------------------------------------------------------------------------- grounding


def test_dgm4_targets():
    t = dgm4_targets(["orig", "face_swap", "face_attribute&text_swap", "text_attribute"])
    assert t.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]]
    with pytest.raises(ValueError, match="unknown"):
        dgm4_targets(["face_morph"])


def test_multilabel_map_hand_case_and_ties():
    # Class 0: positives at ranks 1 and 3 -> (1/1 + 2/3) / 2. Class 1: positive at rank 2 -> 1/2.
    logits = np.array([[0.9, 0.1], [0.8, 0.7], [0.7, 0.2], [0.6, 0.9]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    out = multilabel_map(logits, targets)
    assert out["ap"] == pytest.approx([5 / 6, 1 / 2])
    assert out["map"] == pytest.approx((5 / 6 + 1 / 2) / 2)
    # Ties in input order: the positive listed second ranks second.
    assert multilabel_map([[0.5], [0.5]], [[0], [1]])["ap"] == pytest.approx([0.5])
    assert multilabel_map([[0.5], [0.5]], [[1], [0]])["ap"] == pytest.approx([1.0])
    with pytest.raises(ValueError, match="without positive"):
        multilabel_map([[0.5], [0.2]], [[0], [0]])


# Class 0: logits 0 1 2 (all predicted, logit 0 included), one positive -> Np 3, Nc 1, Ng 1.
# Class 1: logits 5 -1 -.5 -> Np 1; targets 1 1 0 -> Nc 1, Ng 2.
ML_LOGITS = np.array([[0.0, 5.0], [1.0, -1.0], [2.0, -0.5]])
ML_TARGETS = np.array([[1, 1], [0, 1], [0, 0]])


def test_multilabel_overall_hand_case():
    out = multilabel_overall(ML_LOGITS, ML_TARGETS)
    # OP = 2/4, OR = 2/3, OF1 = 4/7. CP = (1/3 + 1)/2, CR = (1 + 1/2)/2, CF1 = 2 CP CR/(CP + CR) = 12/17,
    # not the mean of per-class F1 (.5 and 2/3 -> 7/12).
    want = {"OP": 0.5, "OR": 2 / 3, "OF1": 4 / 7, "CP": 2 / 3, "CR": 0.75, "CF1": 12 / 17}
    assert out == pytest.approx(want)
    f1 = per_type_f1(ML_LOGITS, ML_TARGETS, names=("A", "B"))
    assert f1 == pytest.approx({"F1_A": 0.5, "F1_B": 2 / 3})


def test_multilabel_degenerate_classes():
    # Class 1 never predicted: Np floored to 1 -> CP term 0 (not NaN); its F1 is NaN (TP = 0).
    # Class 2 has no positive: CR is NaN.
    logits = np.array([[1.0, -1.0, 1.0], [-1.0, -2.0, -1.0]])
    targets = np.array([[1, 1, 0], [0, 0, 0]])
    out = multilabel_overall(logits, targets)
    assert out["CP"] == pytest.approx((1 + 0 + 0) / 3) and np.isnan(out["CR"])
    # The floor also enters OP: Nc 1 + 0 + 0 over Np 1 + 1 (floored) + 1.
    assert out["OP"] == pytest.approx(1 / 3) and out["OR"] == pytest.approx(1 / 2)
    f1 = per_type_f1(logits, targets, names=("a", "b", "c"))
    assert f1["F1_a"] == pytest.approx(1.0) and np.isnan(f1["F1_b"]) and np.isnan(f1["F1_c"])
    with pytest.raises(ValueError, match="names"):
        per_type_f1(logits, targets)


def test_hammer_gt_box_truncates_like_get_bbox():
    # x0 10.7 -> 10, y0 20.2 -> 20, w = int(40.2) = 40, h = int(39.9) = 39 (int(y1) - int(y0) would be 40).
    box = hammer_gt_box([10.7, 20.2, 50.9, 60.1], width=100, height=200)
    np.testing.assert_allclose(box, [0.3, 39.5 / 200, 0.4, 39 / 200])
    assert hammer_gt_box(None, 100, 100).tolist() == [0, 0, 0, 0] == hammer_gt_box([], 100, 100).tolist()


def test_box_iou_and_zero_gt_rule():
    pred = np.array([[0.5, 0.5, 0.5, 0.5]] * 3 + [[0, 0, 0, 0], [0.5, 0.5, 0, 0], [0, 0, 0, 0]])
    gt = np.array([
        [0.5, 0.5, 0.5, 0.5],  # identical -> 1
        [0.75, 0.5, 0.5, 0.5],  # xyxy .5 .25 1 .75: inter .125, union .375 -> 1/3
        [0, 0, 0, 0],  # missing box, real prediction -> 0
        [0, 0, 0, 0],  # missing box, all-zero prediction -> 1 (rule)
        [0, 0, 0, 0],  # missing box, zero-area prediction elsewhere -> 0 / 0
        [0.25, 0.5, 0.5, 0.5],  # x0 = 0 exactly: the reference's x0-only test also fires -> 1
    ])
    iou = box_iou(pred, gt)
    np.testing.assert_allclose(iou[:4], [1.0, 1 / 3, 0.0, 1.0])
    assert np.isnan(iou[4]) and iou[5] == 1.0
    tiny = box_iou([[2e-5, 2e-5, 2e-5, 2e-5]], [[0, 0, 0, 0]])  # every xyxy coordinate < 1e-4
    assert tiny[0] == 1.0


def test_grounding_iou_is_strict_and_over_all_samples():
    # IoUs 1 (zero-GT rule), .5 exactly (GT half of the prediction), 1/3, 0.
    pred = [[0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]
    gt = [[0, 0, 0, 0], [0.5, 0.5, 0.5, 0.25], [0.75, 0.5, 0.5, 0.5], [0, 0, 0, 0]]
    out = grounding_iou(pred, gt)
    assert out["iou_mean"] == pytest.approx((1 + 0.5 + 1 / 3 + 0) / 4)
    assert (out["iou50"], out["iou75"], out["iou95"], out["n"]) == (0.25, 0.25, 0.25, 4)  # .5 is not > .5


def test_token_metrics_pooled_over_tokens():
    # Sample 1: TP TN FP FN once each. Pristine sample 2: TN TN FP (+ two padding tokens, skipped).
    # Sample 3 as logits: [2, 1] -> 0 and a tie [0, 0] -> 0 (first index): TN and FN.
    gt = [[0, 1, 1, 0], [0, 0, 0, -100, -100], [0, 1]]
    pred = [[0, 1, 0, 1], [0, 0, 1, 1, 0], np.array([[2.0, 1.0], [0.0, 0.0]])]
    out = token_metrics(gt, pred)
    assert (out["tp"], out["tn"], out["fp"], out["fn"]) == (1, 4, 2, 2)
    assert out["acc"] == pytest.approx(5 / 9)
    assert out["precision"] == pytest.approx(1 / 3) and out["recall"] == pytest.approx(1 / 3)
    assert out["f1"] == pytest.approx(1 / 3)
    assert np.isnan(token_metrics([[0, 0]], [[0, 0]])["precision"])
    with pytest.raises(ValueError, match="differ"):
        token_metrics([[0, 1]], [[0]])


def test_token_labels_from_word_ids():
    # Word 1 is split into two sub-word tokens; both are fake. Positions >= max_words are dropped.
    word_ids = [0, 1, 1, 2, None, 3]
    assert token_labels_from_word_ids(word_ids, [1, 3, 31]).tolist() == [0, 1, 1, 0, 0, 1]
    assert token_labels_from_word_ids(word_ids, [1, 3], max_words=3).tolist() == [0, 1, 1, 0, 0, 0]


# ------------------------------------------------------------------------------------------------- text


def test_hard_labels_round_half_to_even():
    assert hard_labels([0.5, 0.49, 0.51, 1.0, 0.0]).tolist() == [0, 0, 1, 1, 0]


def test_fake_news_metrics_hand_case():
    # Hard labels 0 0 1 0. Real: TP 2 of 3 predicted, 2 true -> P 2/3 R 1 F1 .8. Fake: P 1 R .5 F1 2/3.
    out = fake_news_metrics([0, 0, 1, 1], [0.1, 0.5, 0.6, 0.4])
    assert out["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert (out["f1_real"], out["f1_fake"]) == pytest.approx((0.8, 2 / 3))
    assert out["precision"] == pytest.approx(5 / 6) and out["recall"] == pytest.approx(0.75)
    assert out["acc"] == pytest.approx(0.75)
    assert out["auc"] == pytest.approx(0.75)  # fakes .6 .4 vs reals .1 .5: 3 of 4 pairs
    # ROC (0,0) (0,.5) (.5,.5) (.5,1) (1,1); cut at FPR .1: area .05 -> .5 (1 + (.05 - .005) / (.1 - .005)).
    assert out["spauc"] == pytest.approx(14 / 19)
    assert (out["n"], out["n_real"], out["n_fake"]) == (4, 2, 2)


def test_macro_averages_only_labels_present():
    # All real, all predicted real: only label 0 is present -> macro F1 = 1; fake's F1 undefined (None).
    out = fake_news_metrics([0, 0, 0], [0.1, 0.2, 0.5])
    assert out["macro_f1"] == pytest.approx(1.0) and out["f1_fake"] is None
    assert out["auc"] is None and out["spauc"] is None
    # One false alarm brings label 1 in: F1 real = 2*2 / (2 + 3) = .8, F1 fake = 0 -> macro .4.
    out = fake_news_metrics([0, 0, 0], [0.1, 0.2, 0.7])
    assert out["macro_f1"] == pytest.approx(0.4) and out["f1_fake"] == 0.0
    assert out["precision"] == pytest.approx((2 / 2 + 0) / 2)
    assert out["recall"] == pytest.approx((2 / 3 + 0) / 2)
    # A fake never predicted: its precision 0 / 0 counts 0 (sklearn's default), so macro P = (2/3 + 0) / 2.
    out = fake_news_metrics([0, 0, 1], [0.1, 0.2, 0.3])
    assert out["precision"] == pytest.approx(1 / 3) and out["precision_fake"] == 0.0
    assert out["macro_f1"] == pytest.approx((0.8 + 0) / 2)


def test_partial_auc_mcclish():
    y, s = [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]
    assert partial_auc(y, s, 0.1) == pytest.approx(1.0)
    assert partial_auc([0, 1, 0, 1], [0.5] * 4, 0.1) == pytest.approx(0.5)  # chance -> .5 after correction
    assert partial_auc([0, 0, 1, 1], [0.1, 0.5, 0.6, 0.4], 1.0) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="max_fpr"):
        partial_auc(y, s, 0.0)
    with pytest.raises(ValueError, match="only one class"):
        partial_auc([1, 1], [0.2, 0.3])


def test_per_domain_support_and_single_class_auc():
    y = [0, 0, 1, 1, 1]
    p = [0.1, 0.5, 0.6, 0.4, 0.9]
    out = per_domain_metrics(y, p, ["politics", "politics", "politics", "politics", "health"])
    assert list(out) == ["politics", "health"]
    pol, health = out["politics"], out["health"]
    assert (pol["n"], pol["n_real"], pol["n_fake"]) == (4, 2, 2) and pol["auc"] == pytest.approx(0.75)
    assert pol["macro_f1"] == pytest.approx((0.8 + 2 / 3) / 2)
    assert (health["n"], health["n_fake"]) == (1, 1) and health["auc"] is None and health["spauc"] is None
    assert health["macro_f1"] == pytest.approx(1.0) and health["acc"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="domain ids"):
        per_domain_metrics(y, p, ["a"])


def test_text_against_sklearn_when_installed():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(8)
    for _ in range(50):
        n = int(rng.integers(4, 80))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        p = np.clip(np.round(rng.normal(0.3 + 0.4 * y, 0.3), 1), 0, 1)  # ties, and p = .5 exactly
        out, hard = fake_news_metrics(y, p), np.around(p).astype(int)
        assert out["macro_f1"] == pytest.approx(metrics.f1_score(y, hard, average="macro"), abs=1e-12)
        assert out["precision"] == pytest.approx(
            metrics.precision_score(y, hard, average="macro", zero_division=0), abs=1e-12
        )
        assert out["auc"] == pytest.approx(metrics.roc_auc_score(y, p), abs=1e-12)
        assert out["spauc"] == pytest.approx(metrics.roc_auc_score(y, p, max_fpr=0.1), abs=1e-12)
        assert partial_auc(y, p, 0.3) == pytest.approx(metrics.roc_auc_score(y, p, max_fpr=0.3), abs=1e-12)


def test_families_are_re_exported_from_the_package():
    import unmask.metrics as m

    for name in ("reliability_curve", "video_summary", "lavdf_ap", "lavdf_ar", "activitynet_map", "min_tdcf",
                 "multilabel_overall", "grounding_iou", "token_metrics", "fake_news_metrics", "partial_auc"):
        assert name in m.__all__ and callable(getattr(m, name))

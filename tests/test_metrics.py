"""unmask.metrics against hand-worked answers (and scikit-learn / scipy only when they happen to be installed)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from unmask.metrics import (
    LocalizationAccumulator,
    accuracy_at,
    asvspoof_eer,
    average_precision,
    balanced_accuracy_at,
    binarize_mask,
    binary_summary,
    brier,
    ece,
    eer,
    localization_scores,
    pixel_auc,
    pixel_f1,
    pixel_iou,
    pixel_mcc,
    resize_heatmap,
    resize_mask,
    roc_auc,
    roc_curve,
    tpr_at_fpr,
)

# y = 1 fake. Sorted by score: .8 (fake), .4 (real), .35 (fake), .1 (real).
Y1, S1 = [0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]
# A real and a fake tie at 0.5.
Y_TIE, S_TIE = [0, 0, 1, 1], [0.1, 0.5, 0.5, 0.9]


# ----------------------------------------------------------------------------------------------- binary


def test_auc_and_ap_hand_case():
    # ROC points (0,0) (0,.5) (.5,.5) (.5,1) (1,1): area .75. AP = .5 * 1/1 + .5 * 2/3.
    assert roc_auc(Y1, S1) == pytest.approx(0.75)
    assert average_precision(Y1, S1) == pytest.approx(5 / 6)


def test_ties_count_half_and_order_does_not_matter():
    # Pairs (fake, real): (.5,.1) win, (.5,.5) half, (.9,.1) win, (.9,.5) win -> 3.5 / 4.
    assert roc_auc(Y_TIE, S_TIE) == pytest.approx(0.875)
    # Thresholds .9: P 1, R .5; .5 (tie group): P 2/3, R 1 -> AP = .5 + .5 * 2/3.
    assert average_precision(Y_TIE, S_TIE) == pytest.approx(5 / 6)
    order = [3, 2, 1, 0]
    assert roc_auc(np.array(Y_TIE)[order], np.array(S_TIE)[order]) == pytest.approx(0.875)
    assert average_precision(np.array(Y_TIE)[order], np.array(S_TIE)[order]) == pytest.approx(5 / 6)


def test_one_class_raises_clear_error():
    with pytest.raises(ValueError, match="only one class"):
        roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(ValueError, match="only one class"):
        eer([0, 0], [0.2, 0.5])
    with pytest.raises(ValueError, match="no positive"):
        average_precision([0, 0], [0.2, 0.5])


@pytest.mark.parametrize(
    ("y", "s"), [([0, 2], [0.1, 0.2]), ([0, 1], [0.1, np.nan]), ([0, 1, 1], [0.1, 0.2]), ([], [])]
)
def test_bad_inputs_raise(y, s):
    with pytest.raises(ValueError):
        roc_auc(y, s)


def test_roc_curve_drops_collinear_points_like_sklearn():
    # Fakes .4 .7 .8, reals .1 .2 .6; the point (2/3, 1) lies between (1/3, 1) and (1, 1) and is dropped.
    y, s = [0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.4, 0.7, 0.8]
    fpr, tpr, thr = roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 0, 0, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1])
    assert thr[0] == np.inf
    assert len(roc_curve(y, s, drop_intermediate=False)[0]) == 7


def test_accuracy_threshold_is_inclusive():
    assert accuracy_at(Y1, S1, 0.35) == pytest.approx(0.75)  # .35 itself is called fake
    assert accuracy_at(Y1, S1, 0.36) == pytest.approx(0.5)
    assert balanced_accuracy_at(Y1, S1, 0.35) == pytest.approx(0.75)
    # 3 reals, 1 fake at threshold .5: predictions 0 0 1 1 -> accuracy 3/4, (TNR 2/3 + TPR 1) / 2 = 5/6.
    y, s = [0, 0, 0, 1], [0.1, 0.2, 0.6, 0.7]
    assert accuracy_at(y, s, 0.5) == pytest.approx(0.75)
    assert balanced_accuracy_at(y, s, 0.5) == pytest.approx(5 / 6)


def test_tpr_at_fpr_uses_roc_points_without_interpolation():
    assert tpr_at_fpr(Y1, S1, 0.01) == pytest.approx(0.5)
    assert tpr_at_fpr(Y1, S1, 0.49) == pytest.approx(0.5)
    assert tpr_at_fpr(Y1, S1, 0.5) == pytest.approx(1.0)
    # 100 reals at 0.00 .. 0.99; 5 fakes at 1.5 and 5 at .985: at threshold .985 exactly one real (.99) is
    # above -> FPR = 1% exactly, TPR = 1.
    reals = np.arange(100) / 100
    y = np.r_[np.zeros(100), np.ones(10)]
    s = np.r_[reals, [1.5] * 5, [0.985] * 5]
    assert tpr_at_fpr(y, s, 0.01) == pytest.approx(1.0)
    assert tpr_at_fpr(y, s, 0.005) == pytest.approx(0.5)


def test_brier_and_ece_hand_cases():
    assert brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    # .1 bin: mean y .5 vs p .1 (weight 2/4); .9 bin: mean y 1 vs p .9 (weight 2/4) -> .2 + .05.
    assert ece([0, 1, 1, 1], [0.1, 0.1, 0.9, 0.9]) == pytest.approx(0.25)
    assert ece([0, 1], [0.0, 1.0]) == pytest.approx(0.0)  # 1.0 falls in the last (closed) bin
    # 2 bins [0,.5) and [.5,1]: {.25 | y 0} -> .25 * 1/3; {.5, .75 | y 0, 1} -> |.5 - .625| * 2/3.
    assert ece([0, 0, 1], [0.25, 0.5, 0.75], bins=2) == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        brier([0, 1], [0.2, 1.5])


def test_eer_variants_differ_as_documented_on_a_tie():
    # ROC (drop_intermediate) = (0,0) (0,.5) (.5,1) (1,1).
    # M.5: |fnr - fpr| = 1, .5, .5, 1 -> first minimum at fpr 0.
    assert eer(Y_TIE, S_TIE, "deepfakebench") == pytest.approx(0.0)
    # M.3: 1 - fpr - tpr goes .5 -> -.5 on the diagonal segment (0,.5)-(.5,1): root at fpr .25.
    assert eer(Y_TIE, S_TIE, "hammer") == pytest.approx(0.25)
    # M.4, bona fide = the reals with bona-fide score 1 - s: bona fide [.9, .5], spoof [.5, .1]. Stable sort,
    # bona fide first among ties: labels 0 1 0 1; frr = 0 0 .5 .5 1, far = 1 .5 .5 0 0 -> (.5 + .5) / 2.
    y, s = 1 - np.array(Y_TIE), 1 - np.array(S_TIE)
    assert eer(y, s, "asvspoof") == pytest.approx(0.5)
    assert asvspoof_eer([0.9, 0.5], [0.5, 0.1]) == pytest.approx((0.5, 0.5))


def test_eer_drop_intermediate_matters_for_deepfakebench():
    # Fakes .9 and .1, reals .8 and .7: full ROC (0,0) (0,.5) (.5,.5) (1,.5) (1,1); sklearn drops (.5,.5).
    y, s = [1, 0, 0, 1], [0.9, 0.8, 0.7, 0.1]
    assert eer(y, s, "deepfakebench") == pytest.approx(0.0)  # |fnr - fpr| = 1, .5, .5, 1 -> fpr 0
    assert eer(y, s, "hammer") == pytest.approx(0.5)  # horizontal segment at tpr .5 crosses at fpr .5
    # Bona fide scores 1 - s: bona fide [.2, .3], spoof [.1, .9]: labels 0 1 1 0, frr 0 0 .5 1 1,
    # far 1 .5 .5 .5 0 -> index 2 -> (.5 + .5) / 2, threshold .2.
    assert asvspoof_eer([0.2, 0.3], [0.1, 0.9]) == pytest.approx((0.5, 0.2))


def test_eer_without_ties_agrees_across_variants():
    y, s = [0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.6, 0.4, 0.7, 0.8]
    assert eer(y, s, "deepfakebench") == pytest.approx(1 / 3)
    assert eer(y, s, "hammer") == pytest.approx(1 / 3)
    # Bona fide [.9 .8 .4], spoof [.6 .3 .2] -> frr 0 0 0 1/3 1/3 2/3 1, far 1 2/3 1/3 1/3 0 0 0.
    assert asvspoof_eer([0.9, 0.8, 0.4], [0.6, 0.3, 0.2]) == pytest.approx((1 / 3, 0.4))
    with pytest.raises(ValueError, match="unknown EER variant"):
        eer(y, s, "nist")


def _asvspoof_eer_loop(bona: np.ndarray, spoof: np.ndarray) -> float:
    """M.4 by explicit counting, one threshold at a time (independent of the vectorised code)."""
    scores = np.r_[bona, spoof]
    labels = np.r_[np.ones(len(bona)), np.zeros(len(spoof))][np.argsort(scores, kind="stable")]
    best, value = np.inf, None
    for k in range(len(scores) + 1):  # k lowest-scored trials rejected
        frr = labels[:k].sum() / len(bona)
        far = (len(spoof) - (k - labels[:k].sum())) / len(spoof)
        if abs(frr - far) < best:
            best, value = abs(frr - far), (frr + far) / 2
    return value


def test_asvspoof_eer_matches_explicit_recipe_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        bona = np.round(rng.normal(1.0, 1.0, rng.integers(3, 40)), 1)
        spoof = np.round(rng.normal(0.0, 1.0, rng.integers(3, 40)), 1)
        assert asvspoof_eer(bona, spoof)[0] == pytest.approx(_asvspoof_eer_loop(bona, spoof), abs=1e-12)


def test_binary_summary_keys_and_calibration_flag():
    out = binary_summary(Y1, S1, threshold=0.5)
    assert out["auc"] == pytest.approx(0.75) and out["ap"] == pytest.approx(5 / 6)
    assert out["accuracy"] == pytest.approx(0.75)  # predictions 0 0 0 1
    assert out["balanced_accuracy"] == pytest.approx(0.75)
    assert out["tpr@1%fpr"] == pytest.approx(0.5) and out["tpr@5%fpr"] == pytest.approx(0.5)
    assert (out["n"], out["n_pos"]) == (4, 2)
    assert "brier" not in out and "ece" not in out
    cal = binary_summary(Y1, S1, threshold=0.5, calibrated=True)
    assert cal["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    with pytest.raises(ValueError):
        binary_summary(Y1, [0.1, 0.4, 0.35, 3.0], threshold=0.5, calibrated=True)
    single = binary_summary([0, 0, 0], [0.1, 0.6, 0.2], threshold=0.5)
    assert single["auc"] is None and single["ap"] is None and single["accuracy"] == pytest.approx(2 / 3)


def test_against_sklearn_when_installed():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    for _ in range(25):
        n = int(rng.integers(5, 300))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.normal(y * 0.7, 1.0), int(rng.integers(0, 3)))  # coarse rounding -> many ties
        assert roc_auc(y, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
        assert average_precision(y, s) == pytest.approx(metrics.average_precision_score(y, s), abs=1e-12)
        assert balanced_accuracy_at(y, s, 0.3) == pytest.approx(
            metrics.balanced_accuracy_score(y, s >= 0.3), abs=1e-12
        )
        fpr, tpr, thr = metrics.roc_curve(y, s)
        ours = roc_curve(y, s)
        np.testing.assert_allclose(ours[0], fpr)
        np.testing.assert_allclose(ours[1], tpr)
        np.testing.assert_allclose(ours[2][1:], thr[1:])
        assert eer(y, s, "deepfakebench") == fpr[np.nanargmin(np.abs(1 - tpr - fpr))]
        p = 1 / (1 + np.exp(-s))
        assert brier(y, p) == pytest.approx(metrics.brier_score_loss(y, p), abs=1e-12)


def test_hammer_eer_against_brentq_when_scipy_installed():
    optimize = pytest.importorskip("scipy.optimize")
    interpolate = pytest.importorskip("scipy.interpolate")
    rng = np.random.default_rng(2)
    for _ in range(25):
        n = int(rng.integers(5, 200))
        y = rng.integers(0, 2, n)
        y[:2] = [0, 1]
        s = np.round(rng.normal(y * 0.8, 1.0), int(rng.integers(0, 3)))
        fpr, tpr, _ = roc_curve(y, s)
        ref = optimize.brentq(lambda x, f=fpr, t=tpr: 1.0 - x - interpolate.interp1d(f, t)(x), 0.0, 1.0)
        assert eer(y, s, "hammer") == pytest.approx(ref, abs=1e-9)


# ----------------------------------------------------------------------------------------- localization


def test_binarize_mask_scaling_and_threshold():
    np.testing.assert_array_equal(binarize_mask(np.array([[0, 127, 128, 255]], np.uint8)), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(binarize_mask(np.array([[0, 1]], np.uint8)), [[0, 1]])  # 0/1 uint8 mask
    np.testing.assert_array_equal(binarize_mask(np.array([[0.49, 0.5]])), [[0, 1]])  # >= 0.5
    np.testing.assert_array_equal(binarize_mask(np.array([[32767, 32768]], np.uint16)), [[0, 1]])
    rgb = np.array([[[255, 255, 0], [255, 0, 0]]], np.uint8)  # channel means 170 and 85
    np.testing.assert_array_equal(binarize_mask(rgb), [[1, 0]])
    img = Image.fromarray(np.array([[0, 200]], np.uint8))
    np.testing.assert_array_equal(binarize_mask(img), [[0, 1]])
    np.testing.assert_array_equal(binarize_mask(img.convert("1")), [[0, 1]])
    assert binarize_mask(np.zeros((2, 3), bool)).dtype == bool


def test_resize_conventions():
    # Bilinear with pixel centres aligned: output centres at source x = -.25, .25, .75, 1.25 (edges clamped).
    np.testing.assert_allclose(resize_heatmap(np.array([[0.0, 1.0]]), (1, 4)), [[0, 0.25, 0.75, 1]])
    assert resize_heatmap(np.full((3, 5), 0.3), (7, 2)) == pytest.approx(np.full((7, 2), 0.3))
    # Nearest: output pixel i takes source floor((i + .5) * in / out).
    np.testing.assert_array_equal(resize_mask(np.array([[0, 1]], bool), (1, 4)), [[0, 0, 1, 1]])
    np.testing.assert_array_equal(resize_mask(np.array([[0, 1, 0, 1]], bool), (1, 2)), [[1, 1]])
    assert resize_mask(np.array([[0, 255]], np.uint8), (3, 4)).dtype == bool


def test_f1_iou_mcc_tiny_masks():
    pred = np.array([[1, 1, 0], [0, 0, 0]], bool)
    gt = np.array([[1, 1, 1], [0, 0, 0]], bool)
    # TP 2, FP 0, FN 1, TN 3.
    assert pixel_f1(pred, gt) == pytest.approx(4 / 5)
    assert pixel_iou(pred, gt) == pytest.approx(2 / 3)
    assert pixel_mcc(pred, gt) == pytest.approx(6 / np.sqrt(2 * 3 * 3 * 4))
    # TP 1, FP 1, FN 1, TN 1.
    p2, g2 = np.array([[1, 1], [0, 0]], bool), np.array([[1, 0], [1, 0]], bool)
    assert (pixel_f1(p2, g2), pixel_iou(p2, g2), pixel_mcc(p2, g2)) == pytest.approx((0.5, 1 / 3, 0.0))
    assert pixel_mcc(~g2, g2) == pytest.approx(-1.0)
    assert pixel_f1(g2, g2) == pixel_iou(g2, g2) == pixel_mcc(g2, g2) == pytest.approx(1.0)


def test_degenerate_cases():
    empty = np.zeros((3, 3), bool)
    some = empty.copy()
    some[0, 0] = True
    assert (pixel_f1(empty, empty), pixel_iou(empty, empty), pixel_mcc(empty, empty)) == (0.0, 0.0, 0.0)
    assert (pixel_f1(some, empty), pixel_iou(some, empty), pixel_mcc(some, empty)) == (0.0, 0.0, 0.0)
    assert (pixel_f1(empty, some), pixel_mcc(empty, some)) == (0.0, 0.0)
    with pytest.raises(ValueError, match="shapes differ"):
        pixel_f1(empty, np.zeros((3, 4), bool))
    with pytest.raises(ValueError, match="boolean"):
        pixel_f1(np.full((3, 3), 0.7), some)


def test_pixel_auc_hand_case_and_single_class():
    heat = np.array([[0.9, 0.2], [0.6, 0.6]])
    gt = np.array([[1, 0], [0, 1]], bool)
    # Manipulated .9, .6 vs authentic .2, .6: 1 + 1 + 1 + 0.5 of 4 pairs.
    assert pixel_auc(heat, gt) == pytest.approx(0.875)
    assert pixel_auc(heat, np.zeros((2, 2), bool)) is None
    assert pixel_auc(heat, np.ones((2, 2), bool)) is None


def test_pixel_auc_matches_pair_count_on_casia_size():
    rng = np.random.default_rng(3)
    gt = np.zeros((256, 384), bool)
    gt[60:140, 100:220] = True
    heat = np.clip(np.round(rng.normal(0.3 + 0.2 * gt, 0.2), 2), 0, 1)  # ties on a 0.01 grid
    pos, neg = heat[gt], heat[~gt]
    # Mann-Whitney by value histogram: wins + ties / 2 over all pairs.
    values = np.unique(heat)
    npos = np.array([np.count_nonzero(pos == v) for v in values], float)
    nneg = np.array([np.count_nonzero(neg == v) for v in values], float)
    below = np.cumsum(nneg) - nneg
    expected = (npos * (below + nneg / 2)).sum() / (pos.size * neg.size)
    assert pixel_auc(heat, gt) == pytest.approx(expected, abs=1e-12)


def test_localization_scores_resize_threshold_and_mask():
    gt = np.zeros((4, 4), np.uint8)
    gt[:2, :2] = 255
    # 2x2 heatmap [[1,0],[0,0]] -> 4x4 bilinear = outer([1,.75,.25,0]) twice; > .5 is the top-left 2x2 block.
    heat = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)
    out = localization_scores(heat, gt)
    assert (out["f1"], out["iou"], out["mcc"]) == pytest.approx((1.0, 1.0, 1.0))
    assert out["auc"] == pytest.approx(1.0)
    assert "f1_inversion_tolerant" not in out
    # The threshold is strict: a flat 0.5 map predicts nothing.
    assert localization_scores(np.full((4, 4), 0.5), gt)["f1"] == 0.0
    # A method's own mask replaces the thresholded map for F1/IoU/MCC; the heatmap still gives the AUC.
    own = np.zeros((2, 2), bool)
    own[0, :] = True  # -> top half of 4x4: TP 4, FP 4
    with_mask = localization_scores(heat, gt, mask=own)
    assert with_mask["f1"] == pytest.approx(8 / 12) and with_mask["auc"] == pytest.approx(1.0)
    assert localization_scores(None, gt, mask=own)["auc"] is None
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        localization_scores(heat * 255, gt)


def test_inversion_tolerant_f1():
    gt = np.zeros((4, 4), bool)
    gt[1:3, 1:3] = True
    inverted = (~gt).astype(np.float32)
    out = localization_scores(inverted, gt, inversion_tolerant=True)
    assert out["f1"] == 0.0 and out["f1_inversion_tolerant"] == pytest.approx(1.0)
    assert out["auc"] == pytest.approx(0.0)


def test_accumulator_image_average_and_pooled():
    acc = LocalizationAccumulator(inversion_tolerant=True)
    assert acc.summary()["n"] == 0 and acc.summary()["f1"] is None
    # Image A: TP 2, FP 0, FN 1, TN 3 (F1 .8). Image B: TP 1, FP 1, FN 1, TN 1 (F1 .5).
    acc.add(np.array([[1, 1, 0], [0, 0, 0]], np.float32), np.array([[1, 1, 1], [0, 0, 0]], np.uint8) * 255)
    acc.add(np.array([[0.9, 0.9], [0.1, 0.1]], np.float32), np.array([[1, 0], [1, 0]], bool))
    out = acc.summary()
    assert out["n"] == 2 and out["n_auc"] == 2
    assert out["f1"] == pytest.approx((0.8 + 0.5) / 2)
    assert out["iou"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    # Pooled: TP 3, FP 1, FN 2 -> 6 / 9.
    assert out["f1_pooled"] == pytest.approx(6 / 9)
    assert out["iou_pooled"] == pytest.approx(3 / 6)
    assert out["f1_inversion_tolerant"] == pytest.approx((0.8 + 0.5) / 2)
    assert len(acc.records) == 2

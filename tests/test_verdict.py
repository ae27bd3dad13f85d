"""The verdict layer: the verdict model's fit (weights, non-negative scores, held-out metrics, operating point,
missing scores, group folds), its JSON store, `fuse` (model, fallback, provenance, no-opinion, reasons), Analyzer
integration (version checks, posts, packaged model per profile) and `unmask verdict`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from unmask.analysis import Analyzer
from unmask.calibration.fit import sigmoid
from unmask.detectors import Detector, Evidence, Registry
from unmask.report.model import EvidenceEntry
from unmask.verdict import fuse
from unmask.verdict import model as verdict_model
from unmask.verdict.fit import fit_verdict, folds_of
from unmask.verdict.model import Feature, VerdictModel, feature

DETS = {"informative": "1", "noise": "1"}


def _scores(n: int, seed: int, missing: float = 0.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Column 0 separates the classes (saturating, like real detectors), column 1 is uniform noise; groups
    of 2 items; `missing` of column 0 set to NaN."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    informative = sigmoid(3.0 * (1.2 * (2 * y - 1) + rng.normal(0.0, 1.0, n)))
    noise = rng.uniform(0.0, 1.0, n)
    informative[rng.uniform(size=n) < missing] = np.nan
    return np.column_stack([informative, noise]), y, [f"g{i // 2}" for i in range(n)]


def _trust(model: VerdictModel) -> dict[str, dict]:
    return {row["detector"]: row for row in model.trust}


# ------------------------------------------------------------------------------------------------ fitting


def test_weights_trust_the_informative_detector_and_held_out_metrics_are_good():
    s, y, groups = _scores(400, 0)
    model = fit_verdict(s, y, groups, DETS, "image-test", folds=5, l2=1.0, target_fpr=0.1, authentic_share=0.6)
    trust = _trust(model)
    assert trust["informative"]["share"] > 0.85 and trust["informative"]["std_weight"] > 1.0
    assert abs(trust["noise"]["std_weight"]) < 0.15 * trust["informative"]["std_weight"]
    assert [r["detector"] for r in model.trust] == ["informative", "noise"]  # most trusted first
    ev = model.evaluation
    assert ev["folds"] == 5 and ev["n"] == 400 and ev["auc"] > 0.9 and ev["ece"] < 0.1 and ev["brier"] < 0.15
    assert ev["ap"] > 0.9
    assert trust["noise"]["auc_alone"] < 0.6 < 0.9 < trust["informative"]["auc_alone"]
    thr = model.thresholds
    assert thr["target_fpr"] == 0.1 and thr["dev"]["authentic_called_manipulated"] <= 0.1
    assert thr["dev"]["fake_called_manipulated"] > 0.6
    assert thr["dev"]["authentic_called_authentic"] == pytest.approx(0.6, abs=0.02)
    assert 0 < thr["authentic"] < thr["manipulated"] < 1 and "2%" not in thr["chosen"] and "10%" in thr["chosen"]
    # the model generalises: a fresh sample from the same source
    s2, y2, _ = _scores(1000, 1)
    from unmask.metrics import ece, roc_auc

    p = model.predict(s2, list(DETS))
    assert roc_auc(y2, p) > 0.9 and ece(y2, p) < 0.06


def test_a_detector_whose_weight_would_be_negative_is_left_out():
    s, y, groups = _scores(400, 2)
    s[:, 1] = sigmoid(-2.0 * (2 * y - 1) + np.random.default_rng(2).normal(0, 1, y.size))  # high = real
    model = fit_verdict(s, y, groups, DETS, "image-test")
    assert list(model.detectors) == ["informative"]
    assert "negative" in model.fitted_on["left_out"]["noise"]
    assert all(f.weight >= 0 for f in model.features)


def test_stronger_l2_shrinks_the_weights():
    s, y, groups = _scores(200, 3)
    weak, strong = (abs(fit_verdict(s, y, groups, DETS, "t", l2=l2).features[0].weight) for l2 in (0.01, 100.0))
    assert strong < 0.5 * weak


def test_missing_scores_are_filled_with_the_dev_mean():
    s, y, groups = _scores(400, 4, missing=0.3)
    s[:, 1] = sigmoid(0.8 * (2 * y - 1) + np.random.default_rng(4).normal(0, 1, y.size))  # weak but informative
    model = fit_verdict(s, y, groups, DETS, "t")
    assert [f.detector for f in model.features] == ["informative", "noise"]
    fill = model.features[0].mean
    present = s[np.isfinite(s[:, 0]), 0]
    assert fill == pytest.approx(float(np.mean(feature(present))))
    assert _trust(model)["informative"]["missing_share"] == pytest.approx(np.isnan(s[:, 0]).mean())
    assert model.evaluation["auc"] > 0.8
    # no score from a detector = its fill value, moving nothing; None and an absent key are the same
    p_none = model.probability({"informative": None, "noise": 0.5})
    assert p_none == model.probability({"noise": 0.5})
    x = np.array([fill, float(feature(np.array([0.5]))[0])])
    expected = sigmoid(np.array([model.intercept + x @ [f.weight for f in model.features]]))[0]
    assert p_none == pytest.approx(expected)
    assert model.contributions({"noise": 0.5})["informative"] == 0.0


def test_missingness_is_not_evidence():
    """Whether a detector scores follows the file format, which differs between the classes of a pool: a
    detector that fails on fakes only must not make "no score" a sign of a fake."""
    s, y, groups = _scores(400, 5)
    s[(y == 1) & (np.arange(y.size) % 3 == 0), 0] = np.nan
    model = fit_verdict(s, y, groups, DETS, "t")
    assert model.probability({"noise": 0.5}) == model.probability({"informative": None, "noise": 0.5})
    assert model.contributions({"informative": None})["informative"] == 0.0


def test_a_detector_without_any_score_is_left_out():
    s, y, groups = _scores(100, 6)
    s = np.column_stack([s, np.full(100, np.nan), np.full(100, 0.3)])
    model = fit_verdict(s, y, groups, {**DETS, "silent": "1", "constant": "1"}, "t")
    assert "informative" in model.detectors and "silent" not in model.detectors
    left = model.fitted_on["left_out"]
    assert left["silent"] == "no score on any development item"
    assert left["constant"] == "the same score on every development item"


def test_fit_refuses_one_class_and_a_single_group():
    s, y, groups = _scores(50, 7)
    with pytest.raises(ValueError, match="both authentic and fake"):
        fit_verdict(s, np.zeros(50, int), groups, DETS, "t")
    with pytest.raises(ValueError, match="at least 2 groups"):
        fit_verdict(s, y, ["one"] * 50, DETS, "t")


def test_group_folds_keep_groups_together_and_balance_classes():
    rng = np.random.default_rng(8)
    groups = [f"g{int(g)}" for g in rng.integers(0, 40, 300)]
    y = rng.integers(0, 2, 300)
    folds = folds_of(groups, y, 5, seed=1)
    for g in set(groups):
        assert len({int(f) for f, gg in zip(folds, groups, strict=True) if gg == g}) == 1
    sizes = np.bincount(folds)
    assert sizes.size == 5 and sizes.min() > 0.6 * sizes.max()
    assert np.array_equal(folds, folds_of(groups, y, 5, seed=1))
    with pytest.warns(UserWarning, match="least populated class"):  # sklearn says 1 fake is too few; it is
        assert folds_of(["a", "b", "c"], np.array([0, 1, 0]), 10).max() <= 2  # at most one fold per group


# ------------------------------------------------------------------------------------------------ store


def test_round_trip_save_load(tmp_path):
    s, y, groups = _scores(200, 9, missing=0.2)
    model = fit_verdict(s, y, groups, DETS, "image-default", fitted_on={"runs": ["r1"], "perturbation": "none"})
    path = model.save(tmp_path / "sub" / "image-default.json")
    obj = json.loads(path.read_text())
    assert obj["format"] == "unmask-verdict/1" and obj["name"] == "image-default" and "source" not in obj
    assert obj["fitted_on"]["runs"] == ["r1"] and obj["fitted_on"]["n"] == 200 and obj["fitted_on"]["date"]
    back = VerdictModel.load(path)
    assert back.source == str(path) and back.detectors == model.detectors
    np.testing.assert_allclose(back.predict(s, list(DETS)), model.predict(s, list(DETS)))
    assert back.trust == model.trust and back.thresholds == model.thresholds
    path.write_text('{"format": "unmask-calibration/1"}')
    with pytest.raises(ValueError, match="not an unmask verdict model"):
        VerdictModel.load(path)
    with pytest.raises(ValueError, match="cannot read"):
        VerdictModel.load(tmp_path / "absent.json")
    obj["thresholds"] = {"manipulated": 0.2, "authentic": 0.5}
    path.write_text(json.dumps(obj))
    with pytest.raises(ValueError, match=r"authentic .* <= manipulated"):
        VerdictModel.load(path)


def test_applying_a_model_imports_no_sklearn(tmp_path):
    import subprocess
    import sys

    s, y, groups = _scores(100, 10)
    path = fit_verdict(s, y, groups, DETS, "image-default").save(tmp_path / "m.json")
    code = ("import sys; from unmask.verdict.model import VerdictModel; "
            f"m = VerdictModel.load({str(path)!r}); m.probability({{'informative': 0.9}}); "
            "print('sklearn' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ------------------------------------------------------------------------------------------------ fuse


THRESHOLDS = {"manipulated": 0.8, "authentic": 0.35, "chosen": "test point"}


def _model(**versions: str) -> VerdictModel:
    """alpha trusted (1.5 per feature unit), beta a little (0.2), intercept -0.3;
    manipulated at >= 0.8, authentic at <= 0.35."""
    v = {"alpha": "2", "beta": "2", **versions}
    return VerdictModel("image-default", "image", v, [Feature("alpha", 1.5, 0.0, 1.0),
                                                      Feature("beta", 0.2, 0.0, 1.0)], -0.3, THRESHOLDS)


def _p(alpha: float, beta: float) -> float:
    z = -0.3 + 1.5 * feature(np.array([alpha]))[0] + 0.2 * feature(np.array([beta]))[0]
    return float(sigmoid(np.array([z]))[0])


def _ev(name: str, score: float | None, summary: str | None = None, **kw) -> EvidenceEntry:
    return EvidenceEntry(detector=name, score=score, summary=summary or f"{name} says {score}", **kw)


def test_fuse_with_a_model_gives_its_probability_operating_point_and_contributions():
    evidence = [_ev("beta", 0.2), _ev("alpha", 0.9), _ev("other", 0.6), _ev("meta", None, "No metadata.")]
    verdict, reasons = fuse(evidence, model=_model())
    assert verdict.calibrated and verdict.probability == pytest.approx(_p(0.9, 0.2))
    assert verdict.label == "manipulated" and verdict.method == "model" and verdict.model == "image-default"
    assert (verdict.thresholds.manipulated, verdict.thresholds.authentic) == (0.8, 0.35)
    assert verdict.headline == "Likely manipulated"
    # alpha raised the log-odds and leads; beta lowered them (a score of 0.2), so it cannot support
    # "manipulated" and follows among the rest
    assert reasons[0] == "alpha says 0.9" and "beta says 0.2" in reasons[1:] and reasons[-1] == "No metadata."
    assert evidence[1].contribution == pytest.approx(1.5 * feature(np.array([0.9]))[0])
    assert evidence[0].contribution < 0 and evidence[2].contribution is None
    fallback, _ = fuse(evidence)
    assert fallback.method == "fallback" and not fallback.calibrated
    assert fallback.probability == pytest.approx((0.2 + 0.9 + 0.6) / 3)  # the mean, not the highest


def test_the_operating_point_decides_the_label():
    inside, _ = fuse([_ev("alpha", 0.7), _ev("beta", 0.5)], model=_model())
    assert 0.35 < _p(0.7, 0.5) < 0.8 and inside.label == "inconclusive"
    low, reasons = fuse([_ev("alpha", 0.1), _ev("beta", 0.3)], model=_model())
    assert low.label == "authentic" and low.probability == pytest.approx(_p(0.1, 0.3))
    assert reasons[0] == "alpha says 0.1"  # the strongest negative contribution first


def test_a_strong_finding_the_model_does_not_combine_blocks_authentic_and_leads():
    metadata = _ev("metadata", 0.9, "Written by an AI image generator.", attribution={"ai-generated": 1.0})
    verdict, reasons = fuse([_ev("alpha", 0.1), _ev("beta", 0.3), metadata], model=_model())
    assert verdict.label == "inconclusive" and verdict.probability == pytest.approx(_p(0.1, 0.3))
    assert reasons[0] == "Written by an AI image generator."


def test_ai_attribution_follows_the_finding_that_raised_the_probability_most():
    ai = [_ev("alpha", 0.95, attribution={"ai-generated": 0.9}), _ev("beta", 0.99)]
    assert fuse(ai, model=_model())[0].label == "ai-generated"
    not_top = [_ev("alpha", 0.95), _ev("beta", 0.99, attribution={"ai-generated": 0.9})]
    assert fuse(not_top, model=_model())[0].label == "manipulated"


def test_fuse_uses_the_raw_score_of_a_calibrated_detector_and_provenance_stays_first():
    calibrated = _ev("alpha", 0.4, calibrated=True, details={"raw_score": 0.9, "calibration": {"method": "platt"}})
    verdict, _ = fuse([calibrated], model=_model())
    assert verdict.probability == pytest.approx(_p(0.9, 0.5))  # beta absent = its fill, feature(0.5) = 0
    decisive = _ev("watermark", 0.97, "SDXL watermark.", attribution={"ai-generated": 1.0},
                   details={"decisive": True})
    verdict, reasons = fuse([_ev("alpha", 0.01), decisive], model=_model())
    assert (verdict.label, verdict.probability, verdict.calibrated, verdict.method) == (
        "ai-generated", 0.97, False, "provenance")
    assert reasons[0] == "SDXL watermark."


def test_fuse_falls_back_when_the_model_knows_no_scored_detector():
    verdict, _ = fuse([_ev("other", 0.8), _ev("alpha", None, "Not applicable.")], model=_model())
    assert verdict.method == "fallback" and verdict.probability == pytest.approx(0.8)


def test_fallback_does_not_turn_many_weak_scores_into_a_confident_call():
    weak = [_ev(f"d{i}", 0.62) for i in range(12)]
    verdict, _ = fuse(weak)
    assert verdict.label == "inconclusive" and verdict.probability == pytest.approx(0.62)
    one_strong = [_ev("a", 0.95), *[_ev(f"d{i}", 0.05) for i in range(5)]]
    verdict, reasons = fuse(one_strong)
    assert verdict.label == "inconclusive" and reasons[0] == "a says 0.95"  # never authentic over it
    clean = [_ev(f"d{i}", 0.1) for i in range(5)]
    assert fuse(clean)[0].label == "authentic"
    assert fuse([_ev("a", 0.9), _ev("b", 0.8)])[0].label == "manipulated"


def test_no_detector_scored_is_no_opinion_with_a_null_probability():
    verdict, reasons = fuse([_ev("metadata", None, "The file carries no metadata.")])
    assert (verdict.label, verdict.probability, verdict.method) == ("no-opinion", None, "none")
    assert verdict.headline == "No opinion" and reasons[1] == "The file carries no metadata."
    assert fuse([])[0].label == "no-opinion"
    from pydantic import ValidationError

    from unmask.report.model import Verdict

    with pytest.raises(ValidationError):
        Verdict(label="inconclusive", probability=None, calibrated=False)
    with pytest.raises(ValidationError):
        Verdict(label="no-opinion", probability=0.5, calibrated=False)


# ------------------------------------------------------------------------------------------------ Analyzer


class Alpha(Detector):
    """Score = mean brightness, so two images of a post get different scores."""

    name = "alpha"
    version = "2"
    modalities = ("image",)

    def predict(self, media):
        return float(np.asarray(media.rgb).mean() / 255.0)

    def to_evidence(self, native, media):
        return Evidence(score=native, summary=f"alpha {native:.2f}")


class Beta(Alpha):
    name = "beta"

    def predict(self, media):
        return 0.2


def _png(level: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), level, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _analyzer(**kw) -> Analyzer:
    return Analyzer(detectors=["alpha", "beta"], registry=Registry([Alpha, Beta]), **kw)


def test_analyzer_uses_a_matching_model(tmp_path):
    path = _model().save(tmp_path / "m.json")
    for given in (_model(), path, str(path)):
        report = _analyzer(verdict_model=given).analyze(_png(230))
        assert report.verdict.calibrated and report.verdict.probability == pytest.approx(_p(230 / 255, 0.2))
        assert not [e for e in report.errors if e.code == "verdict_model_ignored"]
    for off in ("none", False):
        assert _analyzer(verdict_model=off).analyze(_png(230)).verdict.method == "fallback"


def test_version_mismatch_or_missing_detector_is_ignored_with_a_note(tmp_path):
    report = _analyzer(verdict_model=_model(beta="1")).analyze(_png(230))
    assert report.verdict.method == "fallback"
    assert report.verdict.probability == pytest.approx((230 / 255 + 0.2) / 2)
    (note,) = [e for e in report.errors if e.code == "verdict_model_ignored"]
    assert not note.fatal and "beta version 1 (running 2)" in note.message
    for given in (_model(), _model().save(tmp_path / "m.json")):  # an object or a file: the same note
        only_alpha = Analyzer(detectors=["alpha"], registry=Registry([Alpha, Beta]), verdict_model=given)
        (note,) = [e for e in only_alpha.analyze(_png(230)).errors if e.code == "verdict_model_ignored"]
        assert "beta, which this analysis does not run" in note.message


def test_unreadable_given_model_fails_early(tmp_path):
    with pytest.raises(ValueError, match="cannot read verdict model"):
        _analyzer(verdict_model=tmp_path / "absent.json")


def test_packaged_model_of_the_profile_is_used_unless_turned_off(monkeypatch):
    asked = []

    def packaged(modality, profile):
        asked.append((modality, profile))
        return _model() if modality == "image" else None

    monkeypatch.setattr(verdict_model, "packaged", packaged)
    assert _analyzer().analyze(_png(230)).verdict.method == "model"
    assert asked == [("image", "default")]
    assert _analyzer(verdict_model="none").analyze(_png(230)).verdict.method == "fallback"


def test_packaged_lookup_of_an_absent_model_is_none():
    assert verdict_model.packaged("no-such-modality", "default") is None
    assert verdict_model.packaged("no-such-modality", "thorough") is None


def test_post_images_are_stacked_and_the_post_takes_the_highest(tmp_path):
    for name, level in (("dark.png", 20), ("bright.png", 230)):
        (tmp_path / name).write_bytes(_png(level))
    post = tmp_path / "post.json"
    post.write_text(json.dumps({"text": "Look at this", "images": ["dark.png", "bright.png"]}))
    report = _analyzer(verdict_model=_model()).analyze(post)
    assert report.verdict.probability == pytest.approx(_p(230 / 255, 0.2))
    assert not report.verdict.calibrated  # the highest of two calibrated probabilities is not calibrated
    post.write_text(json.dumps({"text": "Look at this", "images": ["dark.png"]}))
    single = _analyzer(verdict_model=_model()).analyze(post)
    assert single.verdict.calibrated and single.verdict.probability == pytest.approx(_p(20 / 255, 0.2))


# ------------------------------------------------------------------------------------------------ CLI


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bench_run(photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`unmask bench run` with ela and jpeg_grid_alignment on 16 small JPEGs: 8 real, 8 with a patch from a q=40
    copy pasted off the 8x8 grid; 8 source groups."""
    pytest.importorskip("yaml")
    pytest.importorskip("pyarrow")
    from unmask.cli import app
    from unmask.datasets import Item, Manifest

    root = tmp_path_factory.mktemp("stack_bench")
    low = np.asarray(Image.open(io.BytesIO(_jpeg(photo, 40))).convert("RGB"))
    items = []
    for i in range(16):
        y0, x0 = 16 * i, 300 - 16 * i  # distinct files (the cache shares the results of identical ones)
        crop = photo[y0:y0 + 128, x0:x0 + 128].copy()
        fake = i % 2 == 1
        if fake:
            crop[35:95, 29:89] = low[y0 + 35:y0 + 95, x0 + 29:x0 + 89]
        (root / f"im{i:02d}.jpg").write_bytes(_jpeg(crop, 90))
        items.append(Item(path=f"im{i:02d}.jpg", label="fake" if fake else "real", group=f"src{i // 2}",
                          attrs={"half": "first" if i < 8 else "second"}))
    Manifest(items, root).write(root / "manifest.jsonl")
    proto = {"name": "stack", "dataset": {"manifest": str(root / "manifest.jsonl")},
             "detectors": ["ela", "jpeg_grid_alignment"], "perturbations": ["none"], "metrics": ["binary"],
             "threshold": 0.5}
    (root / "proto.yaml").write_text(json.dumps(proto))
    result = CliRunner().invoke(app, ["bench", "run", str(root / "proto.yaml"), "--out", str(root / "run"),
                                      "--no-report"])
    assert result.exit_code == 0, result.output
    return root / "run"


def test_cli_verdict_fit_and_show_end_to_end(bench_run, tmp_path, photo):
    from unmask.cli import app

    out = tmp_path / "image.json"
    runner = CliRunner()
    result = runner.invoke(app, ["verdict", "fit", str(bench_run), "--out", str(out), "--folds", "4",
                                 "--target-fpr", "0.25", "--detectors", "ela,jpeg_grid_alignment"])
    assert result.exit_code == 0, result.output
    model = VerdictModel.load(out)
    assert set(model.detectors) <= {"ela", "jpeg_grid_alignment"} and model.modality == "image"
    assert model.name == "image-default" and model.thresholds["target_fpr"] == 0.25
    assert model.fitted_on["n"] == 16 and model.fitted_on["n_groups"] == 8
    assert model.fitted_on["runs"] == [str(bench_run)] and model.evaluation["folds"] == 4
    assert {r["detector"] for r in model.trust} == set(model.detectors)
    assert "trust" in result.output and "AUC" in result.output and str(out) in result.output
    assert "operating point" in result.output
    shown = runner.invoke(app, ["verdict", "show", str(out)])
    assert shown.exit_code == 0 and "ela" in shown.output and "held-out" in shown.output
    profile = runner.invoke(app, ["verdict", "fit", str(bench_run), "--out", str(tmp_path / "p.json"),
                                  "--folds", "4", "--profile", "fast"])  # the fast profile's detectors in the run
    assert profile.exit_code == 0, profile.output
    assert VerdictModel.load(tmp_path / "p.json").name == "image-fast"
    # the same run pooled twice: files in both runs share a group, so a file never sits in two folds
    twice = runner.invoke(app, ["verdict", "fit", str(bench_run), str(bench_run), "--out",
                                str(tmp_path / "2.json"), "--detectors", "ela"])
    assert twice.exit_code == 0, twice.output
    assert VerdictModel.load(tmp_path / "2.json").fitted_on["n"] == 32
    from unmask.verdict.dev import collect, load_runs, skip_rule

    half = collect(load_runs([bench_run]), "image", ["ela"], skip=skip_rule(["half=second"]))
    assert len(half.items) == 8 and {it.attrs["half"] for it in half.items} == {"first"}
    none = runner.invoke(app, ["verdict", "fit", str(bench_run), "--out", str(tmp_path / "h.json"),
                               "--skip", "half=first", "--skip", "half=second"])
    assert none.exit_code == 1 and "no item has a score" in none.output
    # scan with the model: the verdict is the model's calibrated probability
    image, report = tmp_path / "one.jpg", tmp_path / "r.jsonl"
    image.write_bytes(_jpeg(photo[:128, :128], 90))
    args = ["scan", str(image), "--detectors", "ela,jpeg_grid_alignment", "--json", str(report), "-q"]
    assert runner.invoke(app, [*args, "--verdict-model", str(out)]).exit_code == 0
    obj = json.loads(report.read_text())
    scores = {e["detector"]: e["score"] for e in obj["evidence"]}
    assert obj["verdict"]["calibrated"] and obj["verdict"]["probability"] == pytest.approx(model.probability(scores))
    assert obj["verdict"]["thresholds"]["manipulated"] == pytest.approx(model.thresholds["manipulated"])
    assert runner.invoke(app, [*args, "--verdict-model", "none"]).exit_code == 0
    assert json.loads(report.read_text())["verdict"]["method"] == "fallback"
    (tmp_path / "bad.json").write_text("{}")
    assert runner.invoke(app, [*args, "--verdict-model", str(tmp_path / "bad.json")]).exit_code == 2
    # scan workers build their analyzer from Settings, which carry the choice
    from unmask.scan import Settings, _build

    dets = ("ela", "jpeg_grid_alignment")
    assert _build(Settings(detectors=dets, verdict_model=str(out))).verdict_models["image"].source == str(out)
    assert _build(Settings(detectors=dets, verdict_model="none")).verdict_models == {}


def test_cli_verdict_errors(bench_run, tmp_path):
    from unmask.cli import app

    runner = CliRunner()
    out = ["--out", str(tmp_path / "m.json")]
    missing = runner.invoke(app, ["verdict", "fit", str(tmp_path / "nope"), *out])
    assert missing.exit_code == 2 and "no such run folder" in missing.output
    assert runner.invoke(app, ["verdict", "fit", str(tmp_path), *out]).exit_code == 2  # not a run folder
    unknown = runner.invoke(app, ["verdict", "fit", str(bench_run), *out, "--detectors", "ela,cfa"])
    assert unknown.exit_code == 2 and "'cfa' is in none of the runs" in unknown.output
    pert = runner.invoke(app, ["verdict", "fit", str(bench_run), *out, "--perturbation", "jpeg(q=75)"])
    assert pert.exit_code == 2 and "no perturbation" in pert.output
    assert runner.invoke(app, ["verdict", "show", str(tmp_path / "nope.json")]).exit_code == 2
    bad_skip = runner.invoke(app, ["verdict", "fit", str(bench_run), *out, "--skip", "nonsense"])
    assert bad_skip.exit_code == 2 and "ATTR=VALUE" in bad_skip.output
    assert not (tmp_path / "m.json").exists()


def test_cli_verdict_data_errors(bench_run, tmp_path):
    import shutil

    from unmask.cli import app
    from unmask.datasets import Manifest

    copy = tmp_path / "run"
    shutil.copytree(bench_run, copy)
    manifest = Manifest.read(copy / "manifest.jsonl")
    for item in manifest.items:
        item.label = "real"
    manifest.write(copy / "manifest.jsonl")
    result = CliRunner().invoke(app, ["verdict", "fit", str(copy), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "one class is present" in result.output
    shutil.rmtree(copy / "cache")  # a run not yet computed: no scores at all
    result = CliRunner().invoke(app, ["verdict", "fit", str(copy), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "no item has a score" in result.output
    assert CliRunner().invoke(app, ["verdict", "fit", str(bench_run), "--out", str(tmp_path / "m.json"),
                                    "--l2", "0"]).exit_code == 2
    assert not (tmp_path / "m.json").exists()


def test_a_profile_without_its_own_model_uses_the_default_one(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    _model().save(tmp_path / "data" / "video-default.json")
    monkeypatch.setattr(verdict_model.resources, "files", lambda package: tmp_path)
    assert verdict_model.packaged("video", "thorough").source == "package data video-default.json"
    assert verdict_model.packaged("video", "default").name == "image-default"  # the file's own name
    _model().save(tmp_path / "data" / "video-thorough.json")
    assert verdict_model.packaged("video", "thorough").source == "package data video-thorough.json"
    assert verdict_model.packaged("audio", "thorough") is None


def test_a_model_no_better_than_chance_calls_nothing_authentic():
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 400)
    faint = np.clip(rng.uniform(size=400) + 0.02 * y, 0, 1)  # next to nothing to do with the labels
    s = np.column_stack([faint, faint])
    model = fit_verdict(s, y, [f"g{i // 2}" for i in range(400)], DETS, "t")
    assert model.thresholds["authentic"] == 0.0 and model.thresholds["dev"]["authentic_called_authentic"] == 0.0
    good = fit_verdict(*_scores(400, 12), DETS, "t")
    assert good.thresholds["authentic"] > 0.0

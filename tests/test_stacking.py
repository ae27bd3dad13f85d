"""Stacking fusion: the logistic combiner's fit (weights, held-out metrics, missing scores, group folds), its
JSON store, fusion and Analyzer integration (version checks, posts, packaged model), and `unmask fuse`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from unmask import stacking
from unmask.analysis import Analyzer
from unmask.calibration.fit import logit, sigmoid
from unmask.detectors import Detector, Evidence, Registry
from unmask.fusion import fuse
from unmask.report.model import EvidenceEntry
from unmask.stacking import Feature, Stacker, fit_stacker, group_folds

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


def _trust(model: Stacker) -> dict[str, dict]:
    return {row["detector"]: row for row in model.trust}


# ------------------------------------------------------------------------------------------------ fitting


def test_weights_trust_the_informative_detector_and_held_out_metrics_are_good():
    s, y, groups = _scores(400, 0)
    model = fit_stacker(s, y, groups, DETS, folds=5, l2=1.0, target_fpr=0.1)
    trust = _trust(model)
    assert trust["informative"]["share"] > 0.85 and trust["informative"]["std_weight"] > 1.0
    assert abs(trust["noise"]["std_weight"]) < 0.15 * trust["informative"]["std_weight"]
    assert [r["detector"] for r in model.trust] == ["informative", "noise"]  # most trusted first
    ev = model.evaluation
    assert ev["folds"] == 5 and ev["n"] == 400 and ev["auc"] > 0.9 and ev["ece"] < 0.1 and ev["brier"] < 0.15
    assert trust["noise"]["auc_alone"] < 0.6 < 0.9 < trust["informative"]["auc_alone"]
    assert model.threshold["target_fpr"] == 0.1 and model.threshold["dev_fpr"] <= 0.1
    assert model.threshold["dev_tpr"] > 0.6
    # the model generalises: a fresh sample from the same source
    s2, y2, _ = _scores(1000, 1)
    from unmask.metrics import ece, roc_auc

    p = model.predict(s2, list(DETS))
    assert roc_auc(y2, p) > 0.9 and ece(y2, p) < 0.06


def test_logit_features_beat_raw_scores_on_saturating_scores():
    s, y, groups = _scores(300, 2)
    aucs = {t: fit_stacker(s, y, groups, DETS, transform=t).evaluation["auc"] for t in ("logit", "raw")}
    assert aucs["logit"] > aucs["raw"]


def test_stronger_l2_shrinks_the_weights():
    s, y, groups = _scores(200, 3)
    weak, strong = (abs(fit_stacker(s, y, groups, DETS, l2=l2).features[0].weight) for l2 in (0.01, 100.0))
    assert strong < 0.5 * weak


def test_missing_scores_are_filled_with_the_dev_mean_and_flagged():
    s, y, groups = _scores(400, 4, missing=0.3)
    model = fit_stacker(s, y, groups, DETS)
    kinds = [(f.detector, f.kind) for f in model.features]
    assert kinds == [("informative", "score"), ("informative", "missing"), ("noise", "score")]
    fill = model.features[0].mean
    present = s[np.isfinite(s[:, 0]), 0]
    assert fill == pytest.approx(float(np.mean(logit(present))))
    assert _trust(model)["informative"]["missing_share"] == pytest.approx(np.isnan(s[:, 0]).mean())
    assert model.evaluation["auc"] > 0.8
    # no score from a detector = its fill value plus the indicator; None and an absent key are the same
    p_none = model.probability({"informative": None, "noise": 0.5})
    assert p_none == model.probability({"noise": 0.5})
    x = np.array([fill, 1.0, float(logit(np.array([0.5]))[0])])
    expected = sigmoid(np.array([model.intercept + x @ [f.weight for f in model.features]]))[0]
    assert p_none == pytest.approx(expected)
    assert model.contributions({"noise": 0.5})["informative"] == pytest.approx(
        model.features[1].weight * (1.0 - model.features[1].mean))


def test_missingness_itself_can_be_evidence():
    s, y, groups = _scores(400, 5)
    s[(y == 1) & (np.arange(y.size) % 3 == 0), 0] = np.nan  # the detector often fails on fakes only
    model = fit_stacker(s, y, groups, DETS)
    (indicator,) = [f for f in model.features if f.kind == "missing"]
    assert indicator.weight > 0


def test_a_detector_without_any_score_is_left_out():
    s, y, groups = _scores(100, 6)
    s = np.column_stack([s, np.full(100, np.nan), np.full(100, 0.3)])
    model = fit_stacker(s, y, groups, {**DETS, "silent": "1", "constant": "1"})
    assert list(model.detectors) == ["informative", "noise"]
    assert model.fitted_on["left_out"] == {"silent": "no score on any dev item",
                                           "constant": "the same score on every dev item"}


def test_fit_refuses_one_class_and_a_single_group():
    s, y, groups = _scores(50, 7)
    with pytest.raises(ValueError, match="both real and fake"):
        fit_stacker(s, np.zeros(50, int), groups, DETS)
    with pytest.raises(ValueError, match="at least 2 groups"):
        fit_stacker(s, y, ["one"] * 50, DETS)


def test_group_folds_keep_groups_together_and_balance_classes():
    rng = np.random.default_rng(8)
    groups = [f"g{int(g)}" for g in rng.integers(0, 40, 300)]
    y = rng.integers(0, 2, 300)
    folds = group_folds(groups, y, 5, seed=1)
    for g in set(groups):
        assert len({int(f) for f, gg in zip(folds, groups, strict=True) if gg == g}) == 1
    sizes = np.bincount(folds)
    assert sizes.size == 5 and sizes.min() > 0.6 * sizes.max()
    assert np.array_equal(folds, group_folds(groups, y, 5, seed=1))
    assert group_folds(["a", "b", "c"], np.array([0, 1, 0]), 10).max() == 2  # at most one fold per group


# ------------------------------------------------------------------------------------------------ store


def test_round_trip_save_load(tmp_path):
    s, y, groups = _scores(200, 9, missing=0.2)
    model = fit_stacker(s, y, groups, DETS, fitted_on={"runs": ["r1"], "perturbation": "none"})
    path = model.save(tmp_path / "sub" / "image.json")
    obj = json.loads(path.read_text())
    assert obj["format"] == "unmask-stacker/1" and obj["modality"] == "image" and "source" not in obj
    assert obj["fitted_on"]["runs"] == ["r1"] and obj["fitted_on"]["n"] == 200 and obj["fitted_on"]["date"]
    back = Stacker.load(path)
    assert back.source == str(path) and back.detectors == model.detectors
    np.testing.assert_allclose(back.predict(s, list(DETS)), model.predict(s, list(DETS)))
    assert back.trust == model.trust and back.threshold == model.threshold
    path.write_text('{"format": "unmask-calibration/1"}')
    with pytest.raises(ValueError, match="not an unmask stacking model"):
        Stacker.load(path)
    with pytest.raises(ValueError, match="cannot read"):
        Stacker.load(tmp_path / "absent.json")


# ------------------------------------------------------------------------------------------------ fusion


def _model(**versions: str) -> Stacker:
    """alpha trusted (1.5 per logit unit), beta a little (0.2), intercept -0.3, no missing indicators."""
    v = {"alpha": "2", "beta": "2", **versions}
    return Stacker("image", v, [Feature("alpha", "score", 1.5, 0.0, 1.0), Feature("beta", "score", 0.2, 0.0, 1.0)],
                   -0.3)


def _p(alpha: float, beta: float) -> float:
    z = -0.3 + 1.5 * logit(np.array([alpha]))[0] + 0.2 * logit(np.array([beta]))[0]
    return float(sigmoid(np.array([z]))[0])


def _ev(name: str, score: float | None, summary: str | None = None, **kw) -> EvidenceEntry:
    return EvidenceEntry(detector=name, score=score, summary=summary or f"{name} says {score}", **kw)


def test_fuse_with_a_stacker_gives_its_calibrated_probability():
    evidence = [_ev("beta", 0.2), _ev("alpha", 0.9), _ev("other", 0.6), _ev("meta", None, "No metadata.")]
    verdict, reasons = fuse(evidence, stacker=_model())
    assert verdict.calibrated and verdict.probability == pytest.approx(_p(0.9, 0.2))
    assert verdict.label == "manipulated"  # 0.96 >= 0.7
    # ordered by contribution (alpha raised the log-odds, beta lowered them); the unknown detector is listed
    assert reasons == ["alpha says 0.9", "beta says 0.2", "other says 0.6", "No metadata."]
    fallback, _ = fuse(evidence)
    assert not fallback.calibrated and fallback.probability == pytest.approx(0.9)


def test_a_strong_finding_the_model_does_not_combine_is_not_silenced():
    metadata = _ev("metadata", 0.9, "Written by an AI image generator.", attribution={"ai-generated": 1.0})
    verdict, reasons = fuse([_ev("alpha", 0.2), _ev("beta", 0.3), metadata], stacker=_model())
    assert verdict.label == "ai-generated" and verdict.probability == pytest.approx(0.9)
    assert not verdict.calibrated and reasons[0] == "Written by an AI image generator."
    weaker = _ev("metadata", 0.9, "Edited.")  # below what the model says: the model's probability stands
    verdict, _ = fuse([_ev("alpha", 0.99), weaker], stacker=_model())
    assert verdict.calibrated and verdict.probability == pytest.approx(_p(0.99, 0.5))


def test_fuse_with_a_stacker_labels_and_ai_attribution():
    low, reasons = fuse([_ev("alpha", 0.1), _ev("beta", 0.3)], stacker=_model())
    assert low.label == "authentic" and low.probability == pytest.approx(_p(0.1, 0.3))
    assert reasons[0] == "alpha says 0.1"  # the strongest negative contribution first
    ai = [_ev("alpha", 0.95, attribution={"ai-generated": 0.9}), _ev("beta", 0.99)]
    assert fuse(ai, stacker=_model())[0].label == "ai-generated"  # alpha contributes most
    not_top = [_ev("alpha", 0.95), _ev("beta", 0.99, attribution={"ai-generated": 0.9})]
    assert fuse(not_top, stacker=_model())[0].label == "manipulated"


def test_fuse_uses_the_raw_score_of_a_calibrated_detector_and_provenance_stays_first():
    calibrated = _ev("alpha", 0.4, calibrated=True, details={"raw_score": 0.9, "calibration": {"method": "platt"}})
    verdict, _ = fuse([calibrated], stacker=_model())
    assert verdict.probability == pytest.approx(_p(0.9, 0.5))  # beta absent = its fill, logit(0.5) = 0
    decisive = _ev("watermark", 0.97, "SDXL watermark.", attribution={"ai-generated": 1.0},
                   details={"decisive": True})
    verdict, reasons = fuse([_ev("alpha", 0.01), decisive], stacker=_model())
    assert (verdict.label, verdict.probability, verdict.calibrated) == ("ai-generated", 0.97, False)
    assert reasons[0] == "SDXL watermark."


def test_fuse_falls_back_when_the_stacker_knows_no_scored_detector():
    verdict, _ = fuse([_ev("other", 0.8), _ev("alpha", None, "Not applicable.")], stacker=_model())
    assert not verdict.calibrated and verdict.probability == pytest.approx(0.8)


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


def test_analyzer_uses_a_matching_stacker(tmp_path):
    path = _model().save(tmp_path / "m.json")
    for given in (_model(), path, str(path)):
        report = _analyzer(fusion=given).analyze(_png(230))
        assert report.verdict.calibrated and report.verdict.probability == pytest.approx(_p(230 / 255, 0.2))
        assert not [e for e in report.errors if e.code == "fusion_ignored"]
    for off in ("none", False):
        assert not _analyzer(fusion=off).analyze(_png(230)).verdict.calibrated


def test_version_mismatch_or_missing_detector_is_ignored_with_a_note():
    report = _analyzer(fusion=_model(beta="1")).analyze(_png(230))
    assert not report.verdict.calibrated and report.verdict.probability == pytest.approx(230 / 255)
    (note,) = [e for e in report.errors if e.code == "fusion_ignored"]
    assert not note.fatal and "beta version 1 (running 2)" in note.message
    only_alpha = Analyzer(detectors=["alpha"], registry=Registry([Alpha, Beta]), fusion=_model())
    (note,) = [e for e in only_alpha.analyze(_png(230)).errors if e.code == "fusion_ignored"]
    assert "beta, which this analysis does not run" in note.message


def test_unreadable_given_model_fails_early(tmp_path):
    with pytest.raises(ValueError, match="cannot read stacking model"):
        _analyzer(fusion=tmp_path / "absent.json")


def test_packaged_model_used_unless_turned_off(monkeypatch):
    monkeypatch.setattr(stacking, "packaged", lambda modality: _model() if modality == "image" else None)
    assert _analyzer().analyze(_png(230)).verdict.calibrated
    assert not _analyzer(fusion="none").analyze(_png(230)).verdict.calibrated


def test_packaged_lookup_of_an_absent_modality_is_none():
    assert stacking.packaged("no-such-modality") is None


def test_post_images_are_stacked_and_the_post_takes_the_highest(tmp_path):
    for name, level in (("dark.png", 20), ("bright.png", 230)):
        (tmp_path / name).write_bytes(_png(level))
    post = tmp_path / "post.json"
    post.write_text(json.dumps({"text": "Look at this", "images": ["dark.png", "bright.png"]}))
    report = _analyzer(fusion=_model()).analyze(post)
    assert report.verdict.probability == pytest.approx(_p(230 / 255, 0.2))
    assert not report.verdict.calibrated  # the highest of two calibrated probabilities is not calibrated
    post.write_text(json.dumps({"text": "Look at this", "images": ["dark.png"]}))
    single = _analyzer(fusion=_model()).analyze(post)
    assert single.verdict.calibrated and single.verdict.probability == pytest.approx(_p(20 / 255, 0.2))


# ------------------------------------------------------------------------------------------------ CLI


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bench_run(photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`unmask bench run` with ela and jpeg_blocking on 16 small JPEGs: 8 real, 8 with a patch from a q=40
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
        items.append(Item(path=f"im{i:02d}.jpg", label="fake" if fake else "real", group=f"src{i // 2}"))
    Manifest(items, root).write(root / "manifest.jsonl")
    proto = {"name": "stack", "dataset": {"manifest": str(root / "manifest.jsonl")},
             "detectors": ["ela", "jpeg_blocking"], "perturbations": ["none"], "metrics": ["binary"],
             "threshold": 0.5}
    (root / "proto.yaml").write_text(json.dumps(proto))
    result = CliRunner().invoke(app, ["bench", "run", str(root / "proto.yaml"), "--out", str(root / "run"),
                                      "--no-report"])
    assert result.exit_code == 0, result.output
    return root / "run"


def test_cli_fuse_fit_and_show_end_to_end(bench_run, tmp_path, photo):
    from unmask.cli import app

    out = tmp_path / "image.json"
    runner = CliRunner()
    result = runner.invoke(app, ["fuse", "fit", str(bench_run), "--out", str(out), "--folds", "4",
                                 "--target-fpr", "0.25"])
    assert result.exit_code == 0, result.output
    model = Stacker.load(out)
    assert model.detectors == {"ela": "1", "jpeg_blocking": "1"} and model.modality == "image"
    assert model.fitted_on["n"] == 16 and model.fitted_on["n_groups"] == 8
    assert model.fitted_on["runs"] == [str(bench_run)] and model.evaluation["folds"] == 4
    assert {r["detector"] for r in model.trust} == {"ela", "jpeg_blocking"}
    assert "trust" in result.output and "AUC" in result.output and str(out) in result.output
    shown = runner.invoke(app, ["fuse", "show", str(out)])
    assert shown.exit_code == 0 and "jpeg_blocking" in shown.output and "held-out" in shown.output
    # the same run pooled twice: files in both runs share a group, so a file never sits in two folds
    twice = runner.invoke(app, ["fuse", "fit", str(bench_run), str(bench_run), "--out", str(tmp_path / "2.json"),
                                "--detectors", "ela"])
    assert twice.exit_code == 0, twice.output
    assert Stacker.load(tmp_path / "2.json").fitted_on["n"] == 32
    # scan with the model: the verdict is the model's calibrated probability
    image, report = tmp_path / "one.jpg", tmp_path / "r.jsonl"
    image.write_bytes(_jpeg(photo[:128, :128], 90))
    args = ["scan", str(image), "--detectors", "ela,jpeg_blocking", "--json", str(report), "-q"]
    assert runner.invoke(app, [*args, "--fusion", str(out)]).exit_code == 0
    obj = json.loads(report.read_text())
    scores = {e["detector"]: e["score"] for e in obj["evidence"]}
    assert obj["verdict"]["calibrated"] and obj["verdict"]["probability"] == pytest.approx(model.probability(scores))
    assert runner.invoke(app, [*args, "--fusion", "none"]).exit_code == 0
    assert not json.loads(report.read_text())["verdict"]["calibrated"]
    (tmp_path / "bad.json").write_text("{}")
    assert runner.invoke(app, [*args, "--fusion", str(tmp_path / "bad.json")]).exit_code == 2
    # scan workers build their analyzer from Settings, which carry the choice
    from unmask.scan import Settings, _build

    dets = ("ela", "jpeg_blocking")
    assert _build(Settings(detectors=dets, fusion=str(out))).stackers["image"].source == str(out)
    assert _build(Settings(detectors=dets, fusion="none")).stackers == {}


def test_cli_fuse_errors(bench_run, tmp_path):
    from unmask.cli import app

    runner = CliRunner()
    out = ["--out", str(tmp_path / "m.json")]
    missing = runner.invoke(app, ["fuse", "fit", str(tmp_path / "nope"), *out])
    assert missing.exit_code == 2 and "no such run folder" in missing.output
    assert runner.invoke(app, ["fuse", "fit", str(tmp_path), *out]).exit_code == 2  # not a run folder
    unknown = runner.invoke(app, ["fuse", "fit", str(bench_run), *out, "--detectors", "ela,cfa"])
    assert unknown.exit_code == 2 and "'cfa' is in none of the runs" in unknown.output
    pert = runner.invoke(app, ["fuse", "fit", str(bench_run), *out, "--perturbation", "jpeg(q=75)"])
    assert pert.exit_code == 2 and "no perturbation" in pert.output
    assert runner.invoke(app, ["fuse", "show", str(tmp_path / "nope.json")]).exit_code == 2
    assert not (tmp_path / "m.json").exists()


def test_cli_fuse_data_errors(bench_run, tmp_path):
    import shutil

    from unmask.cli import app
    from unmask.datasets import Manifest

    copy = tmp_path / "run"
    shutil.copytree(bench_run, copy)
    manifest = Manifest.read(copy / "manifest.jsonl")
    for item in manifest.items:
        item.label = "real"
    manifest.write(copy / "manifest.jsonl")
    result = CliRunner().invoke(app, ["fuse", "fit", str(copy), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "only one class" in result.output
    shutil.rmtree(copy / "cache")  # a run not yet computed: no scores at all
    result = CliRunner().invoke(app, ["fuse", "fit", str(copy), "--out", str(tmp_path / "m.json")])
    assert result.exit_code == 1 and "no item has a score" in result.output
    assert CliRunner().invoke(app, ["fuse", "fit", str(bench_run), "--out", str(tmp_path / "m.json"),
                                    "--l2", "0"]).exit_code == 2
    assert not (tmp_path / "m.json").exists()

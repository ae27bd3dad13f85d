"""Score calibration: Platt / temperature / isotonic fits (checked against references computed here), the
threshold at a target FPR, the JSON store, the Analyzer hook (calibrated=True, raw score kept, version mismatch
ignored with a warning), the CLI, and that applying a calibration never imports scikit-learn."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from unmask.analysis import Analyzer
from unmask.calibration import (
    Calibration,
    apply,
    fit,
    fit_calibration,
    fit_isotonic,
    fit_platt,
    fit_temperature,
    threshold_at_fpr,
)
from unmask.calibration import store as store_module
from unmask.calibration.fit import logit, platt_targets, sigmoid
from unmask.calibration.scoring import split_items
from unmask.cli.calibrate import calibrate
from unmask.datasets import Item
from unmask.detectors import Detector, Evidence, Registry
from unmask.errors import MissingDependency
from unmask.metrics import ece


def _logistic_data(a: float, b: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores uniform in [0, 1] and labels drawn from P(fake | s) = sigmoid(a s + b)."""
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.0, 1.0, n)
    return s, (rng.uniform(size=n) < sigmoid(a * s + b)).astype(int)


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True P(fake) = sigmoid(z) but the detector reports sigmoid(4 z + 1): overconfident and biased."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 1.5, n)
    y = (rng.uniform(size=n) < sigmoid(z)).astype(int)
    return sigmoid(4.0 * z + 1.0), y


# ------------------------------------------------------------------------------------------------ fitting


def test_platt_recovers_known_parameters():
    s, y = _logistic_data(6.0, -3.0, 40_000, seed=1)
    params = fit_platt(s, y)
    assert params["a"] == pytest.approx(6.0, abs=0.3)
    assert params["b"] == pytest.approx(-3.0, abs=0.15)


def test_platt_targets_keep_separable_data_finite():
    s = np.r_[np.linspace(0.0, 0.4, 20), np.linspace(0.6, 1.0, 20)]
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    params = fit_platt(s, y)
    p = apply("platt", params, s)
    assert np.isfinite(params["a"]) and params["a"] > 0
    # Platt's targets are 1/22 and 21/22: the fit must not push probabilities to exactly 0 or 1
    assert 0.0 < p.min() < 0.1 and 0.9 < p.max() < 1.0


def _soft_nll(theta: np.ndarray, s: np.ndarray, t: np.ndarray) -> float:
    z = theta[0] * s + theta[1]
    return float(np.sum(np.logaddexp(0.0, z) - t * z))


@pytest.mark.parametrize("data", ["separable", "overconfident", "few"])
def test_platt_matches_a_direct_minimisation_of_platts_objective(data):
    """The LogisticRegression fit equals scipy's unpenalised minimum of the cross-entropy against Platt's
    smoothed targets (the weak penalty moves a by far less than 1e-4)."""
    from scipy.optimize import minimize

    if data == "separable":
        s = np.r_[np.linspace(0.0, 0.4, 20), np.linspace(0.6, 1.0, 20)]
        y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    elif data == "overconfident":
        s, y = _overconfident(2000, seed=11)
    else:
        s, y = np.array([0.1, 0.35, 0.4, 0.8, 0.3, 0.9, 0.95]), np.array([0, 0, 0, 0, 1, 1, 1])
    t = platt_targets(y.astype(float))
    ref = minimize(_soft_nll, np.zeros(2), args=(s, t), method="BFGS", options={"gtol": 1e-10}).x
    params = fit_platt(s, y)
    np.testing.assert_allclose([params["a"], params["b"]], ref, rtol=1e-5, atol=1e-6)


def test_temperature_recovers_known_temperature_on_logits():
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 2.0, 30_000)
    y = (rng.uniform(size=z.size) < sigmoid(z)).astype(int)
    scores = sigmoid(3.0 * z)  # logits three times too large
    params = fit_temperature(scores, y)
    assert params["temperature"] == pytest.approx(3.0, rel=0.08)
    inside = np.abs(3.0 * z) < 13.0  # logit() clips scores to [1e-6, 1 - 1e-6], i.e. |logit| <= 13.8
    mapped = logit(apply("temperature", params, scores))
    np.testing.assert_allclose(mapped[inside], 3.0 * z[inside] / params["temperature"], rtol=1e-6, atol=1e-6)


def test_temperature_rejects_inverted_scores():
    s, y = _logistic_data(-8.0, 4.0, 2000, seed=3)
    with pytest.raises(ValueError, match="not positively related"):
        fit_temperature(s, y)


def test_temperature_on_sign_separable_scores_stops_at_the_bound():
    """No finite T minimises the NLL when logit(s) > 0 exactly for the fakes: T is the smallest allowed."""
    from unmask.calibration.fit import INV_TEMPERATURE_BOUNDS

    s = np.r_[np.linspace(0.0, 0.4, 20), np.linspace(0.6, 1.0, 20)]
    y = np.r_[np.zeros(20), np.ones(20)].astype(int)
    assert fit_temperature(s, y)["temperature"] == pytest.approx(1.0 / INV_TEMPERATURE_BOUNDS[1], rel=1e-6)


@pytest.mark.parametrize("seed", [12, 13])
def test_temperature_is_where_the_nll_gradient_vanishes(seed):
    """Independent of the minimiser: 1 / T is the root (scipy brentq) of d NLL / du = sum (sigmoid(u x) - y) x."""
    from scipy.optimize import brentq

    s, y = _overconfident(1500, seed=seed)
    x = logit(s)
    u = brentq(lambda u: float(np.sum((sigmoid(u * x) - y) * x)), 1e-3, 1e2, xtol=1e-14)
    assert fit_temperature(s, y)["temperature"] == pytest.approx(1.0 / u, rel=1e-6)


def _tied(fakes_of_five: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Five items at each score 0.1, 0.2, ...: the k-th score has fakes_of_five[k] fakes among them."""
    s = np.repeat(np.arange(1, len(fakes_of_five) + 1) / 10.0, 5)
    y = np.concatenate([np.r_[np.ones(k), np.zeros(5 - k)] for k in fakes_of_five]).astype(int)
    return s, y


def test_isotonic_hand_worked_pooling():
    # shares 1, 3, 2, 4, 3, 5 (/5): 3 > 2 pools to 2.5; then 4 > 3 pools to 3.5
    s, y = _tied([1, 3, 2, 4, 3, 5])
    np.testing.assert_allclose(apply("isotonic", fit_isotonic(s, y), np.unique(s)),
                               np.array([1, 2.5, 2.5, 3.5, 3.5, 5]) / 5)
    # a cascade: 5 > 1 pools to 3, 3 > 0 pools (5, 1, 0) to 2, then 3 > 2 pools everything to 9 / 4
    s, y = _tied([3, 5, 1, 0])
    np.testing.assert_allclose(apply("isotonic", fit_isotonic(s, y), np.unique(s)), [2.25 / 5] * 4)
    # unequal block sizes: three fakes at 0.1, one real at 0.2 pool to 3 / 4
    np.testing.assert_allclose(apply("isotonic", fit_isotonic([0.1] * 3 + [0.2], [1, 1, 1, 0]), [0.1, 0.2]),
                               [0.75, 0.75])


def test_isotonic_matches_the_min_max_formula():
    """The monotone least-squares fit at the i-th distinct score is max_{j<=i} min_{k>=i} mean(y_j..y_k)
    (Barlow et al. 1972), computed here by brute force over the pooled distinct scores."""
    rng = np.random.default_rng(14)
    s = rng.choice(np.linspace(0.0, 1.0, 40), 300)
    y = (rng.uniform(size=s.size) < s**2).astype(int)
    xs = np.unique(s)
    sums = np.array([y[s == x].sum() for x in xs], dtype=float)
    counts = np.array([(s == x).sum() for x in xs], dtype=float)
    n = xs.size
    ref = [max(min(sums[j:k + 1].sum() / counts[j:k + 1].sum() for k in range(i, n)) for j in range(i + 1))
           for i in range(n)]
    np.testing.assert_allclose(apply("isotonic", fit_isotonic(s, y), xs), ref, atol=1e-12)


def test_isotonic_example_and_monotone():
    params = fit_isotonic([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 1, 0, 1, 0, 1])
    assert params == {"x": [0.1, 0.2, 0.5, 0.6], "y": [0.0, 0.5, 0.5, 1.0]}
    s, y = _overconfident(3000, seed=4)
    grid = np.linspace(-0.5, 1.5, 501)
    mapped = apply("isotonic", fit_isotonic(s, y), grid)
    assert np.all(np.diff(mapped) >= 0) and mapped.min() >= 0 and mapped.max() <= 1


def test_isotonic_pools_tied_scores():
    params = fit_isotonic([0.5, 0.5, 0.5, 0.9], [0, 0, 1, 1])
    assert apply("isotonic", params, [0.5])[0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("method", ["platt", "temperature", "isotonic"])
def test_calibration_lowers_held_out_ece(method):
    s_dev, y_dev = _overconfident(4000, seed=5)
    s_test, y_test = _overconfident(4000, seed=6)
    before = ece(y_test, s_test)
    after = ece(y_test, apply(method, fit(method, s_dev, y_dev), s_test))
    assert before > 0.08
    assert after < before / 2


def test_fit_rejects_one_class_and_unknown_method():
    with pytest.raises(ValueError, match="both real and fake"):
        fit_platt([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit("beta", [0.1, 0.9], [0, 1])


@pytest.mark.parametrize("method", ["platt", "temperature", "isotonic"])
def test_fitting_without_scikit_learn_names_the_extra(method, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    with pytest.raises(MissingDependency, match=r'pip install "unmask\[bench\]"'):
        fit(method, [0.1, 0.9], [0, 1])


# ------------------------------------------------------------------------------------------------ threshold


def test_threshold_at_fpr_exact_on_dev():
    s = np.r_[np.arange(1, 21) / 20.0, [0.9, 0.95, 1.0]]
    y = np.r_[np.zeros(20), np.ones(3)].astype(int)
    # 20 reals at 0.05 .. 1.0: FPR <= 10% allows the top 2 reals, so the lowest such score is 0.95
    assert threshold_at_fpr(s, y, 0.10) == pytest.approx(0.95)
    assert threshold_at_fpr(s, y, 0.0) > 1.0  # no score keeps every real below it except above the maximum


def test_threshold_on_dev_holds_on_held_out():
    s_dev, y_dev = _overconfident(6000, seed=7)
    s_test, y_test = _overconfident(6000, seed=8)
    cal = fit_calibration("toy", "1", "platt", (s_dev, y_dev), (s_test, y_test), target_fpr=0.05)
    assert cal.threshold["dev_fpr"] <= 0.05
    assert cal.evaluation["fpr"] == pytest.approx(0.05, abs=0.015)
    assert cal.evaluation["ece_after"] < cal.evaluation["ece_before"]
    assert cal.fitted_on["n"] == 6000 and cal.evaluation["n"] == 6000


# ------------------------------------------------------------------------------------------------ store


def test_store_round_trip(tmp_path):
    s, y = _overconfident(500, seed=9)
    for method in ("platt", "temperature", "isotonic"):
        cal = fit_calibration("ela", "1", method, (s, y), (s, y), fitted_on={"manifest": "m.csv"})
        path = cal.save(tmp_path / f"{method}.json")
        back = Calibration.load(path)
        assert back.to_dict() == json.loads(path.read_text())
        assert back.method == method and back.fitted_on["manifest"] == "m.csv" and back.source == str(path)
        np.testing.assert_allclose(back(s), cal(s))


def test_files_fitted_before_scikit_learn_still_apply(tmp_path):
    """Parameters as the numpy fitters stored them (same format, same fields) load and apply unchanged."""
    stored = {"platt": {"a": 4.0, "b": -1.0}, "temperature": {"temperature": 2.0},
              "isotonic": {"x": [0.1, 0.2, 0.5, 0.6], "y": [0.0, 0.5, 0.5, 1.0]}}
    for method, params in stored.items():
        path = tmp_path / f"{method}.json"
        path.write_text(json.dumps({"format": "unmask-calibration/1", "detector": "ela", "detector_version": "1",
                                    "method": method, "params": params}))
        stored[method] = Calibration.load(path)([0.0, 0.15, 0.3, 0.75])
    np.testing.assert_allclose(stored["platt"], sigmoid(4.0 * np.array([0.0, 0.15, 0.3, 0.75]) - 1.0))
    np.testing.assert_allclose(stored["temperature"], sigmoid(logit(np.array([0.0, 0.15, 0.3, 0.75])) / 2.0))
    np.testing.assert_allclose(stored["isotonic"], [0.0, 0.25, 0.5, 1.0])


_APPLY_ONLY = """
import sys
import unmask, unmask.analysis
from unmask.calibration import Calibration, calibrate_evidence
from unmask.detectors import Evidence
for path in sys.argv[1:]:
    cal = Calibration.load(path)
    cal([0.1, 0.5, 0.9])
    calibrate_evidence(cal, Evidence(score=0.7, summary="x"))
print(sorted(m for m in sys.modules if m.split(".")[0] == "sklearn"))
"""


def test_applying_a_calibration_does_not_import_scikit_learn(tmp_path):
    s, y = _overconfident(300, seed=15)
    paths = [str(fit_calibration("ela", "1", m, (s, y)).save(tmp_path / f"{m}.json")) for m in
             ("platt", "temperature", "isotonic")]
    out = subprocess.run([sys.executable, "-c", _APPLY_ONLY, *paths], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_store_rejects_foreign_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"detector": "ela"}')
    with pytest.raises(ValueError, match="not an unmask calibration"):
        Calibration.load(path)


# ------------------------------------------------------------------------------------------------ hook


class FixedScore(Detector):
    name = "fixed_score"
    version = "2"
    modalities = ("image",)

    def predict(self, media):
        return 0.4

    def to_evidence(self, native, media):
        return Evidence(score=native, summary="A fixed score.")


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _platt(version: str = "2") -> Calibration:
    return Calibration("fixed_score", version, "platt", {"a": 4.0, "b": -1.0}, fitted_on={"manifest": "m"})


def _entry(report):
    (entry,) = [e for e in report.evidence if e.detector == "fixed_score"]
    return entry


def test_analyzer_applies_calibration_and_keeps_raw_score(tmp_path):
    path = _platt().save(tmp_path / "fixed.json")
    registry = Registry([FixedScore])
    for given in (path, str(path), _platt()):
        report = Analyzer(detectors=["fixed_score"], registry=registry,
                          calibrations={"fixed_score": given}).analyze(_png())
        entry = _entry(report)
        assert entry.calibrated is True
        assert entry.details["raw_score"] == pytest.approx(0.4)
        assert entry.score == pytest.approx(float(sigmoid(np.array([4.0 * 0.4 - 1.0]))[0]))
        assert report.verdict.calibrated is True  # the only scored detector is now calibrated
        assert json.loads(report.to_json())["evidence"][0]["details"]["raw_score"] == pytest.approx(0.4)
    plain = _entry(Analyzer(detectors=["fixed_score"], registry=registry).analyze(_png()))
    assert plain.calibrated is False and plain.score == pytest.approx(0.4) and "raw_score" not in plain.details


def test_version_mismatch_is_ignored_with_a_warning():
    report = Analyzer(detectors=["fixed_score"], registry=Registry([FixedScore]),
                      calibrations={"fixed_score": _platt(version="1")}).analyze(_png())
    entry = _entry(report)
    assert entry.calibrated is False and entry.score == pytest.approx(0.4)
    (warning,) = [e for e in report.errors if e.code == "calibration_ignored"]
    assert not warning.fatal and warning.detector == "fixed_score" and "version 1" in warning.message


def test_packaged_calibration_used_unless_turned_off(monkeypatch):
    monkeypatch.setattr(store_module, "packaged", lambda name: _platt() if name == "fixed_score" else None)
    registry = Registry([FixedScore])
    assert _entry(Analyzer(detectors=["fixed_score"], registry=registry).analyze(_png())).calibrated
    off = Analyzer(detectors=["fixed_score"], registry=registry, calibrations={"fixed_score": None})
    assert not _entry(off.analyze(_png())).calibrated


def test_missing_given_calibration_file_fails_early(tmp_path):
    with pytest.raises(ValueError, match="cannot read calibration"):
        Analyzer(detectors=["fixed_score"], registry=Registry([FixedScore]),
                 calibrations={"fixed_score": tmp_path / "nope.json"})


# ------------------------------------------------------------------------------------------------ splits, CLI


def test_group_split_never_straddles_and_is_seeded():
    items = [Item(path=f"{i}.jpg", label="fake" if i % 2 else "real", group=f"g{i // 3}") for i in range(60)]
    dev, held, how = split_items(items, "dev", "test", seed=3)
    groups_dev, groups_held = {it.group for it in dev}, {it.group for it in held}
    assert not groups_dev & groups_held and len(dev) + len(held) == 60 and "group" in how
    assert 24 <= len(dev) <= 36
    again, _, _ = split_items(items, "dev", "test", seed=3)
    assert [it.path for it in again] == [it.path for it in dev]


def test_manifest_split_column_is_used_and_checked():
    items = [Item(path=f"{i}.jpg", split="dev" if i < 4 else "val") for i in range(8)]
    dev, held, _ = split_items(items, "dev", "val")
    assert len(dev) == 4 and all(it.split == "val" for it in held)
    with pytest.raises(ValueError, match="no item has split 'test'"):
        split_items(items, "dev", "test")


def _jpeg(rgb: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _tiny_manifest(tmp_path, photo) -> str:
    """12 JPEGs from crops of the test photo: reals saved once, fakes with a patch pasted from a q50 copy."""
    rows = []
    low = np.asarray(Image.open(io.BytesIO(_jpeg(photo, 50))).convert("RGB"))
    for i in range(12):
        y0, x0 = 16 * (i % 4), 16 * (i // 4)
        crop = photo[y0:y0 + 256, x0:x0 + 256].copy()
        fake = i % 2 == 1
        if fake:
            crop[64:160, 64:160] = low[y0 + 200:y0 + 296, x0 + 200:x0 + 296]
        (tmp_path / f"im{i:02d}.jpg").write_bytes(_jpeg(crop, 92))
        rows.append({"path": f"im{i:02d}.jpg", "label": "fake" if fake else "real",
                     "split": "dev" if i < 8 else "test", "group": f"g{i}"})
    path = tmp_path / "manifest.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(calibrate)
    return app


def test_cli_calibrates_ela_on_a_tiny_manifest(tmp_path, photo):
    manifest = _tiny_manifest(tmp_path, photo)
    out, scores = tmp_path / "ela.json", tmp_path / "scores.csv"
    result = CliRunner().invoke(_app(), ["ela", manifest, "--method", "isotonic", "--target-fpr", "0.25",
                                         "--out", str(out), "--scores", str(scores)])
    assert result.exit_code == 0, result.output
    assert "ECE" in result.output and str(out) in result.output
    cal = Calibration.load(out)
    assert (cal.detector, cal.detector_version, cal.method) == ("ela", "1", "isotonic")
    assert cal.fitted_on["n"] == 8 and cal.fitted_on["split"] == "dev" and cal.fitted_on["date"]
    assert cal.evaluation["split"] == "test" and cal.evaluation["n"] == 4
    assert cal.threshold["target_fpr"] == 0.25 and cal.threshold["dev_fpr"] <= 0.25
    assert len(scores.read_text().splitlines()) == 13


def test_cli_usage_errors(tmp_path, photo):
    manifest = _tiny_manifest(tmp_path, photo)
    runner = CliRunner()
    assert runner.invoke(_app(), ["ela", manifest, "--method", "beta"]).exit_code == 2
    assert runner.invoke(_app(), ["no_such_detector", manifest]).exit_code == 2
    assert runner.invoke(_app(), ["ela", manifest, "--eval-split", "val"]).exit_code == 2


def test_cli_without_scikit_learn_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    result = CliRunner().invoke(_app(), ["ela", str(tmp_path / "never_read.csv")])
    assert result.exit_code == 1 and 'pip install "unmask[bench]"' in result.output


def test_scan_applies_a_calibration_file(tmp_path, photo):
    from unmask.cli import app

    manifest = _tiny_manifest(tmp_path, photo)
    cal = tmp_path / "ela.json"
    assert CliRunner().invoke(app, ["calibrate", "ela", manifest, "--method", "platt", "--out", str(cal)]).exit_code == 0
    image, out = tmp_path / "one.jpg", tmp_path / "r.jsonl"
    Image.fromarray(photo).save(image, quality=90)
    args = ["scan", str(image), "--detectors", "ela", "--json", str(out), "-q"]
    result = CliRunner().invoke(app, [*args, "--calibration", str(cal)])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(out.read_text())["evidence"]
    assert entry["calibrated"] and "raw_score" in entry["details"]
    (tmp_path / "bad.json").write_text("{}")
    assert CliRunner().invoke(app, [*args, "--calibration", str(tmp_path / "bad.json")]).exit_code == 2

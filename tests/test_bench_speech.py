"""The bench's speech families on a tiny synthetic audio set: spoofing (ASVspoof EER, AUC, rates, min t-DCF,
per generator) and temporal (segment AP) tables against direct metric calls; the tdcf block; old caches."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("yaml")
pytest.importorskip("pyarrow")
pytest.importorskip("soundfile")

import soundfile as sf

import unmask
from unmask.bench import DataMissing, ProtocolError, ResultCache, load_protocol, run_protocol, write_report
from unmask.detectors import Registry
from unmask.detectors.base import Detector
from unmask.detectors.evidence import Evidence
from unmask.detectors.segments import segments
from unmask.metrics import activitynet_ap, activitynet_map, eer, min_tdcf, min_tdcf_from_weights, roc_auc
from unmask.perturb import parse

RATE, DURATION, BLOCK = 16000, 3.0, 0.25
WEIGHTS = {"c0": 0.1, "c1": 0.5, "c2": 0.8}
# (name, label, loud spans with amplitudes, generator, whether the manifest lists the spans as segments)
CLIPS = [
    ("real0", "real", [], None, False),
    ("real1", "real", [], None, False),
    ("real2", "real", [((1.0, 2.0), 0.6)], None, False),  # a loud burst: a false alarm
    ("real3", "real", [((2.0, 2.5), 0.15)], None, False),
    ("fake0", "fake", [((0.5, 1.5), 0.6)], "gen_a", True),
    ("fake1", "fake", [((1.0, 2.5), 0.4)], "gen_a", True),
    ("fake2", "fake", [((2.0, 3.0), 0.12)], "gen_b", True),  # too quiet to flag
    ("fake3", "fake", [((0.0, 0.75), 0.8), ((2.25, 3.0), 0.5)], "gen_b", True),
    ("fake4", "fake", [((0.0, 3.0), 0.3)], "gen_c", False),  # wholly fake: no segment labels
    ("fake5", "fake", [((0.0, 3.0), 0.2)], "gen_c", False),
]


class LoudSpans(Detector):
    """Test detector: per 0.25-s block p = rms / (rms + 0.25); segments = runs of p >= 0.5; score = mean of
    the 4 highest blocks. Loud stretches are 'synthetic'."""

    name = "loud_spans"
    version = "1"
    modalities = ("audio",)
    outputs = ("score", "segments")

    def predict(self, media: Any) -> Any:
        from unmask.audio.signal import load

        x = load(media)
        n = int(BLOCK * RATE)
        blocks = x[: x.size // n * n].reshape(-1, n)
        rms = np.sqrt(np.mean(blocks.astype(np.float64) ** 2, axis=1))
        return rms / (rms + 0.25), x.size / RATE

    def to_evidence(self, native: Any, media: Any) -> Evidence:
        p, duration = native
        centres = (np.arange(p.size) + 0.5) * BLOCK
        found = segments(centres.tolist(), p.tolist(), 0.5, duration, "loud")
        return Evidence(score=float(np.mean(np.sort(p)[-4:])), summary="test", segments=found)


def _clip(spans: list[tuple[tuple[float, float], float]], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.03, int(DURATION * RATE))
    for (a, b), amp in spans:
        i, j = int(a * RATE), int(b * RATE)
        x[i:j] += rng.normal(0.0, amp, j - i)
    return np.clip(x, -1.0, 1.0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CLIPS as 16-kHz FLAC files with a CSV manifest (segments as JSON), plus one corrupt file."""
    root = tmp_path_factory.mktemp("speech_bench")
    rows = []
    for k, (name, label, spans, gen, labelled) in enumerate(CLIPS):
        sf.write(root / f"{name}.flac", _clip(spans, k), RATE, format="FLAC", subtype="PCM_16")
        rows.append({"path": f"{name}.flac", "label": label, "generator": gen or "",
                     "segments": json.dumps([list(s) for s, _ in spans]) if labelled else ""})
    (root / "broken.flac").write_bytes(b"fLaC not really")
    rows.append({"path": "broken.flac", "label": "real", "generator": "", "segments": ""})
    with (root / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path", "label", "generator", "segments"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def _protocol(folder: Path, dataset: Path, **extra: object) -> Path:
    text = {"name": "speech_tiny", "dataset": {"manifest": str(dataset / "manifest.csv")},
            "detectors": ["loud_spans"], "perturbations": ["none", "gain(-6)"],
            "metrics": ["spoofing", "temporal"], "threshold": 0.5, **extra}
    path = folder / "proto.yaml"
    path.write_text(json.dumps(text))  # JSON is YAML
    return path


def _run(folder: Path, dataset: Path, **extra: object) -> Path:
    proto = load_protocol(_protocol(folder, dataset, **extra))
    run_protocol(proto, folder / "run", registry=Registry([LoudSpans]), progress=False)
    return write_report(folder / "run").parent


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _num(value: str) -> float | None:
    return float(value) if value not in ("", None) else None


def _direct(dataset: Path, spec: str) -> list[tuple[str, int, float, np.ndarray, list[list[float]] | None, str]]:
    """(path, y, score, proposals [score, start, end], GT segments, generator) per item, the detector run here."""
    from unmask.datasets import Manifest

    manifest = Manifest.read(dataset / "manifest.csv")
    detector = LoudSpans()
    out = []
    for item in manifest:
        data = manifest.resolve(item.path).read_bytes()
        try:
            ev = detector.analyze(unmask.load(data if spec == "none" else parse(spec).apply(data, 0)))
        except Exception:
            ev = None
        score = 0.0 if ev is None else ev.score
        props = np.array([[s.score, s.start_s, s.end_s] for s in ev.segments]) if ev else np.zeros((0, 3))
        out.append((item.path, item.y, score, props.reshape(-1, 3), item.segments, item.attrs.get("generator", "")))
    return out


def test_spoofing_and_temporal_tables_match_direct_metrics(dataset: Path, tmp_path: Path) -> None:
    folder = _run(tmp_path, dataset, tdcf=WEIGHTS)
    text = (folder / "report.md").read_text()
    assert "## Anti-spoofing" in text and "ASVspoof recipe" in text and "## Temporal localization" in text
    assert "## Anti-spoofing per generator" in text and "## Detection" not in text  # binary not asked for
    spoof = {r["perturbation"]: r for r in _csv(folder / "spoofing.csv")}
    gens = {(r["perturbation"], r["generator"]): r for r in _csv(folder / "spoofing_generators.csv")}
    temporal = {r["perturbation"]: r for r in _csv(folder / "temporal.csv")}
    assert set(spoof) == set(temporal) == {"none", "gain(db=-6.0)"}
    for spec in spoof:
        items = _direct(dataset, spec)
        y = np.array([i[1] for i in items])
        s = np.array([i[2] for i in items])
        row = spoof[spec]
        assert (int(row["n"]), int(row["n_fake"]), int(row["errors"])) == (len(CLIPS) + 1, 6, 1)
        assert _num(row["eer"]) == pytest.approx(eer(1 - y, -s, "asvspoof"))
        assert _num(row["auc"]) == pytest.approx(roc_auc(y, s))
        assert _num(row["false_alarms"]) == pytest.approx(np.mean(s[y == 0] >= 0.5))
        assert _num(row["detected"]) == pytest.approx(np.mean(s[y == 1] >= 0.5))
        assert _num(row["min_tdcf"]) == pytest.approx(min_tdcf_from_weights(-s[y == 0], -s[y == 1], **WEIGHTS))
        assert "precomputed" in row["tdcf_asv"]
        for gen in ("gen_a", "gen_b", "gen_c"):
            pick = (y == 0) | np.array([i[5] == gen for i in items])
            assert _num(gens[(spec, gen)]["eer"]) == pytest.approx(eer(1 - y[pick], -s[pick], "asvspoof"))
            assert int(gens[(spec, gen)]["n_fake"]) == 2
        # temporal: labelled fakes + real items; the wholly fake, unlabelled clips are left out
        kept = {i[0]: i for i in items if i[4] or i[1] == 0}
        preds = {k: v[3] for k, v in kept.items()}
        gts = {k: np.array(v[4] or np.zeros((0, 2))) for k, v in kept.items()}
        want = activitynet_ap(preds, gts, (0.5, 0.75))
        t = temporal[spec]
        assert (int(t["n"]), int(t["n_gt"]), int(t["fake_unlabelled"]), int(t["no_result"])) == (9, 5, 2, 1)
        assert _num(t["ap@0.5"]) == pytest.approx(want[0.5])
        assert _num(t["ap@0.75"]) == pytest.approx(want[0.75])
        assert _num(t["map"]) == pytest.approx(activitynet_map(preds, gts))
        reals = [v for v in kept.values() if v[1] == 0]
        assert _num(t["real_flagged"]) == pytest.approx(np.mean([v[3].shape[0] > 0 for v in reals]))
    # the synthetic set is built so that these are not degenerate
    none = spoof["none"]
    assert 0 < _num(none["eer"]) < 0.5 and 0 < _num(none["false_alarms"]) < 1
    assert 0 < _num(temporal["none"]["ap@0.5"]) < 1


def test_tdcf_from_asv_scores_file_and_without_asv_side(dataset: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    tar, non, spf = rng.normal(3, 1, 40), rng.normal(-2, 1, 60), rng.normal(1, 1.5, 50)
    lines = ["# speaker key score"] + [f"LA_{i:04d} {key} {v:.6f}" for key, values in
                                       (("target", tar), ("nontarget", non), ("spoof", spf))
                                       for i, v in enumerate(values)]
    (tmp_path / "asv.txt").write_text("\n".join(lines) + "\n")
    tar, non, spf = (np.round(a, 6) for a in (tar, non, spf))
    folder = _run(tmp_path, dataset, perturbations=["none"], metrics=["spoofing"],
                  tdcf={"asv_scores": "asv.txt", "version": "2019"})
    items = _direct(dataset, "none")
    y, s = np.array([i[1] for i in items]), np.array([i[2] for i in items])
    (row,) = _csv(folder / "spoofing.csv")
    assert _num(row["min_tdcf"]) == pytest.approx(min_tdcf(-s[y == 0], -s[y == 1], tar, non, spf, "2019"))
    assert "asv.txt" in row["tdcf_asv"] and "2019" in row["tdcf_asv"]
    assert "40 target, 60 non-target, 50 spoof" in (folder / "report.md").read_text()
    assert not (folder / "temporal.csv").exists()

    other = tmp_path / "plain"
    other.mkdir()
    (row,) = _csv(_run(other, dataset, perturbations=["none"], metrics=["spoofing"]) / "spoofing.csv")
    assert row["min_tdcf"] == "" and row["tdcf_asv"] == "no ASV side in the protocol"
    assert _num(row["eer"]) == pytest.approx(eer(1 - y, -s, "asvspoof"))


@pytest.mark.parametrize(("block", "message"), [
    ({"c0": 0.1, "c1": 0.5}, "needs all of c0, c1 and c2"),
    ({"c0": 0.1, "c1": -0.5, "c2": 1}, ">= 0"),
    ({"c0": 0, "c1": 0, "c2": 1}, "c0 \\+ min\\(c1, c2\\) > 0"),
    ({"c0": "x", "c1": 1, "c2": 1}, "must be numbers"),
    ({"c0": 0.1, "c1": 0.5, "c2": 1, "asv_scores": "a.txt"}, "not both"),
    ({"asv_scores": "a.txt", "version": "2020"}, "version must be one of 2019, 2021"),
    ({"asv_score": "a.txt"}, "takes c0, c1, c2 or asv_scores"),
    ("weights.npy", "takes a mapping"),
])
def test_bad_tdcf_block_is_a_protocol_error(tmp_path: Path, dataset: Path, block: object, message: str) -> None:
    with pytest.raises(ProtocolError, match=message):
        load_protocol(_protocol(tmp_path, dataset, tdcf=block))


def test_asv_score_file_missing_or_malformed(tmp_path: Path, dataset: Path) -> None:
    proto = load_protocol(_protocol(tmp_path, dataset, tdcf={"asv_scores": "nowhere.txt"}))
    with pytest.raises(DataMissing, match="ASV score file not found"):
        run_protocol(proto, tmp_path / "run", registry=Registry([LoudSpans]), progress=False)
    assert not (tmp_path / "run").exists()  # nothing written before the check
    (tmp_path / "bad.txt").write_text("LA_0001 target 1.5\nLA_0002 bonafide 0.3\n")
    proto = load_protocol(_protocol(tmp_path, dataset, tdcf={"asv_scores": "bad.txt"}))
    with pytest.raises(ProtocolError, match="line 2"):
        proto.tdcf_weights()
    assert "unknown metric family" in _protocol_error(tmp_path, dataset, metrics=["spoof"])


def _protocol_error(folder: Path, dataset: Path, **extra: object) -> str:
    with pytest.raises(ProtocolError) as info:
        load_protocol(_protocol(folder, dataset, **extra))
    return str(info.value)


def test_cached_segments_and_old_caches_without_them(dataset: Path, tmp_path: Path) -> None:
    """Rows keep the evidence's segments; rows of a cache written before the column existed are recomputed
    when the protocol asks for temporal metrics (not scored as 'no segment'), and kept otherwise."""
    import pyarrow.parquet as pq

    proto = load_protocol(_protocol(tmp_path, dataset, perturbations=["none"]))
    registry = Registry([LoudSpans])
    run_protocol(proto, tmp_path / "run", registry=registry, progress=False)
    rows = {Path(r["item"]).name: r for r in ResultCache(tmp_path / "run").rows()}
    direct = {Path(i[0]).name: i[3] for i in _direct(dataset, "none")}
    for name, row in rows.items():
        if row["status"] == "ok":
            stored = np.array(json.loads(row["segments"])).reshape(-1, 3)
            assert np.allclose(stored[:, [2, 0, 1]], direct[name])
    assert json.loads(rows["real0.flac"]["segments"]) == [] and rows["broken.flac"]["segments"] is None
    for part in (tmp_path / "run" / "cache").glob("part-*.parquet"):  # make it an old-format cache
        pq.write_table(pq.read_table(part).drop(["segments"]), part)
    plain = load_protocol(_protocol(tmp_path, dataset, perturbations=["none"], metrics=["spoofing"]))
    assert run_protocol(plain, tmp_path / "run", registry=registry, progress=False).computed == 0
    again = run_protocol(proto, tmp_path / "run", registry=registry, progress=False)
    assert (again.computed, again.cached) == (len(CLIPS), 1)  # every ok row; the error row stays
    (t,) = _csv(write_report(tmp_path / "run").parent / "temporal.csv")
    assert float(t["ap@0.5"]) > 0


def test_lfcc_gmm_segments_reach_the_tables(tmp_path: Path) -> None:
    """The shipped lfcc_gmm through the runner: its cached score and segments are those of a direct call."""
    from unmask.learned.store import weights_dir

    if not (weights_dir() / "lfcc_gmm.safetensors").is_file():
        pytest.skip("lfcc_gmm weights are not in this checkout")
    pytest.importorskip("scipy")
    root = tmp_path / "data"
    root.mkdir()
    speech, _ = sf.read(Path(__file__).with_name("assets") / "speech_espeak.flac", dtype="float32")  # 16 kHz
    rng = np.random.default_rng(0)
    sf.write(root / "a.flac", speech[: 4 * RATE], RATE, format="FLAC")
    noisy = speech[5 * RATE:9 * RATE] + rng.normal(0, 0.02, 4 * RATE).astype(np.float32)
    sf.write(root / "b.flac", np.clip(noisy, -1, 1), RATE, format="FLAC")
    (root / "m.csv").write_text('path,label,segments\na.flac,real,\nb.flac,fake,"[[0.0, 2.0]]"\n')
    proto = tmp_path / "p.yaml"
    proto.write_text(json.dumps({"dataset": str(root / "m.csv"), "detectors": ["lfcc_gmm"],
                                 "metrics": ["spoofing", "temporal"]}))
    run_protocol(load_protocol(proto), tmp_path / "run", progress=False)
    folder = write_report(tmp_path / "run").parent
    rows = {Path(r["item"]).name: r for r in ResultCache(tmp_path / "run").rows()}
    det = Registry.default().get("lfcc_gmm")()
    for name, row in rows.items():
        ev = det.analyze(unmask.load((root / name).read_bytes()))
        assert row["status"] == "ok" and row["score"] == pytest.approx(ev.score)
        stored = np.array(json.loads(row["segments"])).reshape(-1, 3)
        assert np.allclose(stored, [[s.start_s, s.end_s, s.score] for s in ev.segments] or np.zeros((0, 3)),
                           atol=1e-4)
    assert (folder / "spoofing.csv").is_file() and (folder / "temporal.csv").is_file()

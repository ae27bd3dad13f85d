"""The benchmark runner on a tiny synthetic dataset: tables, plots, metric values, cache hits, resume, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("yaml")
pytest.importorskip("pyarrow")

import unmask
from unmask.bench import DataMissing, ProtocolError, load_protocol, load_run, run_protocol, write_report
from unmask.cli.bench import bench_app
from unmask.datasets import Item, Manifest
from unmask.detectors import Registry
from unmask.detectors.base import Detector
from unmask.metrics import LocalizationAccumulator, binary_summary
from unmask.perturb import parse

DETECTORS = ["ela", "noise_wavelet"]
PERTURBATIONS = ["none", "resize(0.5)"]
N_GOOD = 8  # decodable images; one more item is a corrupt file


def _jpeg(pixels: np.ndarray, quality: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def dataset(photo: np.ndarray, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 real crops and 4 spliced ones (a patch recompressed at q=40 pasted in, with its mask), plus a corrupt file."""
    root = tmp_path_factory.mktemp("bench_data")
    items = []
    for i in range(N_GOOD):
        y0, x0 = 40 * i, 300 - 30 * i
        crop = photo[y0:y0 + 160, x0:x0 + 160].copy()
        attrs = {"manipulation": "none"}
        label, mask = "real", None
        if i % 2:
            patch = np.asarray(Image.open(io.BytesIO(_jpeg(photo[200:260, 100:160], 40))))
            crop[50:110, 40:100] = patch
            gt = np.zeros((160, 160), np.uint8)
            gt[50:110, 40:100] = 255
            mask = f"m{i}.png"
            Image.fromarray(gt).save(root / mask)
            label, attrs = "fake", {"manipulation": "splicing" if i % 4 == 1 else "copy-move"}
        (root / f"im{i}.jpg").write_bytes(_jpeg(crop, 90))
        items.append(Item(path=f"im{i}.jpg", label=label, mask=mask, attrs=attrs))
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    items.append(Item(path="broken.jpg", label="real", attrs={"manipulation": "none"}))
    Manifest(items, root).write(root / "manifest.jsonl")
    return root


def _protocol(folder: Path, dataset: Path, **extra: object) -> Path:
    text = {
        "name": "tiny", "dataset": {"manifest": str(dataset / "manifest.jsonl")}, "detectors": DETECTORS,
        "perturbations": PERTURBATIONS, "metrics": ["binary", "localization"], "threshold": 0.5,
        "slices": ["manipulation"], **extra,
    }
    path = folder / "proto.yaml"
    path.write_text(json.dumps(text))  # JSON is YAML
    return path


class Counter:
    """Counts detector calls by wrapping Detector.analyze (no built-in detector overrides it)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = Detector.analyze

        def counted(det: Detector, media: object) -> object:
            self.calls += 1
            return original(det, media)

        monkeypatch.setattr(Detector, "analyze", counted)


def _direct(dataset: Path, det: str, spec: str) -> tuple[dict, dict]:
    """Metrics computed without the runner: each detector run here, scored with unmask.metrics."""
    manifest = Manifest.read(dataset / "manifest.jsonl")
    detector = Registry.default().get(det)()
    ys, scores, loc = [], [], LocalizationAccumulator(0.5)
    for item in manifest:
        data = manifest.resolve(item.path).read_bytes()
        try:
            ev = detector.analyze(unmask.load(data if spec == "none" else parse(spec).apply(data, 0)))
        except Exception:
            ev = None
        ys.append(item.y)
        scores.append(0.0 if ev is None or ev.score is None else ev.score)
        if item.mask and ev is not None:
            loc.add(ev.heatmap, np.asarray(Image.open(manifest.resolve(item.mask))), mask=ev.mask)
    return binary_summary(np.array(ys), np.array(scores), 0.5), loc.summary()


def _csv(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_protocol_paths_env_and_validation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "p.yaml").write_text("name: x\ndata_root: ${UNMASK_DATA:-data}\n"
                                     "dataset: {adapter: casia1, root: casia1}\ndetectors: [ela]\n")
    monkeypatch.delenv("UNMASK_DATA", raising=False)
    assert load_protocol(tmp_path / "p.yaml").dataset.root == tmp_path.resolve() / "data" / "casia1"
    monkeypatch.setenv("UNMASK_DATA", str(tmp_path / "elsewhere"))
    proto = load_protocol(tmp_path / "p.yaml")
    assert proto.dataset.root == tmp_path / "elsewhere" / "casia1"
    assert proto.perturbations == ["none"] and proto.threshold == 0.5
    with pytest.raises(DataMissing, match="UNMASK_DATA"):
        proto.load_manifest()
    (tmp_path / "bad.yaml").write_text("dataset: m.csv\ndetectors: [ela]\nperturbations: ['jpg(q=75)']\n")
    with pytest.raises(ProtocolError, match="did you mean 'jpeg'"):
        load_protocol(tmp_path / "bad.yaml")


def test_run_writes_tables_plots_and_matches_direct_metrics(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = run_protocol(load_protocol(_protocol(tmp_path, dataset)), out, progress=False)
    total = (N_GOOD + 1) * len(DETECTORS) * len(PERTURBATIONS)
    assert (summary.computed, summary.cached) == (total, 0)
    assert summary.errors == len(DETECTORS) * len(PERTURBATIONS)  # the corrupt file, each detector/perturbation
    report = write_report(out)
    folder = report.parent
    for name in ("binary.csv", "localization.csv", "slices.csv", "robustness.png", "roc_none.png",
                 "reliability_resize_factor_0_5.png"):
        assert (folder / name).stat().st_size > 0, name
    text = report.read_text()
    assert "AUC and AP: sklearn conventions" in text and "image-averaged" in text and "broken.jpg" in text
    binary = {(r["perturbation"], r["detector"]): r for r in _csv(folder / "binary.csv")}
    loc = {(r["perturbation"], r["detector"]): r for r in _csv(folder / "localization.csv")}
    for spec in ("none", "resize(factor=0.5)"):
        for det in DETECTORS:
            want, want_loc = _direct(dataset, det, spec)
            row = binary[(spec, det)]
            assert float(row["auc"]) == pytest.approx(want["auc"])
            assert float(row["accuracy"]) == pytest.approx(want["accuracy"])
            assert (int(row["n"]), int(row["errors"])) == (N_GOOD + 1, 1)
            # maps are stored as float16, so pixel metrics agree up to rounding at the threshold
            assert float(loc[(spec, det)]["auc"]) == pytest.approx(want_loc["auc"], abs=2e-3)
            assert float(loc[(spec, det)]["f1"]) == pytest.approx(want_loc["f1"], abs=2e-2)
    slices = [r for r in _csv(folder / "slices.csv") if r["perturbation"] == "none" and r["detector"] == "ela"]
    assert {r["slice"] for r in slices} == {"none", "splicing", "copy-move"}
    assert all(r["gap"] for r in slices)


def test_second_run_hits_the_cache_and_report_needs_no_detector(dataset: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    proto = load_protocol(_protocol(tmp_path, dataset))
    run_protocol(proto, tmp_path / "run", progress=False)
    counter = Counter(monkeypatch)
    again = run_protocol(proto, tmp_path / "run", progress=False)
    assert counter.calls == 0 and again.computed == 0
    assert again.cached == (N_GOOD + 1) * len(DETECTORS) * len(PERTURBATIONS)
    write_report(tmp_path / "run")
    assert counter.calls == 0


def test_interrupted_run_resumes_and_completes(dataset: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    proto = load_protocol(_protocol(tmp_path, dataset))
    seen = []

    def stop_after_five(row: dict) -> None:
        seen.append(row["key"])
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_protocol(proto, tmp_path / "run", progress=False, on_row=stop_after_five, batch=100)
    assert len(load_run(tmp_path / "run").rows) == 5  # buffered rows were flushed on the interrupt
    counter = Counter(monkeypatch)
    rest = run_protocol(proto, tmp_path / "run", progress=False)
    total = (N_GOOD + 1) * len(DETECTORS) * len(PERTURBATIONS)
    assert (rest.cached, rest.computed) == (5, total - 5)
    assert counter.calls == total - 5 - len(DETECTORS) * len(PERTURBATIONS)  # the corrupt file never decodes
    binary = _csv(write_report(tmp_path / "run").parent / "binary.csv")
    assert all(r["missing"] == "0" for r in binary)


def test_cli_run_report_and_missing_data(dataset: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    runner = CliRunner()
    proto = _protocol(tmp_path, dataset)
    result = runner.invoke(bench_app, ["run", str(proto), "--out", str(tmp_path / "run"), "--limit", "4"])
    assert result.exit_code in (0, 1), result.output
    assert len(load_run(tmp_path / "run").ids) == 4
    assert runner.invoke(bench_app, ["report", str(tmp_path / "run")]).exit_code == 0
    gone = _protocol(tmp_path, tmp_path / "nowhere")
    result = runner.invoke(bench_app, ["run", str(gone), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "dataset not found" in result.output
    assert not (tmp_path / "x").exists()


def test_group_split_protocol_takes_one_side_of_the_split(dataset: Path, tmp_path: Path) -> None:
    from unmask.datasets.split import held_out

    proto = load_protocol(_protocol(tmp_path, dataset, group_split={"test_fraction": 0.5, "seed": 2},
                                    split="test"))
    chosen = [it.path for it in proto.load_manifest().items]
    expected = [it.path for it in Manifest.read(dataset / "manifest.jsonl").items if held_out(it.key(), 0.5, 2)]
    assert chosen == expected and 0 < len(chosen) < N_GOOD + 1
    assert proto.to_dict()["group_split"] == {"test_fraction": 0.5, "seed": 2}
    with pytest.raises(ProtocolError, match="group_split"):
        load_protocol(_protocol(tmp_path, dataset, group_split={"fraction": 0.5}))


def test_text_only_items_are_benchmarked(tmp_path: Path) -> None:
    claims = [("Says the governor secretly doubled his own salary while cutting school funds.", "fake"),
              ("SHOCKING!!! Doctors hate this one trick, share before it is deleted", "fake"),
              ("The city council approved the budget on Tuesday by a vote of 7 to 2.", "real"),
              ("Unemployment fell to 4.1 percent last month, the labor department said.", "real")]
    items = [Item(text=t, label=y) for t, y in claims]
    Manifest(items, tmp_path).write(tmp_path / "manifest.jsonl")
    path = _protocol(tmp_path, tmp_path, detectors=["tfidf_lr"], perturbations=["none"], metrics=["binary"],
                     slices=[])
    summary = run_protocol(load_protocol(path), tmp_path / "run", progress=False)
    assert (summary.computed, summary.errors) == (4, 0)
    [row] = _csv(write_report(tmp_path / "run").parent / "binary.csv")
    detector = Registry.default().get("tfidf_lr")()
    scores = [detector.analyze(unmask.load(t.encode())).score for t, _ in claims]
    want = binary_summary(np.array([1, 1, 0, 0]), np.array(scores), 0.5)
    assert float(row["auc"]) == pytest.approx(want["auc"]) and int(row["n"]) == 4

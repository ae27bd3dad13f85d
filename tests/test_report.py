"""The report contract: JSON sanitising, fusion, artifacts (PNG round-trip), HTML (escaping, self-contained),
the terminal summary, and the committed JSON Schema."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from rich.console import Console
from skimage import data

from unmask.analysis import Analyzer, jsonable
from unmask.cli.catalog import schema_text
from unmask.detectors import Detector, Evidence, ProvenanceFact, Registry, SegmentModel
from unmask.detectors.image.metadata import MetadataReader
from unmask.errors import NotApplicable
from unmask.report import Report, json_schema
from unmask.report.artifacts import read_heatmap, write_artifacts
from unmask.report.html import render_html, write_html
from unmask.report.model import EvidenceEntry
from unmask.report.terminal import print_summary
from unmask.report.words import NO_OPINION_REASON as NO_OPINION
from unmask.verdict import fuse

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
SCRIPT = "<script>alert(1)</script>"


def valid(report: Report) -> dict:
    """Every report made in these tests must validate against the committed schema."""
    obj = json.loads(report.to_json())
    VALIDATOR.validate(obj)
    return obj


# ------------------------------------------------------------------------------ detectors for the tests


class NumpyDetails(Detector):
    """Returns numpy scalars, arrays, NaN and a numpy-typed segment: what a careless detector does."""

    name = "numpy_details"
    modalities = ("image",)
    outputs = ("score", "heatmap", "mask", "segments")

    def predict(self, media):
        h, w = media.rgb.shape[:2]
        heat = np.zeros((h, w), np.float32)
        heat[: h // 2, : w // 3] = np.linspace(0, 1, (h // 2) * (w // 3), dtype=np.float32).reshape(h // 2, -1)
        return heat

    def to_evidence(self, native, media):
        return Evidence(
            score=np.float32(0.8), summary="A numpy-typed finding.", heatmap=native, mask=native > 0.5,
            segments=[SegmentModel(start_s=np.float32(0.5), end_s=np.float64(1.25), score=np.float32(0.9),
                                   label="x")],
            attribution={"ai-generated": np.float32(0.1)},
            details={"f32": np.float32(0.3), "i64": np.int64(7), "nan": float("nan"), "arr": np.arange(3),
                     "nested": {"b": np.bool_(True), 1: (np.float16(0.5), None)}},
        )


class Exploding(Detector):
    name = "exploding"
    modalities = ("image",)

    def predict(self, media):
        raise RuntimeError("boom")

    def to_evidence(self, native, media):  # pragma: no cover - never reached
        raise AssertionError


class JpegOnly(Detector):
    name = "jpeg_only"
    modalities = ("image",)

    def predict(self, media):
        if media.format != "jpeg":
            raise NotApplicable("works on JPEG files only")
        return 0.05

    def to_evidence(self, native, media):
        return Evidence(score=native, summary="Compression is consistent across the image.")


class FactReader(Detector):
    name = "fact_reader"
    modalities = ("image",)

    def predict(self, media):
        return media.png_text.get("Comment", "") or str(media.exif.get("Software", ""))

    def to_evidence(self, native, media):
        return Evidence(score=None, summary=f"The file says: {native}",
                        facts=[ProvenanceFact(source="png-text", claim=f"software: {native}", detail=native)])


def _registry(*classes) -> Registry:
    return Registry(classes)


def _png_bytes(rgb: np.ndarray, text: dict[str, str] | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    for k, v in (text or {}).items():
        info.add_text(k, v)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", pnginfo=info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return data.chelsea()[:120, :160]


# --------------------------------------------------------------------------------------------- sanitiser


def test_jsonable_converts_numpy_and_non_finite_values():
    out = jsonable({"a": np.float32(0.3), "b": np.int64(2), "c": np.array([1.5, np.inf]), 3: np.bool_(False),
                    "d": (1, {np.float64(2.0)}), "e": float("-inf"), "f": Path("/x"), "g": b"hi"})
    assert out == {"a": 0.3, "b": 2, "c": [1.5, None], "3": False, "d": [1, [2.0]], "e": None, "f": "/x",
                   "g": "hi"}
    assert type(out["a"]) is float and type(out["b"]) is int
    big = jsonable({"m": np.zeros((300, 300))})
    assert big == {"m": {"omitted_array": {"shape": [300, 300], "dtype": "float64"}}}


def test_numpy_details_cannot_break_the_report(cat):
    report = Analyzer(detectors=["numpy_details"], registry=_registry(NumpyDetails)).analyze(_png_bytes(cat))
    obj = valid(report)
    (ev,) = obj["evidence"]
    assert ev["details"] == {"f32": 0.3, "i64": 7, "nan": None, "arr": [0, 1, 2],
                             "nested": {"b": True, "1": [0.5, None]}}
    assert ev["segments"] == [{"start_s": 0.5, "end_s": 1.25, "score": 0.9, "label": "x"}]
    assert obj["verdict"]["label"] == "manipulated"  # attribution 0.1 < 0.5: not ai-generated


def test_a_detector_crash_is_a_warning_and_the_rest_of_the_report_stands(cat):
    report = Analyzer(detectors=["exploding", "jpeg_only"],
                      registry=_registry(Exploding, JpegOnly)).analyze(_png_bytes(cat))
    obj = valid(report)
    assert report.analysed
    assert [(e["code"], e["fatal"], e["detector"]) for e in obj["errors"]] == [
        ("detector_failed", False, "exploding")]
    assert "RuntimeError: boom" in obj["errors"][0]["message"]
    (ev,) = obj["evidence"]
    assert ev["score"] is None and ev["summary"].startswith("Not applicable: works on JPEG")
    assert obj["verdict"]["label"] == "no-opinion" and obj["verdict"]["probability"] is None
    assert obj["verdict"]["headline"] == "No opinion" and obj["verdict"]["method"] == "none"
    assert obj["reasons"] == [NO_OPINION]  # "not applicable" is evidence, not a reason


# ------------------------------------------------------------------------------------------------ fusion


def _ev(name: str, score: float | None, summary: str | None = None, **kw) -> EvidenceEntry:
    return EvidenceEntry(detector=name, score=score, summary=summary or f"{name} says {score}", **kw)


def test_fusion_without_scores_is_no_opinion_and_keeps_context():
    verdict, reasons = fuse([_ev("metadata", None, "The file carries no metadata.")])
    assert (verdict.label, verdict.probability, verdict.calibrated) == ("no-opinion", None, False)
    assert reasons == [NO_OPINION, "The file carries no metadata."]
    assert fuse([])[1] == [NO_OPINION]


def test_fusion_authentic_leads_with_the_strongest_negative_finding_not_missing_metadata():
    evidence = [_ev("ela", 0.2), _ev("metadata", None, "No metadata."), _ev("noise", 0.05),
                _ev("cfa", None, "Not applicable: PNG", details={"not_applicable": True})]
    verdict, reasons = fuse(evidence)
    assert verdict.label == "authentic" and verdict.probability == pytest.approx(0.125)  # the mean score
    assert reasons == ["noise says 0.05", "ela says 0.2", "No metadata."]


def test_fusion_manipulated_leads_with_the_highest_score_then_facts_then_the_rest():
    evidence = [_ev("a", 0.8), _ev("b", 0.95), _ev("c", 0.6), _ev("meta", None, "Edited with GIMP."),
                _ev("cfa", None, "No usable pattern."), _ev("e", 0.99), _ev("d", 0.25)]
    facts = [ProvenanceFact(source="exif", claim="edited with GIMP", detector="meta")]
    verdict, reasons = fuse(evidence, facts)
    assert verdict.label == "manipulated" and verdict.probability == pytest.approx(3.59 / 5)  # the mean score
    assert reasons == ["e says 0.99", "b says 0.95", "a says 0.8", "c says 0.6", "Edited with GIMP.",
                       "d says 0.25", "No usable pattern."]


def test_fusion_thresholds_and_ai_attribution():
    assert fuse([_ev("a", 0.7)])[0].label == "manipulated"
    assert fuse([_ev("a", 0.69)])[0].label == "inconclusive"
    assert fuse([_ev("a", 0.3)])[0].label == "authentic"
    assert fuse([_ev("a", 0.31)])[0].label == "inconclusive"
    assert fuse([_ev("a", 0.05), _ev("b", 0.55)])[0].label == "inconclusive"  # mean 0.3, but one above 0.5
    ai = [_ev("gen", 0.9, attribution={"ai-generated": 0.8}), _ev("ela", 0.95)]
    assert fuse(ai)[0].label == "manipulated"  # the top finding (ela) is not an attribution
    assert fuse(ai[:1])[0].label == "ai-generated"


def test_fusion_is_calibrated_only_for_a_single_calibrated_score():
    assert fuse([_ev("a", 0.9, calibrated=True)])[0].calibrated
    assert not fuse([_ev("a", 0.9, calibrated=True), _ev("b", 0.1, calibrated=True)])[0].calibrated
    assert not fuse([_ev("a", 0.9)])[0].calibrated


# --------------------------------------------------------------------------------------------- artifacts


def test_artifacts_are_pngs_at_the_image_size_that_round_trip(tmp_path, cat):
    src = tmp_path / "cat photo.png"
    src.write_bytes(_png_bytes(cat))
    report = Analyzer(detectors=["numpy_details"], registry=_registry(NumpyDetails)).analyze(src)
    written = write_artifacts(report, tmp_path / "art")
    obj = valid(report)
    (ev,) = obj["evidence"]
    assert sorted(p.name for p in written) == ["numpy_details.heatmap.png", "numpy_details.mask.png"]
    heat_path, mask_path = Path(ev["heatmap"]["path"]), Path(ev["mask"]["path"])
    assert heat_path.parent.name.startswith("cat_photo-")
    with Image.open(heat_path) as heat, Image.open(mask_path) as mask:
        assert (heat.mode, heat.size) == ("I;16", (160, 120))
        assert (mask.mode, mask.size) == ("L", (160, 120))
        assert set(np.unique(np.asarray(mask)).tolist()) == {0, 255}
        assert np.array_equal(np.asarray(mask) == 255, report.maps["numpy_details.mask"])
    original = report.maps["numpy_details.heatmap"]
    assert np.abs(read_heatmap(heat_path) - original).max() <= 0.5 / 65535 + 1e-7


def test_a_map_at_another_resolution_is_resized_to_the_image(tmp_path, cat):
    class Coarse(NumpyDetails):
        name = "coarse"

        def predict(self, media):
            return np.tile(np.linspace(0, 1, 16, dtype=np.float32), (12, 1))

    report = Analyzer(detectors=["coarse"], registry=_registry(Coarse)).analyze(_png_bytes(cat))
    write_artifacts(report, tmp_path)
    with Image.open(report.evidence[0].heatmap.path) as im:
        assert im.size == (160, 120)
        values = np.asarray(im) / 65535
    assert values[:, 0].max() < 0.05 and values[:, -1].min() > 0.95
    assert report.evidence[0].heatmap.width == 160


# -------------------------------------------------------------------------------------------------- HTML


def _hostile_report(tmp_path: Path, cat: np.ndarray) -> Report:
    src = tmp_path / "hostile.png"
    src.write_bytes(_png_bytes(cat, {"Comment": SCRIPT, "parameters": SCRIPT}))
    registry = _registry(FactReader, NumpyDetails, MetadataReader)
    return Analyzer(detectors=["fact_reader", "metadata", "numpy_details"], registry=registry).analyze(src)


def test_html_escapes_png_text_metadata(tmp_path, cat):
    report = _hostile_report(tmp_path, cat)
    valid(report)
    assert any(SCRIPT in f.detail for f in report.provenance)  # the hostile text reached the report
    page = write_html([report], tmp_path / "r.html")
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page


def test_html_escapes_exif_software(tmp_path, cat):
    exif = Image.Exif()
    exif[0x0131] = SCRIPT
    exif[0x010F] = "<b>Make</b>"
    buf = io.BytesIO()
    Image.fromarray(cat).save(buf, format="JPEG", quality=90, exif=exif.tobytes())
    report = Analyzer(detectors=["metadata"]).analyze(buf.getvalue())
    valid(report)
    assert any(SCRIPT in f.claim for f in report.provenance)
    page = render_html([report])
    assert SCRIPT not in page and "<b>Make</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_html_is_self_contained_and_shows_verdict_reasons_and_overlays(tmp_path, cat):
    report = _hostile_report(tmp_path, cat)
    page = render_html([report])
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page
    assert "Likely AI-generated" in page  # the 'parameters' chunk
    assert report.reasons[0].split(":")[0] in page
    assert page.count('type="range"') == 2  # one opacity slider per map (heatmap and mask)
    uris = re.findall(r"data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)", page)
    assert len(uris) == 3  # the image once (as a CSS background) plus two overlays
    overlay = Image.open(io.BytesIO(__import__("base64").b64decode(uris[1][1])))
    assert overlay.size == (160, 120) and overlay.mode == "P"


def test_html_for_a_failed_file_and_for_several_files(tmp_path, cat):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    failed = Analyzer(detectors=["metadata"]).analyze(bad)
    good = Analyzer(detectors=["metadata"]).analyze(_png_bytes(cat))
    valid(failed)
    page = render_html([failed, good])
    assert "Not analysed" in page
    assert 'href="#item-0"' in page and 'href="#item-1"' in page  # the summary table
    assert page.rstrip().endswith("</html>")


# -------------------------------------------------------------------------------------------- terminal


def test_terminal_summary_shows_verdict_reason_and_provenance_facts(tmp_path, cat):
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop [/red] 25.0"
    exif[0x010F], exif[0x0110] = "Canon", "EOS R5"
    path = tmp_path / "edited.jpg"
    Image.fromarray(cat).save(path, quality=90, exif=exif.tobytes())
    reports = [Analyzer(detectors=["ela", "metadata"]).analyze(path),
               Analyzer(detectors=["metadata"]).analyze(tmp_path / "missing.jpg")]
    console = Console(record=True, width=200)
    print_summary(reports, console)
    text = console.export_text()
    assert "edited.jpg" in text and "image" in text
    assert "facts:" in text and "Adobe Photoshop [/red] 25.0" in text and "camera: Canon EOS R5" in text
    assert "missing.jpg" in text and "not analysed" in text and "no such file" in text
    assert "1 not analysed" in text


# ------------------------------------------------------------------------------------------------ schema


def test_committed_schema_is_the_exported_one():
    committed = (ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(json_schema()), "run `make schema` (unmask schema --out docs/report.schema.json)"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_schema_rejects_reports_that_break_the_contract(cat):
    obj = valid(Analyzer(detectors=["metadata"]).analyze(_png_bytes(cat)))
    for broken in ({**obj, "verdict": {**obj["verdict"], "label": "fake"}},
                   {**obj, "verdict": {**obj["verdict"], "probability": 1.5}},
                   {k: v for k, v in obj.items() if k != "errors"}):
        with pytest.raises(jsonschema.ValidationError):
            VALIDATOR.validate(broken)

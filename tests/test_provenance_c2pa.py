"""Content Credentials: JPEG and PNG assets signed here with a test CA and leaf certificate, then read back:
AI claims, trust anchors, untrusted signers, edits after signing, ingredients, and configuration errors."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

pytest.importorskip("c2pa")
pytest.importorskip("cryptography")

import unmask
from assets import provenance_fixtures as F
from unmask.analysis import Analyzer
from unmask.detectors.image.c2pa import ENV_TRUST, C2paManifest
from unmask.provenance.c2pa_store import TrustConfigError


@pytest.fixture(scope="module")
def ca():
    return F.make_ca()


@pytest.fixture(scope="module")
def signer(ca):
    return F.make_signer_info(ca)


@pytest.fixture(scope="module")
def rgb():
    return data.chelsea()[:256, :320]


@pytest.fixture(scope="module")
def ai_jpeg(rgb, signer):
    return F.sign(F.jpeg_bytes(rgb), "image/jpeg", signer, F.manifest())


@pytest.fixture(scope="module")
def ai_png(rgb, signer):
    return F.sign(F.png_bytes(rgb), "image/png", signer, F.manifest())


def _claims(ev) -> str:
    return " | ".join(f.claim for f in ev.facts)


@pytest.mark.parametrize("asset", ["ai_jpeg", "ai_png"])
def test_ai_claim_from_a_trusted_signer_is_decisive(asset, ca, request):
    media = unmask.load(request.getfixturevalue(asset))
    ev = C2paManifest(trust_anchors=F.ca_pem(ca)).analyze(media)
    assert ev.details["state"] == "Trusted" and ev.details["decisive"] is True
    assert ev.score == pytest.approx(0.99) and ev.attribution == {"ai-generated": 1.0}
    assert ev.facts[0].claim == "Content Credentials: valid signature from a trusted signer"
    assert "unmask test signer" in ev.facts[0].detail and "unmask-test-diffusion" in ev.facts[0].detail
    assert "'trainedAlgorithmicMedia': created by a generative AI model" in _claims(ev)
    assert "c2pa.created (TestDiffusion 1.0)" in _claims(ev)
    assert ev.details["source_types"] == ["trainedAlgorithmicMedia"]


def test_without_trust_anchors_a_valid_signature_is_valid_but_untrusted(ai_png):
    ev = C2paManifest().analyze(unmask.load(ai_png))
    assert ev.details["state"] == "Valid" and not ev.details["trusted"] and not ev.details["decisive"]
    assert ev.score == pytest.approx(0.9) and ev.attribution == {"ai-generated": 1.0}
    assert "signer is not trusted" in ev.facts[0].claim and "not a trusted one" in ev.summary


def test_a_signer_outside_the_configured_anchors_is_reported_untrusted(ai_jpeg):
    other = F.make_ca("some other CA")
    ev = C2paManifest(trust_anchors=F.ca_pem(other)).analyze(unmask.load(ai_jpeg))
    assert ev.details["state"] == "Valid" and not ev.details["trusted"]
    assert {"code": "signingCredential.untrusted", "explanation": "signing certificate untrusted"} in ev.details["failures"]
    assert "signer is not trusted" in ev.facts[0].claim


def test_trust_anchors_from_the_environment(ai_jpeg, ca, tmp_path, monkeypatch):
    pem = tmp_path / "anchors.pem"
    pem.write_text(F.ca_pem(ca))
    monkeypatch.setenv(ENV_TRUST, str(pem))
    assert C2paManifest().analyze(unmask.load(ai_jpeg)).details["state"] == "Trusted"


def test_unusable_trust_anchors_fail_at_construction(tmp_path):
    with pytest.raises(TrustConfigError, match="could not be loaded"):
        C2paManifest(trust_anchors="-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(TrustConfigError, match="could not be read"):
        C2paManifest(trust_anchors=tmp_path / "missing.pem")


def _edit_pixels(signed_jpeg: bytes) -> bytes:
    """Paint over part of the signed picture, re-encode, and carry the original manifest segments over."""
    rgb = np.asarray(Image.open(io.BytesIO(signed_jpeg)).convert("RGB")).copy()
    rgb[40:120, 60:160] = (200, 30, 30)
    edited = F.jpeg_bytes(rgb)
    for segment in reversed(F.jpeg_app_segments(signed_jpeg, 0xEB)):
        edited = F.insert_jpeg_segment(edited, segment)
    return edited


def _flip_scan_byte(jpeg: bytes) -> bytes:
    """Change one bit of the entropy-coded data without creating a marker (the picture still decodes)."""
    pos = len(jpeg) - 2000
    while jpeg[pos] >= 0xF0 or jpeg[pos - 1] == 0xFF:
        pos += 1
    return jpeg[:pos] + bytes([jpeg[pos] ^ 0x01]) + jpeg[pos + 1:]


def test_edited_after_signing_is_reported_as_tampered(ai_jpeg, ca):
    for tampered in (_edit_pixels(ai_jpeg), _flip_scan_byte(ai_jpeg)):
        ev = C2paManifest(trust_anchors=F.ca_pem(ca)).analyze(unmask.load(tampered))
        assert ev.details["tampered"] and ev.details["state"] == "Invalid" and not ev.details["decisive"]
        assert ev.facts[0].claim == "Content Credentials: the file was changed after it was signed (hash mismatch)"
        assert any(f["code"] == "assertion.dataHash.mismatch" for f in ev.details["failures"])
        assert ev.score == pytest.approx(0.8) and "changed after signing" in ev.summary


def test_png_edited_after_signing_is_tampered(ai_png):
    rgb = np.asarray(Image.open(io.BytesIO(ai_png)).convert("RGB")).copy()
    rgb[:10] = 0
    cabx = ai_png[ai_png.index(b"caBX") - 4:]
    cabx = cabx[: 12 + int.from_bytes(cabx[:4], "big")]
    tampered = F.insert_png_chunk(F.png_bytes(rgb), cabx)
    ev = C2paManifest().analyze(unmask.load(tampered))
    assert ev.details["tampered"] and "changed after it was signed" in ev.facts[0].claim


def test_edit_of_an_ai_parent_and_composites_are_attributed(ai_jpeg, signer, ca, rgb):
    edit = F.manifest(source_type=None, generator="Adobe Photoshop", action="c2pa.edited", agent="Adobe Photoshop 25.0")
    edit["assertions"][0]["data"]["actions"].insert(0, {"action": "c2pa.opened",
                                                        "parameters": {"ingredientIds": ["parent"]}})
    child = F.sign(F.jpeg_bytes(rgb, 85), "image/jpeg", signer, edit, ingredient=ai_jpeg)
    ev = C2paManifest(trust_anchors=F.ca_pem(ca)).analyze(unmask.load(child))
    assert ev.details["kind"] == "ai-ingredient" and ev.attribution == {"ai-generated": 1.0}
    assert "an ingredient ('asset') declares 'trainedAlgorithmicMedia'" in _claims(ev)
    assert "c2pa.edited (Adobe Photoshop 25.0)" in _claims(ev) and ev.details["manifests"] == 2

    composite = F.sign(F.jpeg_bytes(rgb), "image/jpeg", signer, F.manifest(source_type=F.COMPOSITE_SOURCE))
    ev = C2paManifest(trust_anchors=F.ca_pem(ca)).analyze(unmask.load(composite))
    assert ev.details["kind"] == "ai-part" and ev.attribution == {"ai-composite": 1.0} and ev.score == 0.85


def test_trusted_camera_capture_lowers_the_score_and_untrusted_does_not(rgb, signer, ca):
    capture = F.sign(F.jpeg_bytes(rgb), "image/jpeg", signer,
                     F.manifest(source_type=F.CAPTURE_SOURCE, generator="TestCam firmware", agent="TestCam 1.0"))
    trusted = C2paManifest(trust_anchors=F.ca_pem(ca)).analyze(unmask.load(capture))
    assert trusted.details["kind"] == "capture" and trusted.score == pytest.approx(0.05)
    assert C2paManifest().analyze(unmask.load(capture)).score is None


def test_no_manifest_means_no_opinion(rgb):
    ev = C2paManifest().analyze(unmask.load(F.jpeg_bytes(rgb)))
    assert ev.score is None and ev.facts == [] and ev.details["status"] == "absent"
    assert "proves nothing" in ev.summary


def test_analyzer_puts_the_trusted_ai_claim_first(ai_jpeg, ca, tmp_path, monkeypatch):
    (tmp_path / "anchors.pem").write_text(F.ca_pem(ca))
    monkeypatch.setenv(ENV_TRUST, str(tmp_path / "anchors.pem"))  # how the registry's instance gets anchors
    report = Analyzer(detectors=["c2pa", "metadata", "jpeg_fingerprint"]).analyze(ai_jpeg)
    assert report.verdict.label == "ai-generated" and report.verdict.probability == pytest.approx(0.99)
    assert report.reasons[0] == "Signed Content Credentials say this image was created by a generative AI model."
    assert any(f.detector == "c2pa" and "trainedAlgorithmicMedia" in f.claim for f in report.provenance)
    assert not report.errors


def test_analyzer_options_pass_trust_anchors(ai_jpeg, ca):
    report = Analyzer(detectors=["c2pa"], options={"c2pa": {"trust_anchors": F.ca_pem(ca)}}).analyze(ai_jpeg)
    assert report.verdict.label == "ai-generated" and report.evidence[0].details["trusted"]


def test_cli_trust_anchors_option(ai_jpeg, ca, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from unmask.cli import app

    monkeypatch.delenv(ENV_TRUST, raising=False)
    (tmp_path / "a.jpg").write_bytes(ai_jpeg)
    (tmp_path / "anchors.pem").write_text(F.ca_pem(ca))
    out = tmp_path / "r.jsonl"
    args = ["scan", str(tmp_path / "a.jpg"), "--detectors", "c2pa", "--json", str(out), "-q"]

    def trusted() -> bool:
        return json.loads(out.read_text())["evidence"][0]["details"]["trusted"]

    assert CliRunner().invoke(app, args).exit_code == 0 and not trusted()
    result = CliRunner().invoke(app, [*args, "--c2pa-trust-anchors", str(tmp_path / "anchors.pem")])
    assert result.exit_code == 0 and trusted()
    bad = CliRunner().invoke(app, [*args, "--c2pa-trust-anchors", str(tmp_path / "missing.pem")])
    assert bad.exit_code == 2 and "could not be read" in bad.output

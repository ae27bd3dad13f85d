"""Hostile metadata must neither crash nor hang the provenance detectors: huge and malformed EXIF, bogus PNG
chunks and JSON, entity-laden XMP, and broken JUMBF (C2PA) data."""

from __future__ import annotations

import importlib.util
import json
import struct
import time
import zlib

import numpy as np
import pytest
from skimage import data

from assets import provenance_fixtures as F
from unmask.analysis import Analyzer
from unmask.provenance import c2pa_store, generators, xmp

HAS_C2PA = importlib.util.find_spec("c2pa") is not None
DETECTORS = ["metadata", "watermark", "jpeg_fingerprint", *(["c2pa"] if HAS_C2PA else [])]
needs_c2pa = pytest.mark.skipif(not HAS_C2PA, reason="c2pa-python (unmask[provenance]) is not installed")
RGB = data.chelsea()[:256, :320]


def _scan(blob: bytes):
    t = time.perf_counter()
    report = Analyzer(detectors=DETECTORS).analyze(blob)
    elapsed = time.perf_counter() - t
    failures = [e.message for e in report.errors if e.code == "detector_failed"]
    assert not failures, failures
    assert not any(e.fatal for e in report.errors), report.errors
    assert elapsed < 10.0, f"scan took {elapsed:.1f}s"
    return report


def _by(report, name):
    return next(e for e in report.evidence if e.detector == name)


def _exif_jpeg(tiff: bytes) -> bytes:
    return F.insert_jpeg_segment(F.jpeg_bytes(RGB), F.jpeg_segment(0xE1, b"Exif\x00\x00" + tiff))


def test_huge_exif():
    many = {0x9000 + i: ("ascii", "x" * 8) for i in range(1500)}
    exif = F.build_exif({0x010E: ("ascii", "A" * 20000), 0x0131: ("ascii", "S" * 3000)},
                        {**many, 0x9286: ("undefined", b"UNICODE\x00" + b"\xd8\x00" * 5000)})
    assert len(exif) > 40000
    report = _scan(F.jpeg_bytes(RGB, exif=exif[:65000]))
    assert _by(report, "metadata").score is None


@pytest.mark.parametrize("tiff", [
    b"II*\x00",  # truncated header
    b"II*\x00\xff\xff\xff\x7f",  # IFD0 far beyond the end
    b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 2) + struct.pack("<HHII", 0x010F, 2, 0x7FFFFFFF, 8) * 2 + b"\x08\x00\x00\x00",
    b"MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 1) + struct.pack(">HHII", 0x8769, 4, 1, 8) + b"\x00\x00\x00\x08",
    b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 0xFFFF) + b"\x00" * 64,
], ids=["truncated", "offset-out-of-range", "huge-count", "ifd-loop", "entry-count-overflow"])
def test_malformed_exif(tiff):
    _scan(_exif_jpeg(tiff))


def test_thumbnail_pointers_out_of_range_or_bogus():
    for thumb in (b"\xff\xd8" + b"\x00" * 100, F.jpeg_bytes(np.zeros((4, 4, 3), np.uint8))):
        exif = F.build_exif({0x010F: ("ascii", "Canon")}, thumbnail=thumb)
        report = _scan(F.jpeg_bytes(RGB, exif=exif))
        assert _by(report, "metadata").details["thumbnail"] is None
    broken = F.build_exif({0x010F: ("ascii", "Canon")}, thumbnail=F.jpeg_bytes(RGB[:64, :64]))[:-500]
    _scan(F.jpeg_bytes(RGB, exif=broken))


def test_bogus_png_chunks_and_json():
    nested = "[" * 200_000 + "]" * 200_000
    text = {"parameters": "Steps: x, Sampler: " + "," * 5000, "prompt": nested, "workflow": '{"nodes": [1, "a", null]}',
            "Comment": "{not json", "invokeai_metadata": json.dumps({"model": [1, 2], "seed": {"a": 1}}),
            "sd-metadata": "[]", "Dream": "-S " * 2000, "Description": "Job ID: " + "f" * 5000}
    png = F.png_bytes(RGB, text)
    png = F.insert_png_chunk(png, F.png_chunk(b"tEXt", b"no separator at all" * 100))
    png = F.insert_png_chunk(png, F.png_chunk(b"zTXt", b"key\x00\x00" + b"not zlib data" * 50))
    png = F.insert_png_chunk(png, F.png_chunk(b"iTXt", b"k\x00\x01\x00\x00\x00" + zlib.compress(b"x")[:3]))
    png = F.insert_png_chunk(png, F.png_chunk(b"caBX", b"\x00\x00\x00\x10jumb" + bytes(range(256)) * 4))
    report = _scan(png)
    assert _by(report, "metadata").score == pytest.approx(0.9)  # a 'parameters' chunk is still a generator's record
    if HAS_C2PA:
        assert _by(report, "c2pa").details["status"] == "unreadable"
        assert any(f.claim == "C2PA data present but unreadable" for f in report.provenance)


def test_parsers_are_total_on_garbage():
    rng = np.random.default_rng(1)
    for _ in range(200):
        junk = bytes(rng.integers(0, 256, int(rng.integers(0, 400)), dtype=np.uint8)).decode("latin-1")
        generators.parse_a1111(junk + "\nSteps: 1, " + junk, "t")
        generators.parse_comfyui(junk, junk)
        generators.from_png_text({"parameters": junk, "prompt": "{" + junk, "Software": "NovelAI", "Comment": junk})
        xmp.parse_xmp("<x:xmpmeta>" + junk)
    graph = {"1": {"class_type": "KSampler", "inputs": {"positive": ["1", 0], "seed": [1]}}}  # a link to itself
    assert generators.parse_comfyui(json.dumps(graph), None).prompt is None


def test_xmp_bombs_are_refused_quickly():
    laughs = '<!DOCTYPE r [<!ENTITY a "' + "a" * 100 + '">' + "".join(
        f'<!ENTITY {c} "{("&" + p + ";") * 10}">' for p, c in zip("abcdefgh", "bcdefghi", strict=True)) + "]>"
    deep = "<a>" * 5000 + "</a>" * 5000
    t = time.perf_counter()
    assert "refused" in xmp.parse_xmp(laughs + '<x:xmpmeta xmlns:x="adobe:ns:meta/">&i;</x:xmpmeta>').error
    assert xmp.parse_xmp(deep).error
    assert time.perf_counter() - t < 2.0
    packet = b"http://ns.adobe.com/xap/1.0/\x00" + (laughs + "<x>&i;</x>").encode()
    _scan(F.insert_jpeg_segment(F.jpeg_bytes(RGB), F.jpeg_segment(0xE1, packet)))


@needs_c2pa
def test_broken_jumbf_in_jpeg():
    garbage = F.insert_jpeg_segment(F.jpeg_bytes(RGB), F.jpeg_segment(0xEB, bytes(range(256)) * 20))
    report = _scan(garbage)
    assert _by(report, "c2pa").details["status"] == "absent"  # not JUMBF at all: nothing to report
    header = b"JP\x00\x01\x00\x00\x00\x01" + b"\x00\x00\x01\x00jumb" + b"\x00\x00\x00\x29jumd" + b"c2pa" + b"\x00" * 12
    fake = F.insert_jpeg_segment(F.jpeg_bytes(RGB), F.jpeg_segment(0xEB, header + b"\xff\x00" * 300))
    report = _scan(fake)
    ev = _by(report, "c2pa")
    assert ev.details["status"] == "unreadable" and ev.score is None
    assert any(f.claim == "C2PA data present but unreadable" and f.detail for f in report.provenance)


@needs_c2pa
def test_truncated_and_duplicated_manifests():
    ca = F.make_ca()
    signed = F.sign(F.jpeg_bytes(RGB), "image/jpeg", F.make_signer_info(ca), F.manifest())
    segments = F.jpeg_app_segments(signed, 0xEB)
    cut = segments[0][: len(segments[0]) // 2]
    cut = cut[:2] + struct.pack(">H", len(cut) - 2) + cut[4:]
    for blob in (F.insert_jpeg_segment(F.jpeg_bytes(RGB), cut), F.insert_jpeg_segment(signed, segments[0])):
        report = _scan(blob)
        assert _by(report, "c2pa").details["status"] in ("unreadable", "read")
    assert c2pa_store.read(b"\xff\xd8jumdc2pa" + b"\x00" * 10, "jpeg").status == "unreadable"


def test_tiny_and_odd_images():
    for rgb in (np.zeros((1, 1, 3), np.uint8), np.zeros((3, 2000, 3), np.uint8), np.full((300, 257, 3), 255, np.uint8)):
        report = _scan(F.jpeg_bytes(rgb))
        assert report.verdict is not None

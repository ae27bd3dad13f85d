"""JPEG fingerprint: which encoder settings wrote the file, and whether it was compressed more than once.

- Quality and family of the quantization tables: exact or nearest libjpeg (IJG) scaling of the Annex K
  tables, mozjpeg's defaults, Photoshop presets (`unmask.provenance.jpeg_tables`).
- Header traces of the writer: APP segments, comments, standard or optimised Huffman tables, progressive
  coding (`unmask.provenance.jpeg_markers`); cameras write baseline JPEG with the Annex K Huffman tables.
- Aligned double compression from the periodic comb in the luminance DCT histograms, with the first
  compression's quality when it can be estimated (Popescu & Farid 2004; Lukáš & Fridrich 2003;
  `unmask.provenance.double_jpeg`).

What this can say: "re-saved by software", "consistent with a single compression such as a camera
original". What it cannot say: whether the content was changed. Most images online were re-saved, so
none of this raises the manipulation score; it is reported as facts and details for the analyst and
for fusion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.jpeg import jpeg_coefficients, require_jpeg
from ...provenance import double_jpeg, jpeg_markers, jpeg_tables
from ..base import Detector
from ..evidence import Evidence, ProvenanceFact


@dataclass
class JpegFingerprint:
    """Native output: table matches, header traces and the double-compression analysis."""

    tables: list[jpeg_tables.TableMatch]
    quality: int
    markers: jpeg_markers.JpegMarkers
    double: double_jpeg.DoubleJpeg | None
    subsampling: str
    camera_tags: bool


class JpegFingerprintDetector(Detector):
    name = "jpeg_fingerprint"
    version = "1"
    modalities = ("image",)
    outputs = ("facts",)
    extra = "image"
    requires = ("jpeglib", "scipy")
    profiles = ("default", "thorough")
    paper = ("ITU-T T.81 Annex K; Popescu & Farid 2004, 'Statistical tools for digital forensics'; "
             "Lukáš & Fridrich 2003, 'Estimation of primary quantization matrix in double compressed JPEG images'")
    description = "Names the JPEG encoder settings (quality, table family, header traces) and detects double compression."

    def predict(self, media: ImageMedia) -> JpegFingerprint:
        require_jpeg(media, "the JPEG fingerprint")
        try:
            coefs = jpeg_coefficients(media)
        except NotApplicable:
            coefs = None  # the tables in the header still say something
        tables = media.jpeg.qtables if media.jpeg and media.jpeg.qtables else (
            dict(enumerate(coefs.qtables)) if coefs else {})
        if not tables:
            raise NotApplicable("the JPEG has no readable quantization tables")
        return JpegFingerprint(
            tables=jpeg_tables.identify_tables(tables),
            quality=jpeg_tables.estimated_quality(tables[min(tables)]),
            markers=jpeg_markers.read_markers(media.data),
            double=double_jpeg.analyse(coefs.components[0], coefs.qtables[0]) if coefs else None,
            subsampling=media.jpeg.subsampling if media.jpeg else "unknown",
            camera_tags=bool(media.exif.get("Make") or media.exif.get("Model")),
        )

    def to_evidence(self, native: JpegFingerprint, media: ImageMedia) -> Evidence:
        facts = [*_double_facts(native), _table_fact(native), *_header_facts(native)]
        return Evidence(score=None, summary=_summary(native), facts=facts, details=_details(native))


def _table_fact(n: JpegFingerprint) -> ProvenanceFact:
    best = n.tables[0] if n.tables else None
    if best is not None and best.exact:
        q = f" at quality {best.quality}" if best.quality is not None else ""
        claim = f"JPEG quantization tables are exactly {best.family}{q}"
        detail = {"libjpeg": "written by libjpeg-based software (Pillow, GIMP, OpenCV, browsers, most web services) "
                             "or a phone/camera that uses the standard tables",
                  "mozjpeg": "written by mozjpeg (web optimisers, Squoosh, some CDNs), not by a camera",
                  "Adobe": "written with a Photoshop quality preset, not by a camera"}
        return ProvenanceFact(source="jpeg", claim=claim,
                              detail=next((v for k, v in detail.items() if best.family.startswith(k)), ""))
    return ProvenanceFact(source="jpeg",
                          claim=f"JPEG quantization tables are custom (nearest libjpeg quality about {n.quality})",
                          detail="no standard software table matches exactly; cameras and some apps write their own "
                                 "tables")


def _header_facts(n: JpegFingerprint) -> list[ProvenanceFact]:
    m, facts = n.markers, []
    if "Photoshop image resources" in m.apps or "Photoshop 'Save for Web' (Ducky)" in m.apps:
        facts.append(ProvenanceFact(source="jpeg", claim="the JPEG header carries Adobe Photoshop segments",
                                    detail=", ".join(m.apps)))
    facts += [ProvenanceFact(source="jpeg", claim=f"JPEG comment: {c}") for c in m.comments[:3] if c]
    if m.progressive:
        facts.append(ProvenanceFact(source="jpeg", claim="progressive JPEG",
                                    detail="cameras write baseline JPEG; progressive files come from software or "
                                           "web services"))
    elif m.huffman_standard is False:
        facts.append(ProvenanceFact(source="jpeg", claim="optimised Huffman tables",
                                    detail="written by software that optimises the coding (cameras use the "
                                           "standard tables)"))
    return facts


def _double_facts(n: JpegFingerprint) -> list[ProvenanceFact]:
    d = n.double
    if d is None or d.verdict in ("unknown", "none"):
        return []
    if d.verdict == "weak":
        return [ProvenanceFact(source="jpeg", claim="weak signs of an earlier JPEG compression",
                               detail=f"{len(d.flagged)} of {len(d.modes)} DCT frequencies show a periodic histogram")]
    first = f", first at about quality {d.primary_quality}" if d.primary_quality else ""
    return [ProvenanceFact(source="jpeg", claim=f"compressed at least twice as JPEG{first}",
                           detail=f"{len(d.flagged)} of {len(d.modes)} DCT frequencies show the periodic histogram of "
                                  "double quantization: the file was re-saved by software after an earlier JPEG "
                                  "compression")]


def _summary(n: JpegFingerprint) -> str:
    d = n.double
    best = n.tables[0] if n.tables else None
    software = best is not None and best.exact
    family = (f"{best.family}" + (f" at quality {best.quality}" if best.quality else "")) if software else (
        f"custom quantization tables (about quality {n.quality})")
    if d is not None and d.verdict == "double":
        first = f" (first at about quality {d.primary_quality})" if d.primary_quality else ""
        return (f"This JPEG was compressed at least twice{first}, i.e. re-saved by software; that is common and "
                "does not by itself mean the content was changed.")
    if d is not None and d.verdict == "none":
        origin = "a single save by that software" if software else "a camera original or a single save by an app"
        return (f"Saved with {family}; no sign of an earlier JPEG compression, consistent with {origin} "
                "(re-saving at a similar or higher quality would leave no trace).")
    return f"Saved with {family}."


def _details(n: JpegFingerprint) -> dict[str, Any]:
    d = n.double
    return {
        "quality_estimate": n.quality,
        "table_matches": [{"family": t.family, "quality": t.quality, "exact": t.exact,
                           "mean_abs_diff": round(t.mean_abs_diff, 3)} for t in n.tables[:4]],
        "subsampling": n.subsampling,
        "app_segments": n.markers.apps[:20],
        "comments": n.markers.comments[:5],
        "progressive": n.markers.progressive,
        "standard_huffman": n.markers.huffman_standard,
        "double_compression": None if d is None else {
            "verdict": d.verdict, "fraction": round(d.fraction, 3), "primary_quality": d.primary_quality,
            "modes": [{"mode": m.mode, "q2": m.q2, "period": m.period, "p": m.p_value, "amplitude": round(m.amplitude, 3),
                       "primary_step": m.primary_step} for m in d.modes],
        },
        "camera_tags": n.camera_tags,
    }

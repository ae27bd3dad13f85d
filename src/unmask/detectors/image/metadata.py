"""Reads what the file says about itself: generator parameters, IPTC digital source type, editing software,
camera, capture times, and whether the EXIF thumbnail still shows the same picture.

Sources: EXIF 2.32 (CIPA DC-008), XMP (ISO 16684-1) incl. xmpMM:History, IPTC Photo Metadata 2023.2
(digitalSourceType), IPTC IIM, PNG text chunks and the formats AI tools write there (see
`unmask.provenance.generators`); thumbnail consistency after Kee & Farid (2010).

These are facts, not measurements: metadata can be stripped, forged or copied from another file, and its
absence proves nothing. A generator's own parameters (or an AI source type) say "AI-generated"; editing
software says "edited with", never "fake"; only a thumbnail whose content differs, or contradictory
timestamps, raise the score, and never to a confident "manipulated".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...media import ImageMedia
from ...provenance import consistency, exif, generators, iptc, software, thumbnail, xmp
from ..base import Detector
from ..evidence import Evidence, ProvenanceFact

SCORE_GENERATOR, SCORE_AI_PART, SCORE_THUMBNAIL, SCORE_CONTRADICTION = 0.9, 0.6, 0.6, 0.35


@dataclass
class MetadataFindings:
    """Native output: parsed records, classified software and consistency checks."""

    generators: list[generators.GeneratorInfo] = field(default_factory=list)
    source_types: list[tuple[str, str]] = field(default_factory=list)  # (where, IPTC code)
    software: list[tuple[str, software.Software]] = field(default_factory=list)  # (where, classified)
    camera: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, str]] = field(default_factory=list)
    thumbnail: thumbnail.ThumbnailCheck | None = None
    contradictions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _software_sources(media: ImageMedia, packet: xmp.Xmp) -> list[tuple[str, str]]:
    found = [(f"EXIF {k}", str(media.exif[k])) for k in ("Software", "ProcessingSoftware") if media.exif.get(k)]
    found += [("XMP CreatorTool", v) for v in packet.props.get("xmp:CreatorTool", [])]
    found += [("XMP history", e["softwareAgent"]) for e in packet.history if e.get("softwareAgent")]
    found += [(f"IPTC {k}", str(media.iptc[k])) for k in ("OriginatingProgram",) if media.iptc.get(k)]
    found += [("PNG text 'Software'", media.png_text["Software"])] if media.png_text.get("Software") else []
    return list({(w, t.strip()[:300]): None for w, t in found if t.strip()})


def _generator_records(media: ImageMedia, header: Any, packet: xmp.Xmp) -> list[generators.GeneratorInfo]:
    found = generators.from_png_text(media.png_text) if media.png_text else []
    e = media.exif
    found.append(generators.from_user_comment(exif.user_comment(header)))
    found.append(generators.parse_flux_exif(str(e.get("Software", "")), str(e.get("Make", "")),
                                            str(e.get("Model", "")), str(e.get("ImageDescription", ""))))
    found.append(generators.parse_midjourney(str(e.get("ImageDescription", "")), "EXIF ImageDescription"))
    found.append(generators.parse_midjourney(packet.first("dc:description") or "", "XMP dc:description"))
    return [g for g in found if g is not None]


def _xmp_notes(packet: xmp.Xmp) -> list[str]:
    notes = [packet.error] if packet.error else []
    if any(k.startswith("crs:") for k in packet.props):
        notes.append("XMP holds Adobe Camera Raw / Lightroom development settings")
    doc, orig = packet.first("xmpMM:DocumentID"), packet.first("xmpMM:OriginalDocumentID")
    if doc and orig and doc != orig:
        notes.append("XMP says this document was derived from another one (DocumentID differs from "
                     "OriginalDocumentID)")
    return notes


class MetadataReader(Detector):
    name = "metadata"
    version = "2"
    modalities = ("image",)
    outputs = ("score", "facts", "attribution", "heatmap")
    profiles = ("fast", "default", "thorough")
    paper = ("EXIF 2.32 (CIPA DC-008); XMP (ISO 16684-1); IPTC Photo Metadata 2023.2 digitalSourceType; "
             "Kee & Farid 2010, 'Digital image authentication from thumbnails'")
    description = ("Reports generator parameters (A1111, ComfyUI, NovelAI, InvokeAI, FLUX, Midjourney), IPTC "
                   "source type, editing software, camera and checks thumbnail and timestamps for consistency.")

    def predict(self, media: ImageMedia) -> MetadataFindings:
        header = exif.open_header(media.data)
        packet = xmp.parse_xmp(media.xmp)
        make = str(media.exif.get("Make") or packet.first("tiff:Make") or "")[:100]
        model = str(media.exif.get("Model") or packet.first("tiff:Model") or "")[:100]
        taken = str(media.exif.get("DateTimeOriginal") or "")[:100]
        out = MetadataFindings(
            generators=_generator_records(media, header, packet),
            source_types=[("XMP", iptc.source_type_code(v)) for v in packet.props.get("Iptc4xmpExt:DigitalSourceType", [])],
            software=[(w, software.classify(t, make, model)) for w, t in _software_sources(media, packet)],
            camera={k: v for k, v in (("make", make), ("model", model), ("taken", taken)) if v},
            history=packet.history[:50],
            notes=_xmp_notes(packet),
        )
        preview = exif.thumbnail(header)
        if preview is not None:
            out.thumbnail = thumbnail.compare_thumbnail(media.rgb, preview)
        mismatch = consistency.declared_size_mismatch(media.exif, media.width, media.height)
        out.contradictions, dates = consistency.timestamp_findings(media.exif)
        out.notes += ([mismatch] if mismatch else []) + dates
        return out

    def to_evidence(self, native: MetadataFindings, media: ImageMedia) -> Evidence:
        facts = _generator_facts(native) + _consistency_facts(native) + _software_facts(native) + _camera_facts(native)
        score, attribution, heatmap = _score(native, media)
        return Evidence(score=score, summary=_summary(native, facts), facts=facts, attribution=attribution,
                        heatmap=heatmap, details=_details(native))


def _generator_facts(n: MetadataFindings) -> list[ProvenanceFact]:
    facts = []
    for g in n.generators:
        bits = [f"{k}: {v}" for k, v in (("prompt", g.prompt), ("model", g.model), ("seed", g.seed),
                                         ("sampler", g.sampler), ("steps", g.steps), ("mode", g.mode)) if v]
        facts.append(ProvenanceFact(source=g.source, claim=f"written by an AI image generator: {g.tool}",
                                    detail="; ".join(bits)[:2000]))
    for where, code in n.source_types:
        facts.append(ProvenanceFact(source=where, claim=f"IPTC digital source type '{code}': {iptc.describe(code)}"))
    for where, s in n.software:
        if s.kind == "generator":
            facts.append(ProvenanceFact(source=where,
                                        claim=f"software tag names an AI generator ({s.label}): {s.text}"))
    return facts


def _consistency_facts(n: MetadataFindings) -> list[ProvenanceFact]:
    facts, t = [], n.thumbnail
    if t is not None and t.verdict == "content-differs":
        facts.append(ProvenanceFact(
            source="exif-thumbnail", claim="the embedded EXIF preview shows different content from the image",
            detail=f"{t.changed_fraction:.1%} of the preview differs (up to {t.max_difference:.0f} gray levels): a "
                   "region was changed after the preview was made, or the metadata came from another picture"))
    elif t is not None and t.verdict == "different-picture":
        facts.append(ProvenanceFact(
            source="exif-thumbnail", claim="the embedded EXIF preview shows a different picture",
            detail=f"best match correlation {t.ncc:.2f}: the metadata was copied from another picture, or the image "
                   "was replaced or heavily edited after the preview was made"))
    elif t is not None and t.verdict == "cropped":
        how = (f"the image covers {t.scale:.0%} of the preview's width" if t.scale < 0.98 else
               f"aspect {t.aspect_thumb:.3f} vs {t.aspect_main:.3f}")
        facts.append(ProvenanceFact(source="exif-thumbnail",
                                    claim="the image was cropped after the EXIF preview was made", detail=how))
    facts += [ProvenanceFact(source="exif", claim=f"contradictory timestamps: {c}") for c in n.contradictions]
    return facts


def _software_facts(n: MetadataFindings) -> list[ProvenanceFact]:
    verbs = {"editor": "edited with", "ai-editor": "edited with an app that offers AI retouching:",
             "converter": "re-saved or converted by", "unknown": "processed by software:"}
    facts = [ProvenanceFact(source=where, claim=f"{verbs[s.kind]} {s.text}")
             for where, s in n.software if s.kind in verbs]
    actions = [e for e in n.history if e.get("action")]
    if actions:
        steps = ", ".join(f"{e.get('action')} ({e.get('softwareAgent', '?')})" for e in actions[:8])
        facts.append(ProvenanceFact(source="XMP history", claim=f"editing history records {len(actions)} step(s)",
                                    detail=steps[:1000]))
    facts += [ProvenanceFact(source="xmp/exif", claim=note) for note in n.notes]
    return facts


def _camera_facts(n: MetadataFindings) -> list[ProvenanceFact]:
    cams = [s for _, s in n.software if s.kind == "camera"]
    if not n.camera.get("make") and not n.camera.get("model"):
        return []
    name = " ".join(x for x in (n.camera.get("make"), n.camera.get("model")) if x)
    detail = "; ".join(x for x in (f"taken {n.camera['taken']}" if n.camera.get("taken") else "",
                                   f"firmware {cams[0].text}" if cams else "") if x)
    return [ProvenanceFact(source="exif", claim=f"camera: {name}", detail=detail)]


def _kind(n: MetadataFindings) -> str:
    """The strongest finding: what decides the score and the summary."""
    codes = {c for _, c in n.source_types}
    if n.generators or codes & iptc.AI_GENERATED or any(s.kind == "generator" for _, s in n.software):
        return "generator"
    if codes & iptc.AI_COMPOSITE:
        return "ai-part"
    if n.thumbnail is not None and n.thumbnail.verdict in ("content-differs", "different-picture"):
        return "thumbnail"
    if n.contradictions:
        return "contradiction"
    if any(s.kind in ("editor", "ai-editor", "converter", "unknown") for _, s in n.software):
        return "edited"
    if n.camera.get("make") or n.camera.get("model"):
        return "camera"
    return "notes" if n.notes or n.history else "none"


def _score(n: MetadataFindings, media: ImageMedia) -> tuple[float | None, dict[str, float], np.ndarray | None]:
    kind = _kind(n)
    if kind == "generator":
        return SCORE_GENERATOR, {"ai-generated": 1.0}, None
    scores = {"ai-part": SCORE_AI_PART, "thumbnail": SCORE_THUMBNAIL, "contradiction": SCORE_CONTRADICTION}
    heatmap = None
    t = n.thumbnail
    if t is not None and t.verdict == "content-differs" and t.diff_map is not None:
        heatmap = _upsample(t.diff_map, media.width, media.height)
    return scores.get(kind), ({"ai-composite": 1.0} if kind == "ai-part" else {}), heatmap


def _upsample(small: np.ndarray, width: int, height: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(small.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR))


_TAILS = {
    "generator": "; metadata can be forged, but generators write this themselves.",
    "ai-part": "; the file itself declares AI-generated parts.",
    "thumbnail": " (an editor that keeps the old preview, or copied metadata, can also cause this).",
    "contradiction": " (a wrong camera clock can also cause this).",
    "edited": "; editing software alone does not mean the content is fake.",
    "camera": "; metadata can be copied or forged, so this proves nothing alone.",
    "notes": "; metadata can be copied or forged, so this proves nothing alone.",
}


def _summary(n: MetadataFindings, facts: list[ProvenanceFact]) -> str:
    kind = _kind(n)
    if kind == "none" or not facts:
        return "The file carries no camera, software or generator metadata (most platforms strip it, so this proves nothing)."
    first = {
        "generator": facts[0],
        "ai-part": next((f for f in facts if f.claim.startswith("IPTC")), facts[0]),
        "thumbnail": next((f for f in facts if f.source == "exif-thumbnail"), facts[0]),
        "contradiction": next((f for f in facts if f.claim.startswith("contradictory")), facts[0]),
        "edited": next((f for f in facts if f.claim.startswith(("edited", "re-saved", "processed"))), facts[0]),
        "camera": next((f for f in facts if f.claim.startswith("camera")), facts[0]),
        "notes": facts[0],
    }[kind]
    return first.claim[0].upper() + first.claim[1:] + _TAILS[kind]


def _details(n: MetadataFindings) -> dict[str, Any]:
    t = n.thumbnail
    return {
        "generators": [g.as_details() for g in n.generators],
        "source_types": [code for _, code in n.source_types],
        "software": [{"where": w, "text": s.text, "kind": s.kind, "label": s.label} for w, s in n.software],
        "camera": n.camera,
        "history": n.history[:20],
        "thumbnail": None if t is None else {"verdict": t.verdict, "changed_fraction": t.changed_fraction,
                                             "max_difference": t.max_difference, "ncc": t.ncc, "scale": t.scale,
                                             "box": list(t.box) if t.box else None,
                                             "aspect": [t.aspect_main, t.aspect_thumb]},
        "contradictions": n.contradictions,
        "notes": n.notes,
    }

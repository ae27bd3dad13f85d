"""Reads what the file says about itself: editing software, generator parameters, camera, capture time.

These are facts, not measurements: metadata can be stripped or forged and its absence proves nothing, so the
score moves only modestly unless a generator wrote its own parameters into the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...media import ImageMedia
from ..base import Detector
from ..evidence import Evidence, Fact

_GENERATOR_PNG_KEYS = {
    "parameters": "Stable Diffusion web UI (A1111-style 'parameters')",
    "prompt": "ComfyUI ('prompt' graph)",
    "workflow": "ComfyUI ('workflow' graph)",
    "invokeai_metadata": "InvokeAI",
    "sd-metadata": "InvokeAI (legacy)",
    "Dream": "InvokeAI / lstein dream",
}
_GENERATOR_WORDS = re.compile(
    r"stable.?diffusion|midjourney|dall.?e|firefly|novelai|comfyui|invokeai|imagen|flux", re.I
)
_EDITOR_WORDS = re.compile(
    r"photoshop|gimp|lightroom|snapseed|affinity|pixelmator|paint\.net|picsart|facetune|canva|capture one", re.I
)
_AI_SOURCE_TYPES = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia")


@dataclass
class MetadataFindings:
    generator: list[Fact] = field(default_factory=list)
    editor: list[Fact] = field(default_factory=list)
    camera: list[Fact] = field(default_factory=list)


class MetadataReader(Detector):
    name = "metadata"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "facts")
    profiles = ("fast", "default", "thorough")
    paper = "EXIF 2.32 (CIPA DC-008), XMP (ISO 16684-1), IPTC Photo Metadata 2023.2 digitalSourceType"
    description = "Reports generator parameters, editing software and camera facts written in the file."

    def predict(self, media: ImageMedia) -> MetadataFindings:
        out = MetadataFindings()
        for key, label in _GENERATOR_PNG_KEYS.items():
            if key in media.png_text:
                out.generator.append(Fact("png-text", f"written by an AI image generator: {label}",
                                          media.png_text[key][:500]))
        software = " ".join(str(media.exif.get(k, "")) for k in ("Software", "ProcessingSoftware"))
        xmp = media.xmp or ""
        for source_type in _AI_SOURCE_TYPES:
            if source_type in xmp:
                out.generator.append(Fact("xmp", f"IPTC digital source type is '{source_type}'"))
                break
        tool = software + " " + " ".join(re.findall(r"CreatorTool[=>\"']+([^<\"']{1,200})", xmp))
        if _GENERATOR_WORDS.search(tool):
            out.generator.append(Fact("exif/xmp", f"software tag names a generator: {tool.strip()[:200]}"))
        elif _EDITOR_WORDS.search(tool):
            out.editor.append(Fact("exif/xmp", f"edited with {tool.strip()[:200]}"))
        elif tool.strip():
            out.editor.append(Fact("exif/xmp", f"processed by software: {tool.strip()[:200]}"))
        make, model = media.exif.get("Make"), media.exif.get("Model")
        if make or model:
            when = media.exif.get("DateTimeOriginal") or media.exif.get("DateTime")
            detail = f"captured {when}" if when else ""
            out.camera.append(Fact("exif", f"camera: {' '.join(str(x) for x in (make, model) if x)}", detail))
        return out

    def to_evidence(self, native: MetadataFindings, media: ImageMedia) -> Evidence:
        facts = native.generator + native.editor + native.camera
        if native.generator:
            return Evidence(score=0.9, summary=native.generator[0].claim.capitalize() + ".", facts=facts,
                            attribution={"ai-generated": 1.0})
        if native.editor:
            return Evidence(score=None, summary=native.editor[0].claim.capitalize()
                            + "; editing software alone does not mean the content is fake.", facts=facts)
        if native.camera:
            return Evidence(score=None, summary=native.camera[0].claim.capitalize()
                            + "; metadata can be copied or forged, so this proves nothing alone.", facts=facts)
        return Evidence(score=None, summary="The file carries no camera, software or generator metadata.",
                        facts=facts)

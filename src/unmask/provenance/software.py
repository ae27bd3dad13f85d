"""Classify the software names a file carries (EXIF Software, XMP CreatorTool / history agents, IPTC
OriginatingProgram, PNG 'Software'): an AI generator, an editor, an AI retouching app, a converter, or
camera firmware. An editor's name means "edited with", never "fake"; a converter means "re-saved".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GENERATORS = (
    (r"\bstable[ _-]?diffusion\b|\bsdxl\b|stable-diffusion-webui|\bautomatic1111\b|\bsd[ .]?next\b", "Stable Diffusion"),
    (r"\bmidjourney\b|\bniji[ ・]?journey\b", "Midjourney"),
    (r"\bdall[·.\s-]?e\b", "OpenAI DALL·E"),
    (r"\bchatgpt\b|\bgpt-?4o\b|\bgpt-image\b|\bopenai\b|\bsora\b", "OpenAI"),
    (r"\bfirefly\b", "Adobe Firefly"),
    (r"\bnovel ?ai\b", "NovelAI"),
    (r"\bcomfy ?ui\b", "ComfyUI"),
    (r"\binvoke ?ai\b", "InvokeAI"),
    (r"\bfooocus\b", "Fooocus"),
    (r"\bdraw things\b", "Draw Things"),
    (r"\bdiffusion ?bee\b", "DiffusionBee"),
    (r"\bblack forest labs\b|\bflux[.\s_-]?(1|dev|schnell|pro|kontext)\b", "FLUX (Black Forest Labs)"),
    (r"\bimagen\b|\bgemini\b|\bnano[ -]?banana\b", "Google Imagen / Gemini"),
    (r"\bideogram\b", "Ideogram"),
    (r"\bleonardo[ .]?ai\b", "Leonardo.Ai"),
    (r"\bbing image creator\b|\bimage creator\b|\bmicrosoft designer\b", "Microsoft Image Creator"),
    (r"\bplayground ?(ai|v2|v3)\b", "Playground"),
    (r"\bnightcafe\b", "NightCafe"),
    (r"\brecraft\b", "Recraft"),
    (r"\bkrea\b", "Krea"),
    (r"\brunway ?(ml|gen)\b", "Runway"),
    (r"^ai generated\b|\bai[- ]generated\b|\bgenerative ai\b", "an AI generator"),
)
_AI_EDITORS = (
    (r"\bfaceapp\b", "FaceApp"), (r"\bremini\b", "Remini"), (r"\blensa\b", "Lensa"),
    (r"\bfacetune\b", "Facetune"), (r"\btopaz\b", "Topaz Labs"), (r"\bluminar\b", "Luminar"),
)
_EDITORS = (
    (r"\bphotoshop\b", "Adobe Photoshop"), (r"\blightroom\b", "Adobe Lightroom"),
    (r"\bcamera raw\b", "Adobe Camera Raw"), (r"\bgimp\b", "GIMP"), (r"\bsnapseed\b", "Snapseed"),
    (r"\baffinity\b", "Affinity Photo"), (r"\bpixelmator\b", "Pixelmator"), (r"\bpaint\.net\b", "Paint.NET"),
    (r"\bpicsart\b", "PicsArt"), (r"\bcanva\b", "Canva"), (r"\bcapture one\b", "Capture One"),
    (r"\bdarktable\b", "darktable"), (r"\brawtherapee\b", "RawTherapee"), (r"\bphotoscape\b", "PhotoScape"),
    (r"\bfotor\b", "Fotor"), (r"\bvsco\b", "VSCO"), (r"\bmeitu\b", "Meitu"), (r"\bbeautyplus\b", "BeautyPlus"),
    (r"\bairbrush\b", "AirBrush"), (r"\bphotopea\b", "Photopea"), (r"\bphotodirector\b", "PhotoDirector"),
    (r"\bpaint ?shop ?pro\b", "Corel PaintShop Pro"), (r"\bacdsee\b", "ACDSee"), (r"\bdxo\b", "DxO"),
    (r"\bon1\b", "ON1"), (r"\bpicasa\b", "Picasa"), (r"^photos \d", "Apple Photos"), (r"\bkrita\b", "Krita"),
    (r"\bphotoscape\b", "PhotoScape"), (r"\binkscape\b", "Inkscape"), (r"\bmspaint\b|\bpaint 3d\b", "Microsoft Paint"),
)
_CONVERTERS = (
    (r"\bimagemagick\b", "ImageMagick"), (r"\bgraphicsmagick\b", "GraphicsMagick"), (r"\blibvips\b|\bvips\b", "libvips"),
    (r"\bxnview\b", "XnView"), (r"\birfanview\b", "IrfanView"), (r"\bwindows photo\b", "Windows Photo Viewer"),
    (r"^preview\b", "Apple Preview"), (r"\bquicktime\b", "QuickTime"), (r"\bffmpeg\b|\blavc\b", "FFmpeg"),
    (r"\bgd-jpeg\b", "PHP GD"), (r"\bjpegmini\b", "JPEGmini"), (r"\bsquoosh\b", "Squoosh"),
    (r"\bpillow\b|\bpython imaging\b", "Pillow"), (r"\bopencv\b", "OpenCV"),
)
_FIRMWARE = re.compile(
    r"^(ver(sion)?\.?\s*|v|fw\s*)?\d+([._]\d+)+[a-z]?\b|^hdr\+|firmware|\bcamera\b|"
    r"^[a-z]{1,8}-?[a-z]{0,3}\d[\da-z]{0,6}\s+v?\d+(\.\d+)+", re.I)


@dataclass(frozen=True)
class Software:
    """One software name and what kind of tool it is."""

    text: str
    kind: str  # "generator", "ai-editor", "editor", "converter", "camera", "unknown"
    label: str


def _match(table: tuple[tuple[str, str], ...], text: str) -> str | None:
    for pattern, label in table:
        if re.search(pattern, text, re.I):
            return label
    return None


def classify(text: str, make: str | None = None, model: str | None = None) -> Software:
    """Classify one software string; EXIF `make` and `model` help recognise camera firmware strings."""
    clean = " ".join(str(text).split())[:300]
    for kind, table in (("generator", _GENERATORS), ("ai-editor", _AI_EDITORS), ("editor", _EDITORS),
                        ("converter", _CONVERTERS)):
        label = _match(table, clean)
        if label:
            return Software(clean, kind, label)
    brand = (make or "").split()[0].lower() if make and make.split() else ""
    named = (brand and brand in clean.lower()) or (model and clean.lower().startswith(str(model).lower()[:20]))
    if _FIRMWARE.search(clean) or named:
        return Software(clean, "camera", clean)
    return Software(clean, "unknown", clean)

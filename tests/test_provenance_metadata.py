"""Generator metadata and consistency checks on files built here: Stable Diffusion web UI and ComfyUI PNGs,
A1111 JPEG UserComment, NovelAI / InvokeAI / Midjourney / FLUX records, a Photoshop-tagged JPEG, camera EXIF
with a matching or an outdated thumbnail, and contradictory timestamps."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data

import unmask
from assets import provenance_fixtures as F
from unmask.analysis import Analyzer
from unmask.detectors.image.metadata import MetadataReader
from unmask.provenance import generators, software, xmp

A1111 = (
    "a cosy photo of a tabby cat, soft light\n"
    "Negative prompt: blurry, lowres\n"
    'Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 512x512, Model hash: 6ce0161689, '
    'Model: v1-5-pruned-emaonly, Lora hashes: "detail: 1a2b, style: 3c4d", Version: v1.7.0'
)
COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 42, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                                               "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
}


@pytest.fixture(scope="module")
def cat():
    return data.chelsea()


def _meta(blob: bytes):
    return MetadataReader().analyze(unmask.load(blob))


def test_a1111_png_parameters_are_parsed_and_mean_ai_generated(cat):
    ev = _meta(F.png_bytes(cat, {"parameters": A1111}))
    (g,) = ev.details["generators"]
    assert g["prompt"] == "a cosy photo of a tabby cat, soft light" and g["negative_prompt"] == "blurry, lowres"
    assert (g["seed"], g["sampler"], g["steps"], g["cfg_scale"]) == ("1234567890", "DPM++ 2M Karras", "28", "6.5")
    assert g["model"] == "v1-5-pruned-emaonly" and g["mode"] == "txt2img"
    assert g["extra"]["Lora hashes"] == "detail: 1a2b, style: 3c4d"
    assert ev.score == pytest.approx(0.9) and ev.attribution == {"ai-generated": 1.0}
    assert ev.facts[0].claim.startswith("written by an AI image generator: Stable Diffusion web UI")
    assert "seed: 1234567890" in ev.facts[0].detail


def test_a1111_inpainting_and_img2img_modes():
    inpaint = A1111.replace("Version", "Denoising strength: 0.75, Mask blur: 4, Inpaint area: Only masked, Version")
    img2img = A1111.replace("Version", "Denoising strength: 0.6, Version")
    hires = A1111.replace("Version", "Denoising strength: 0.5, Hires upscale: 2, Version")
    assert generators.parse_a1111(inpaint, "t").mode == "inpaint"
    assert generators.parse_a1111(img2img, "t").mode == "img2img"
    assert generators.parse_a1111(hires, "t").mode == "txt2img"
    assert generators.parse_a1111("just a caption, no parameters", "t") is None


def test_a1111_jpeg_user_comment_in_utf16(cat):
    exif = F.build_exif({0x0131: ("ascii", "")}, {0x9286: ("undefined", F.user_comment_unicode(A1111))})
    ev = _meta(F.jpeg_bytes(cat, exif=exif))
    (g,) = ev.details["generators"]
    assert g["source"] == "EXIF UserComment" and g["seed"] == "1234567890" and g["prompt"].startswith("a cosy")
    assert ev.attribution == {"ai-generated": 1.0}


def test_comfyui_graph_follows_links_to_the_prompts(cat):
    workflow = {"nodes": [{"type": "KSampler"}, {"type": "CLIPTextEncode", "widgets_values": ["a lighthouse"]}]}
    ev = _meta(F.png_bytes(cat, {"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(workflow)}))
    (g,) = ev.details["generators"]
    assert g["tool"] == "ComfyUI" and g["prompt"] == "a lighthouse at dusk" and g["negative_prompt"] == "text, watermark"
    assert (g["seed"], g["steps"], g["sampler"]) == ("42", "20", "euler")
    assert g["model"] == "sd_xl_base_1.0.safetensors" and "KSampler" in g["extra"]["node_types"]
    only_workflow = generators.parse_comfyui(None, json.dumps(workflow))
    assert only_workflow.prompt == "a lighthouse" and only_workflow.source == "PNG text 'workflow'"


def test_novelai_invokeai_easy_diffusion_midjourney_and_flux_records():
    nai = generators.parse_novelai({"Software": "NovelAI", "Source": "NovelAI Diffusion V4 F6C6D9BD",
                                    "Description": "1girl, reading",
                                    "Comment": json.dumps({"seed": 7, "steps": 28, "sampler": "k_euler_ancestral",
                                                           "scale": 5, "uc": "lowres", "request_type": "PromptGenerateRequest"})})
    assert (nai.prompt, nai.seed, nai.negative_prompt, nai.model) == ("1girl, reading", "7", "lowres",
                                                                       "NovelAI Diffusion V4 F6C6D9BD")
    inv = generators.parse_invokeai({"invokeai_metadata": json.dumps({
        "positive_prompt": "a red fox", "negative_prompt": "", "seed": 99, "steps": 30, "cfg_scale": 7.5,
        "scheduler": "euler", "model": {"name": "juggernaut-xl"}, "generation_mode": "sdxl_txt2img"})})
    assert (inv.prompt, inv.seed, inv.model, inv.mode) == ("a red fox", "99", "juggernaut-xl", "sdxl_txt2img")
    legacy = generators.parse_invokeai({"sd-metadata": json.dumps({"model_weights": "stable-diffusion-1.5",
                                                                   "image": {"prompt": [{"prompt": "a barn", "weight": 1}],
                                                                             "seed": 5, "type": "txt2img"}})})
    assert (legacy.prompt, legacy.seed) == ("a barn", "5")
    dream = generators.parse_invokeai({"Dream": '"a ship at sea" -s 50 -S 3141 -W 512 -H 512 -C 7.5 -A k_lms'})
    assert (dream.prompt, dream.seed, dream.steps, dream.sampler) == ("a ship at sea", "3141", "50", "k_lms")
    ed = generators.parse_easy_diffusion({"prompt": "a mountain", "seed": "11", "use_stable_diffusion_model": "sd-v1-4"})
    assert (ed.prompt, ed.model) == ("a mountain", "sd-v1-4")
    mj = generators.parse_midjourney("a castle in fog --ar 16:9 --v 6.1 Job ID: 0b3c5d1e-1234-4abc-9def-0123456789ab",
                                     "PNG text 'Description'")
    assert mj.model == "Midjourney 6.1" and mj.extra["job_id"].startswith("0b3c5d1e")
    flux = generators.parse_flux_exif("AI generated;txt2img;flux", "Black Forest Labs", "flux-dev", "a forest")
    assert (flux.mode, flux.model, flux.prompt) == ("txt2img", "flux-dev", "a forest")


def test_flux_reference_exif_in_a_jpeg(cat):
    exif = F.build_exif({0x0131: ("ascii", "AI generated;txt2img;flux"), 0x010F: ("ascii", "Black Forest Labs"),
                         0x0110: ("ascii", "flux-schnell"), 0x010E: ("ascii", "a misty forest")})
    ev = _meta(F.jpeg_bytes(cat, 95, exif=exif))
    assert ev.attribution == {"ai-generated": 1.0}
    assert any(g["tool"].startswith("FLUX.1") and g["prompt"] == "a misty forest" for g in ev.details["generators"])


PHOTOSHOP_XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
 xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#" xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)"
 xmpMM:DocumentID="xmp.did:2" xmpMM:OriginalDocumentID="xmp.did:1">
<xmpMM:History><rdf:Seq>
<rdf:li stEvt:action="created" stEvt:softwareAgent="Adobe Photoshop 25.0 (Windows)" stEvt:when="2024-05-01T10:00:00"/>
<rdf:li><rdf:Description><stEvt:action>saved</stEvt:action><stEvt:softwareAgent>Adobe Photoshop 25.0 (Windows)</stEvt:softwareAgent></rdf:Description></rdf:li>
</rdf:Seq></xmpMM:History></rdf:Description></rdf:RDF></x:xmpmeta>"""


def _with_xmp(jpeg: bytes, packet: str) -> bytes:
    return F.insert_jpeg_segment(jpeg, F.jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode()))


def test_photoshop_tagged_jpeg_is_edited_with_not_fake(cat):
    exif = F.build_exif({0x0131: ("ascii", "Adobe Photoshop 25.0 (Windows)"), 0x010F: ("ascii", "Canon"),
                         0x0110: ("ascii", "Canon EOS 5D Mark IV")})
    ev = _meta(_with_xmp(F.jpeg_bytes(cat, exif=exif), PHOTOSHOP_XMP))
    assert ev.score is None and ev.attribution == {}
    assert ev.summary.startswith("Edited with Adobe Photoshop 25.0 (Windows)")
    assert "does not mean the content is fake" in ev.summary
    claims = [f.claim for f in ev.facts]
    assert "editing history records 2 step(s)" in claims and "camera: Canon Canon EOS 5D Mark IV" in claims
    assert any("derived from another one" in c for c in claims)
    kinds = {s["kind"] for s in ev.details["software"]}
    assert kinds == {"editor"}


def test_software_classification():
    cases = {"Adobe Photoshop Lightroom Classic 13.0": "editor", "GIMP 2.10.34": "editor", "Snapseed 2.0": "editor",
             "Ver.1.02": "camera", "17.1.2": "camera", "HDR+ 1.0.540104767zd": "camera", "FaceApp": "ai-editor",
             "ImageMagick 7.1": "converter", "Midjourney": "generator", "NovelAI": "generator",
             "Adobe Firefly": "generator", "SomeTool 2000": "unknown"}
    for text, kind in cases.items():
        assert software.classify(text).kind == kind, text
    assert software.classify("ILCE-7M3 v3.01", make="SONY", model="ILCE-7M3").kind == "camera"
    assert software.classify("DSC-RX100 1.00").kind == "camera"


def test_xmp_digital_source_type(cat):
    packet = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
              '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
              'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{}"/></rdf:RDF></x:xmpmeta>')
    ai = _meta(_with_xmp(F.jpeg_bytes(cat), packet.format("trainedAlgorithmicMedia")))
    assert ai.score == pytest.approx(0.9) and ai.attribution == {"ai-generated": 1.0}
    assert "IPTC digital source type 'trainedAlgorithmicMedia': created by a generative AI model" in ai.summary
    part = _meta(_with_xmp(F.jpeg_bytes(cat), packet.format("compositeWithTrainedAlgorithmicMedia")))
    assert part.score == pytest.approx(0.6) and part.attribution == {"ai-composite": 1.0}


def _camera_exif(thumb_rgb: np.ndarray, ifd0: dict | None = None) -> bytes:
    tags = {0x010F: ("ascii", "NIKON CORPORATION"), 0x0110: ("ascii", "NIKON D750"), 0x0131: ("ascii", "Ver.1.10"),
            0x0132: ("ascii", "2023:06:01 10:00:00")}
    tags.update(ifd0 or {})
    sub = {0x9003: ("ascii", "2023:06:01 10:00:00"), 0x9004: ("ascii", "2023:06:01 10:00:00"),
           0xA002: ("long", 451), 0xA003: ("long", 300)}
    return F.build_exif(tags, sub, thumbnail=F.jpeg_bytes(thumb_rgb, 75))


def _thumb(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).resize((160, 106)))


def test_camera_exif_with_matching_thumbnail_is_consistent(cat):
    ev = _meta(F.jpeg_bytes(cat, 92, exif=_camera_exif(_thumb(cat))))
    assert ev.details["thumbnail"]["verdict"] == "consistent" and ev.score is None and ev.heatmap is None
    assert ev.summary.startswith("Camera: NIKON CORPORATION NIKON D750")
    assert ev.details["camera"]["model"] == "NIKON D750"


def test_thumbnail_of_the_unedited_picture_reveals_the_edit(cat):
    edited = cat.copy()
    edited[60:180, 250:380] = data.rocket()[200:320, 250:380]  # paste part of another photo over the cat
    ev = _meta(F.jpeg_bytes(edited, 92, exif=_camera_exif(_thumb(cat))))
    t = ev.details["thumbnail"]
    assert t["verdict"] == "content-differs" and ev.score == pytest.approx(0.6) and ev.attribution == {}
    assert ev.facts[0].claim == "the embedded EXIF preview shows different content from the image"
    inside = np.zeros(cat.shape[:2], bool)
    inside[60:180, 250:380] = True
    assert ev.heatmap.shape == cat.shape[:2]
    assert ev.heatmap[inside].mean() > 0.4 and ev.heatmap[~inside].mean() < 0.01
    hot = ev.heatmap > 0.5
    assert (hot & inside).sum() / (hot | inside).sum() > 0.4  # IoU; the preview is only 160 pixels wide
    x0, y0, x1, y1 = t["box"]
    assert 240 <= x0 <= 280 and 370 <= x1 <= 400 and 50 <= y0 <= 75 and 170 <= y1 <= 195


def test_thumbnail_with_another_shape_means_cropped(cat):
    ev = _meta(F.jpeg_bytes(cat[:, :300], 92, exif=_camera_exif(_thumb(cat))))
    assert ev.details["thumbnail"]["verdict"] == "cropped" and ev.score is None
    notes = " ".join(ev.details["notes"])
    assert "EXIF says the picture is 451x300 pixels but it is 300x300" in notes


def test_crop_inside_the_preview_is_found_by_registration(cat):
    ev = _meta(F.jpeg_bytes(cat[30:270, 45:405], 92, exif=_camera_exif(_thumb(cat))))
    t = ev.details["thumbnail"]
    assert t["verdict"] == "cropped" and 0.76 <= t["scale"] <= 0.84 and t["ncc"] > 0.9 and ev.score is None
    assert any(f.claim == "the image was cropped after the EXIF preview was made" and "of the preview's width" in f.detail
               for f in ev.facts)


def test_preview_of_another_picture(cat):
    from PIL import Image

    other = np.asarray(Image.fromarray(data.coffee()).resize((160, 106)))
    ev = _meta(F.jpeg_bytes(cat, 92, exif=_camera_exif(other)))
    assert ev.details["thumbnail"]["verdict"] == "different-picture" and ev.score == pytest.approx(0.6)
    assert ev.facts[0].claim == "the embedded EXIF preview shows a different picture"


def test_modified_before_taken_is_a_contradiction(cat):
    exif = _camera_exif(_thumb(cat), {0x0132: ("ascii", "2021:01:01 09:00:00")})
    ev = _meta(F.jpeg_bytes(cat, 92, exif=exif))
    assert ev.score == pytest.approx(0.35)
    assert ev.details["contradictions"] == ["the file says it was last modified (2021-01-01 09:00:00) before it "
                                            "was taken (2023-06-01 10:00:00)"]


def test_metadata_alone_never_makes_a_confident_manipulated_verdict(cat):
    edited = cat.copy()
    edited[60:180, 250:380] = 255 - edited[60:180, 250:380]
    exif = _camera_exif(_thumb(cat), {0x0132: ("ascii", "2021:01:01 09:00:00")})
    report = Analyzer(detectors=["metadata"]).analyze(F.jpeg_bytes(edited, 92, exif=exif))
    assert report.verdict.label == "inconclusive" and report.verdict.probability < 0.7


def test_xmp_parser_handles_both_rdf_forms_and_refuses_entities():
    parsed = xmp.parse_xmp(PHOTOSHOP_XMP)
    assert parsed.first("xmp:CreatorTool") == "Adobe Photoshop 25.0 (Windows)"
    assert [e["action"] for e in parsed.history] == ["created", "saved"]
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&b;</x:xmpmeta>'
    assert "refused" in xmp.parse_xmp(bomb).error
    broken = xmp.parse_xmp('<x:xmpmeta><rdf:Description xmp:CreatorTool="GIMP 2.10" <<<')
    assert broken.error and broken.first("xmp:CreatorTool") == "GIMP 2.10"

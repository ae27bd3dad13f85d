"""Parsers for the parameters AI image tools write into their files (prompt, model, seed, sampler...).

Formats, as the tools write them:
- AUTOMATIC1111 / Forge / SD.Next ("infotext"): PNG tEXt/iTXt 'parameters' or, for JPEG/WebP, EXIF
  UserComment: the prompt, an optional 'Negative prompt:' line, then 'Steps: 20, Sampler: ..., Seed: ...'.
  Inpainting adds 'Mask blur'/'Inpaint area', img2img adds 'Denoising strength' (hires fix aside).
- ComfyUI: PNG 'prompt' (the API graph: node id -> {class_type, inputs}) and 'workflow' (the editor graph).
- NovelAI: PNG 'Software' = 'NovelAI', 'Source' (model), 'Description' (prompt), 'Comment' (JSON settings).
- InvokeAI: PNG 'invokeai_metadata' (JSON), legacy 'sd-metadata' (JSON) and 'Dream' (command line).
- Fooocus: PNG 'parameters' as JSON plus 'fooocus_scheme'; Easy Diffusion: plain-text PNG keys such as
  'prompt', 'seed', 'use_stable_diffusion_model'; Draw Things: JSON in EXIF UserComment.
- FLUX.1 reference scripts: EXIF Software 'AI generated;txt2img;flux', Make 'Black Forest Labs', Model the
  model name, ImageDescription the prompt.
- Midjourney: a 'Description' holding the prompt followed by 'Job ID: <uuid>'.
Every parser is total: malformed input gives None (or fewer fields), never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TEXT = 2000
_A1111_PARAM = re.compile(r'\s*([A-Za-z][\w \-/+().]{0,60}):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
_JOB_ID = re.compile(r"\bJob ID:\s*([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})", re.I)


@dataclass
class GeneratorInfo:
    """What a generator wrote about how it made the image."""

    tool: str
    source: str
    prompt: str | None = None
    negative_prompt: str | None = None
    model: str | None = None
    seed: str | None = None
    sampler: str | None = None
    steps: str | None = None
    cfg_scale: str | None = None
    mode: str | None = None  # "txt2img", "img2img", "inpaint" where the tool says
    extra: dict[str, str] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        keys = ("tool", "source", "prompt", "negative_prompt", "model", "seed", "sampler", "steps", "cfg_scale",
                "mode")
        out = {k: getattr(self, k) for k in keys if getattr(self, k) not in (None, "")}
        if self.extra:
            out["extra"] = dict(list(self.extra.items())[:40])
        return out


def _s(value: Any) -> str | None:
    """A bounded string for a scalar, None for empty or structured values."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return text[:MAX_TEXT] if text else None


def _json(text: str | None) -> Any:
    if not text or len(text) > 8_000_000:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


# ------------------------------------------------------------------------------------------- A1111 infotext


def parse_a1111(text: str, source: str) -> GeneratorInfo | None:
    """AUTOMATIC1111-style infotext; None if the text does not have its shape."""
    lines = text.strip().split("\n")
    if not lines or not re.search(r"(^|,\s*)Steps:\s*\d+", lines[-1]):
        return None
    params = {k.strip(): v.strip().strip('"') for k, v in _A1111_PARAM.findall(lines[-1])}
    body = "\n".join(lines[:-1])
    prompt, _, negative = body.partition("\nNegative prompt:")
    if body.startswith("Negative prompt:"):
        prompt, negative = "", body[len("Negative prompt:"):]
    info = GeneratorInfo(
        tool="Stable Diffusion web UI (AUTOMATIC1111-style parameters)", source=source,
        prompt=_s(prompt), negative_prompt=_s(negative), model=_s(params.pop("Model", None)),
        seed=_s(params.pop("Seed", None)), sampler=_s(params.pop("Sampler", None)),
        steps=_s(params.pop("Steps", None)), cfg_scale=_s(params.pop("CFG scale", None)),
    )
    if any(k in params for k in ("Mask blur", "Inpaint area", "Masked content")):
        info.mode = "inpaint"
    elif "Denoising strength" in params and not any(k.startswith("Hires") for k in params):
        info.mode = "img2img"
    else:
        info.mode = "txt2img"
    version = params.get("Version", "")
    if version.lower().startswith("f") and "forge" not in info.tool.lower():
        info.tool = "Stable Diffusion WebUI Forge (AUTOMATIC1111-style parameters)"
    info.extra = {k: v[:200] for k, v in list(params.items())[:40]}
    return info


# ------------------------------------------------------------------------------------------------ ComfyUI


def _linked_text(graph: dict, link: Any, depth: int = 0) -> str | None:
    """Follow a ComfyUI input link [node_id, slot] to the text of a text-encoding node."""
    if depth > 8 or not (isinstance(link, list) and link and str(link[0]) in graph):
        return None
    node = graph[str(link[0])]
    if not isinstance(node, dict):
        return None
    inputs = node.get("inputs") or {}
    for key in ("text", "text_g", "prompt", "positive", "conditioning", "conditioning_1"):
        value = inputs.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            found = _linked_text(graph, value, depth + 1)
            if found:
                return found
    return None


def parse_comfyui(prompt_json: str | None, workflow_json: str | None) -> GeneratorInfo | None:
    """ComfyUI's API graph ('prompt'), falling back to the editor graph ('workflow')."""
    graph = _json(prompt_json)
    info = GeneratorInfo(tool="ComfyUI", source="PNG text 'prompt'" if graph else "PNG text 'workflow'")
    if isinstance(graph, dict) and all(isinstance(v, dict) for v in list(graph.values())[:50]):
        nodes = list(graph.values())[:5000]
        classes = [str(n.get("class_type", "")) for n in nodes]
        if not any(classes):
            return None
        for node in nodes:
            cls, inputs = str(node.get("class_type", "")), node.get("inputs") or {}
            if not isinstance(inputs, dict):
                continue
            if "Sampler" in cls and info.seed is None:
                info.seed = _s(inputs.get("seed", inputs.get("noise_seed")))
                info.steps, info.cfg_scale = _s(inputs.get("steps")), _s(inputs.get("cfg"))
                info.sampler = _s(inputs.get("sampler_name"))
                info.prompt = _s(_linked_text(graph, inputs.get("positive")))
                info.negative_prompt = _s(_linked_text(graph, inputs.get("negative")))
                if inputs.get("scheduler"):
                    info.extra["scheduler"] = str(inputs["scheduler"])[:100]
                if isinstance(inputs.get("denoise"), int | float):
                    info.extra["denoise"] = str(inputs["denoise"])
            if info.model is None and ("CheckpointLoader" in cls or "UNETLoader" in cls):
                info.model = _s(inputs.get("ckpt_name", inputs.get("unet_name")))
        info.extra["node_types"] = ", ".join(sorted(set(filter(None, classes)))[:30])[:500]
        return info
    workflow = _json(workflow_json)
    if isinstance(workflow, dict) and isinstance(workflow.get("nodes"), list):
        types = [str(n.get("type", "")) for n in workflow["nodes"][:5000] if isinstance(n, dict)]
        for n in workflow["nodes"][:5000]:
            if isinstance(n, dict) and "CLIPTextEncode" in str(n.get("type")) and info.prompt is None:
                values = n.get("widgets_values") or []
                info.prompt = _s(values[0]) if values else None
        info.extra["node_types"] = ", ".join(sorted(set(filter(None, types)))[:30])[:500]
        return info
    return None


# ------------------------------------------------------------------------- NovelAI, InvokeAI, others


def parse_novelai(text: dict[str, str]) -> GeneratorInfo | None:
    if "novelai" not in (text.get("Software", "") + " " + text.get("Source", "")).lower():
        return None
    info = GeneratorInfo(tool="NovelAI", source="PNG text 'Software'/'Comment'", prompt=_s(text.get("Description")),
                         model=_s(text.get("Source")))
    comment = _json(text.get("Comment"))
    if isinstance(comment, dict):
        info.prompt = info.prompt or _s(comment.get("prompt"))
        info.negative_prompt = _s(comment.get("uc"))
        info.seed, info.steps = _s(comment.get("seed")), _s(comment.get("steps"))
        info.sampler, info.cfg_scale = _s(comment.get("sampler")), _s(comment.get("scale"))
        info.mode = _s(comment.get("request_type"))
    return info


def _invoke_prompt(value: Any) -> str | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _s(value[0].get("prompt"))
    return _s(value)


def parse_invokeai(text: dict[str, str]) -> GeneratorInfo | None:
    meta = _json(text.get("invokeai_metadata"))
    if isinstance(meta, dict):
        model = meta.get("model")
        return GeneratorInfo(
            tool="InvokeAI", source="PNG text 'invokeai_metadata'", prompt=_s(meta.get("positive_prompt")),
            negative_prompt=_s(meta.get("negative_prompt")),
            model=_s(model.get("name", model.get("model_name"))) if isinstance(model, dict) else _s(model),
            seed=_s(meta.get("seed")), steps=_s(meta.get("steps")), cfg_scale=_s(meta.get("cfg_scale")),
            sampler=_s(meta.get("scheduler")), mode=_s(meta.get("generation_mode")))
    legacy = _json(text.get("sd-metadata"))
    if isinstance(legacy, dict):
        image = legacy.get("image") if isinstance(legacy.get("image"), dict) else {}
        return GeneratorInfo(
            tool="InvokeAI (legacy)", source="PNG text 'sd-metadata'", prompt=_invoke_prompt(image.get("prompt")),
            model=_s(legacy.get("model_weights")), seed=_s(image.get("seed")), steps=_s(image.get("steps")),
            cfg_scale=_s(image.get("cfg_scale")), sampler=_s(image.get("sampler")), mode=_s(image.get("type")))
    dream = text.get("Dream")
    if dream:
        flags = dict(re.findall(r"(?:^|\s)-([sSWHCA])\s*(\S+)", dream[:MAX_TEXT]))
        prompt = re.match(r'\s*"([^"]*)"', dream)
        return GeneratorInfo(tool="InvokeAI / lstein 'dream'", source="PNG text 'Dream'",
                             prompt=_s(prompt.group(1) if prompt else dream), seed=flags.get("S"),
                             steps=flags.get("s"), cfg_scale=flags.get("C"), sampler=flags.get("A"))
    return None


def parse_json_params(obj: Any, tool: str, source: str) -> GeneratorInfo | None:
    """Generic JSON parameters (Fooocus, Draw Things, ...): common key names, case-insensitive."""
    if not isinstance(obj, dict):
        return None
    low = {str(k).lower().replace("_", " "): v for k, v in list(obj.items())[:500]}

    def pick(*names: str) -> str | None:
        return next((_s(low[n]) for n in names if n in low and _s(low[n])), None)

    info = GeneratorInfo(tool=tool, source=source, prompt=pick("prompt", "c", "full prompt"),
                         negative_prompt=pick("negative prompt", "uc", "negative"),
                         model=pick("base model", "model", "model name", "sd model"), seed=pick("seed"),
                         sampler=pick("sampler", "sampler name"), steps=pick("steps", "num inference steps"),
                         cfg_scale=pick("guidance scale", "cfg scale", "cfg", "scale"))
    return info if (info.prompt or info.seed or info.model) else None


def parse_easy_diffusion(text: dict[str, str]) -> GeneratorInfo | None:
    if "use_stable_diffusion_model" not in text and "num_inference_steps" not in text:
        return None
    return GeneratorInfo(tool="Easy Diffusion", source="PNG text chunks", prompt=_s(text.get("prompt")),
                         negative_prompt=_s(text.get("negative_prompt")),
                         model=_s(text.get("use_stable_diffusion_model")), seed=_s(text.get("seed")),
                         sampler=_s(text.get("sampler_name")), steps=_s(text.get("num_inference_steps")),
                         cfg_scale=_s(text.get("guidance_scale")))


def parse_flux_exif(software: str, make: str, model: str, description: str) -> GeneratorInfo | None:
    m = re.match(r"\s*AI generated;\s*(\w+);\s*(\w+)", software or "")
    if not m and "black forest labs" not in (make or "").lower():
        return None
    return GeneratorInfo(tool="FLUX.1 reference scripts (Black Forest Labs)", source="EXIF Software/Make/Model",
                         prompt=_s(description), model=_s(model), mode=m.group(1) if m else None)


def parse_midjourney(description: str, source: str) -> GeneratorInfo | None:
    m = _JOB_ID.search(description or "")
    if not m:
        return None
    prompt = description[: m.start()].strip()
    info = GeneratorInfo(tool="Midjourney (prompt and Job ID in the description)", source=source,
                         prompt=_s(prompt))
    info.extra["job_id"] = m.group(1)
    version = re.search(r"--(v|niji)\s+([\d.]+)", prompt)
    if version:
        info.model = f"{'Midjourney' if version.group(1) == 'v' else 'niji'} {version.group(2)}"
    seed = re.search(r"--seed\s+(\d+)", prompt)
    info.seed = seed.group(1) if seed else None
    return info


# ------------------------------------------------------------------------------------------------- driver


def from_png_text(text: dict[str, str]) -> list[GeneratorInfo]:
    """Every generator record found in PNG text chunks, most specific first."""
    found: list[GeneratorInfo] = []
    params = text.get("parameters")
    if params:
        obj = _json(params) if params.lstrip().startswith("{") else None
        tool = "Fooocus" if "fooocus_scheme" in text or "fooocus" in params[:5000].lower() else "a JSON-writing UI"
        parsed = parse_json_params(obj, tool, "PNG text 'parameters'") if obj is not None else \
            parse_a1111(params, "PNG text 'parameters'")
        found.append(parsed or GeneratorInfo(tool="an AI image tool ('parameters' chunk)",
                                             source="PNG text 'parameters'", prompt=_s(params)))
    if "prompt" in text or "workflow" in text:
        comfy = parse_comfyui(text.get("prompt"), text.get("workflow"))
        if comfy:
            found.append(comfy)
    for parser in (parse_novelai, parse_invokeai, parse_easy_diffusion):
        info = parser(text)
        if info:
            found.append(info)
    for key in ("Description", "Comment", "Title"):
        mj = parse_midjourney(text.get(key, ""), f"PNG text '{key}'")
        if mj:
            found.append(mj)
            break
    return found


def from_user_comment(comment: str | None) -> GeneratorInfo | None:
    """A1111 infotext or JSON parameters stored in EXIF UserComment (JPEG/WebP outputs)."""
    if not comment:
        return None
    if comment.lstrip().startswith("{"):
        return parse_json_params(_json(comment), "a JSON-writing AI tool (e.g. Draw Things)", "EXIF UserComment")
    return parse_a1111(comment, "EXIF UserComment")

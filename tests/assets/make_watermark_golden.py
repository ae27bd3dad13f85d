"""Regenerate the watermark golden fixtures with the REAL `invisible-watermark` package (not unmask's codec).

    python -m venv /tmp/iw && /tmp/iw/bin/pip install invisible-watermark==0.2.0 scikit-image
    # a throwaway venv only: the package imports torch and opencv-python, which unmask does not use
    /tmp/iw/bin/python tests/assets/make_watermark_golden.py tests/assets

Writes watermark_sd1.png (marked as the Stable Diffusion 1.x scripts do: 8-bit BGR, 'StableDiffusionV1'),
watermark_sdxl.png (marked as diffusers' StableDiffusionXLWatermarker does: float RGB flipped to BGR, the
48-bit WATERMARK_MESSAGE, then rounded to 8 bits) and watermark_golden.json: the bits the reference decoder
returns for every known message under every pixel convention, which unmask's decoder must reproduce exactly.
The message bits are written out here independently of unmask, from the generators' source code.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import cv2
import imwatermark
import numpy as np
from imwatermark import WatermarkDecoder, WatermarkEncoder
from PIL import Image
from skimage import data, transform

MESSAGES = {
    "sd1": list(np.unpackbits(np.frombuffer(b"StableDiffusionV1", np.uint8))),
    "sd1-inpainting": list(np.unpackbits(np.frombuffer(b"StableDiffusionV1-Inpainting", np.uint8))),
    "sd2": list(np.unpackbits(np.frombuffer(b"SDV2", np.uint8))),
    "sdxl": [int(b) for b in bin(0b101100111110110010010000011110111011000110011110)[2:]],
    "flux1": [int(b) for b in bin(0b001010101111111010000111100111001111010100101110)[2:]],
}
CONVENTIONS = ("u8-bgr", "f32-bgr", "f32-rgb")


def encode(rgb: np.ndarray, bits: list[int], convention: str) -> np.ndarray:
    enc = WatermarkEncoder()
    enc.set_watermark("bits", [int(b) for b in bits])
    if convention == "u8-bgr":  # CompVis put_watermark(): RGB2BGR, encode, flip back
        return np.ascontiguousarray(enc.encode(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), "dwtDct")[..., ::-1])
    img = rgb.astype(np.float32)
    if convention == "f32-bgr":
        img = img[..., ::-1]
    out = enc.encode(np.ascontiguousarray(img), "dwtDct")
    if convention == "f32-bgr":
        out = out[..., ::-1]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def decode(rgb: np.ndarray, n: int, convention: str) -> list[int]:
    src = rgb if convention.endswith("rgb") else rgb[..., ::-1]
    src = np.ascontiguousarray(src, dtype=np.float32 if convention.startswith("f32") else np.uint8)
    return [int(b) for b in WatermarkDecoder("bits", n).decode(src, "dwtDct")]


def main(out: Path) -> None:
    base = (transform.resize(data.astronaut(), (256, 256), anti_aliasing=True) * 255).round().astype(np.uint8)
    golden = {"package": f"invisible-watermark {getattr(imwatermark, '__version__', '0.2.0')}", "files": {}}
    for name, key, convention in (("watermark_sd1.png", "sd1", "u8-bgr"), ("watermark_sdxl.png", "sdxl", "f32-bgr")):
        marked = encode(base, MESSAGES[key], convention)
        buf = io.BytesIO()
        Image.fromarray(marked).save(buf, "PNG", optimize=True)
        (out / name).write_bytes(buf.getvalue())
        pixels = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
        decoded = {f"{k}/{c}": decode(pixels, len(bits), c) for k, bits in MESSAGES.items() for c in CONVENTIONS}
        golden["files"][name] = {"mark": key, "convention": convention, "message": [int(b) for b in MESSAGES[key]],
                                 "reference_decode": decoded}
    (out / "watermark_golden.json").write_text(json.dumps(golden, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent))

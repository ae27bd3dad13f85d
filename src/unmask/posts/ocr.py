"""Text found in a picture, with RapidOCR (PP-OCRv4 detection and recognition, Chinese and English, run by
onnxruntime; Du et al. 2020 "PP-OCR", Li et al. 2022 "PP-OCRv3"). The models ship inside the
`rapidocr_onnxruntime` package: nothing is downloaded. Install with `INSTALL` below: the `ocr` extra holds its
run-time needs, and rapidocr itself goes in with --no-deps, because it declares opencv-python, whose cv2 folder
clashes with the opencv-python-headless the other extras install.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import MissingDependency

INSTALL = 'pip install "unmask[ocr]" && pip install --no-deps rapidocr-onnxruntime==1.4.4'
MIN_CONFIDENCE = 0.5
MAX_SIDE = 2048  # larger pictures are shrunk first: OCR time grows with the area, small print is lost anyway


def missing_rapidocr() -> MissingDependency:
    """The error for a missing RapidOCR, with both install steps (the extra alone cannot install it)."""
    exc = MissingDependency("rapidocr_onnxruntime", "ocr", "reading text in pictures")
    exc.args = (f"rapidocr_onnxruntime is needed for reading text in pictures: {INSTALL} (it goes in with "
                "--no-deps because it declares opencv-python, which clashes with unmask's opencv-python-headless)",)
    return exc


@dataclass(frozen=True)
class Line:
    """One line of text the OCR read, its box (x0, y0, x1, y1) in the picture's pixels, and its confidence."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float


class Reader:
    """A RapidOCR engine, created on first use and kept for the reader's lifetime."""

    def __init__(self, min_confidence: float = MIN_CONFIDENCE) -> None:
        self.min_confidence = min_confidence
        self._engine: Any = None

    def _ensure(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as exc:
                raise missing_rapidocr() from exc
            self._engine = RapidOCR()
        return self._engine

    def read(self, rgb: np.ndarray) -> list[Line]:
        """Lines of text in an RGB picture, top to bottom, those under `min_confidence` left out."""
        image, scale = _shrunk(np.asarray(rgb))
        result, _ = self._ensure()(np.ascontiguousarray(image[..., ::-1]))  # RapidOCR takes OpenCV's BGR
        lines = []
        for quad, text, confidence in result or []:
            xs, ys = [p[0] / scale for p in quad], [p[1] / scale for p in quad]
            if float(confidence) >= self.min_confidence and str(text).strip():
                lines.append(Line(str(text).strip(), (min(xs), min(ys), max(xs), max(ys)), float(confidence)))
        return sorted(lines, key=lambda ln: (round(ln.box[1] / 10), ln.box[0]))


def _shrunk(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    if rgb.ndim == 2:
        rgb = np.stack([rgb] * 3, axis=-1)
    rgb = rgb[..., :3]
    side = max(rgb.shape[:2])
    if side <= MAX_SIDE:
        return rgb, 1.0
    from PIL import Image

    scale = MAX_SIDE / side
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)), scale

"""Any other source's samples, brought to the fixed scale of a detector that resizes its input (univfd).

A detector that reads an image at a fixed shortest side (unmask.learned.archs.univfd) must train on what it
will see: this source takes the samples of `of:` (any source spec) and shrinks each to shortest side `side`
when it is larger, with the detector's own function (`shrink_short`; a smaller image is left as it is), so
the loop's random `crop` x `crop` window (crop = side, reflect-padded when the image is smaller) matches the
detector's views. Options, applied in this order and to every class alike:

- `normalise: {side: S, jpeg: Q}`: first shortest side to S (Lanczos), centre crop S x S, re-save as JPEG
  quality Q. The matched-size protocol of benchmarks/aigi_eval.py ("resize"), used to take the size shortcut
  out of aigi_photos (every fake 559 px, every real 1125-3456 px) before a model learns it.
- `prescale_p: p`, `prescale: [lo, hi]`: with chance p, first shrink to shortest side `side` x U(lo, hi) when
  the image is larger, so the history of resampling (how much an image was shrunk on its way to `side`) is
  varied for every class instead of being a class trait.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from . import Context, Sample, Source
from . import build as build_source


def matched(rgb: np.ndarray, side: int, quality: int) -> tuple[np.ndarray, bytes]:
    """Shortest side to `side` (Lanczos), centre crop side x side, JPEG `quality`: (pixels, file)."""
    im = Image.fromarray(rgb)
    s = side / min(im.size)
    im = im.resize((max(side, round(im.width * s)), max(side, round(im.height * s))), Image.LANCZOS)
    x, y = (im.width - side) // 2, (im.height - side) // 2
    buf = io.BytesIO()
    im.crop((x, y, x + side, y + side)).save(buf, "JPEG", quality=int(quality))
    with Image.open(io.BytesIO(buf.getvalue())) as out:
        return np.asarray(out.convert("RGB")), buf.getvalue()


class RescaledSource:
    def __init__(self, inner: Source, side: int, normalise: dict[str, Any] | None, prescale_p: float,
                 prescale: tuple[float, float]) -> None:
        self.inner, self.side, self.normalise = inner, side, normalise
        self.prescale_p, self.prescale = prescale_p, prescale

    def __len__(self) -> int:
        return len(self.inner)

    def get(self, index: int, rng: np.random.Generator) -> Sample:
        from ...learned.archs.univfd import rescale_short, shrink_short

        sample = self.inner.get(index, rng)
        image, data = sample.image[..., :3], sample.data
        if self.normalise:
            image, data = matched(image, int(self.normalise.get("side", 512)), int(self.normalise.get("jpeg", 95)))
        if rng.random() < self.prescale_p:
            short = self.side * rng.uniform(*self.prescale)
            if min(image.shape[:2]) > short:
                image = rescale_short(image, round(short))
        return Sample(shrink_short(image, self.side), sample.label, None, data)


def build(spec: dict[str, Any], ctx: Context) -> RescaledSource:
    if "of" not in spec or not isinstance(spec["of"], dict):
        raise ValueError("a rescaled source needs 'of:', the spec of the source whose samples it rescales")
    return RescaledSource(build_source(spec["of"], ctx), int(spec.get("side", 224)), spec.get("normalise"),
                          float(spec.get("prescale_p", 0.0)), tuple(spec.get("prescale", (1.0, 2.0))))

"""Held-out evaluation of a network with unmask.metrics: image-level detection and pixel localisation."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..learned.infer import predict_image
from ..learned.net import ForensicNet
from ..metrics import binary_summary
from ..metrics.localization import LocalizationAccumulator
from .sources import Sample


def evaluate(net: ForensicNet, samples: Iterable[Sample], threshold: float = 0.5) -> dict[str, Any]:
    """Image AUC/AP/accuracy at the fixed `threshold`, and for localisers the image-averaged pixel F1@0.5 and
    pixel AUC over fakes that have a mask (the IMDL-BenCo convention, see docs/metrics.md)."""
    net.eval()
    y, s = [], []
    loc = LocalizationAccumulator(threshold=0.5)
    for sample in samples:
        prob, mask = predict_image(net, sample.image)
        y.append(sample.label)
        s.append(prob)
        if mask is not None and sample.label == 1 and sample.mask is not None and sample.mask.any():
            loc.add(mask, sample.mask)
    out: dict[str, Any] = {}
    if y:
        out.update({f"image_{k}": v for k, v in binary_summary(np.array(y), np.array(s), threshold).items()})
    if loc.records:
        summary = loc.summary()
        out.update(pixel_f1=summary.get("f1"), pixel_auc=summary.get("auc"), pixel_iou=summary.get("iou"),
                   pixel_n=summary.get("n"))
    return out

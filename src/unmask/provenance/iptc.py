"""The IPTC Digital Source Type vocabulary (cv.iptc.org/newscodes/digitalsourcetype), in plain words.

Generators, editors and C2PA manifests use it to say how an image came to be; unmask reports the code and
its meaning as a fact. Only 'trainedAlgorithmicMedia' means "made by a generative AI model";
'compositeWithTrainedAlgorithmicMedia' means AI-generated parts were combined with other material.
"""

from __future__ import annotations

from typing import Any

SOURCE_TYPES = {
    "trainedAlgorithmicMedia": "created by a generative AI model",
    "compositeWithTrainedAlgorithmicMedia": "a composite that includes AI-generated elements",
    "algorithmicMedia": "created by an algorithm (not a photograph, not a trained model)",
    "compositeSynthetic": "a composite of synthetic elements",
    "digitalCapture": "captured by a digital camera",
    "computationalCapture": "captured by a camera with computational processing",
    "compositeCapture": "a composite of several captures",
    "negativeFilm": "scanned from negative film",
    "positiveFilm": "scanned from positive film",
    "print": "scanned from a print",
    "screenCapture": "a screen capture",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "lightly edited by a person",
    "algorithmicallyEnhanced": "enhanced by an algorithm",
    "dataDrivenMedia": "created from data",
    "digitalArt": "created by a person with software",
    "digitalCreation": "created by a person with software",
    "virtualRecording": "a recording of a virtual scene",
}
AI_GENERATED = frozenset({"trainedAlgorithmicMedia"})
AI_COMPOSITE = frozenset({"compositeWithTrainedAlgorithmicMedia"})
CAPTURE = frozenset({"digitalCapture", "computationalCapture"})


def source_type_code(value: Any) -> str:
    """'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia' -> 'trainedAlgorithmicMedia'."""
    return str(value).strip().rstrip("/").rsplit("/", 1)[-1][:100]


def describe(code: str) -> str:
    return SOURCE_TYPES.get(code, "a value outside the IPTC vocabulary")

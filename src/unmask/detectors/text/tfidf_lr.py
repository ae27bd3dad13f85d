"""TF-IDF n-grams with logistic regression: the classical fake-news baseline every paper reports beside its
own (Wang ACL 2017 for LIAR; Shu et al. 2018 for FakeNewsNet), plus the claim's context when a post carries
it (speaker, party, earlier rated claims). Hashed word unigrams and bigrams, so a linear weight per feature
gives every word its push on the score (the highlighted words: the strongest pushes among words that are not
common, so "the" or "to" weigh in the score without being shown as the reason); the model is fitted with an entity-only model
beside it and used without it (ENDEF, Zhu et al. SIGIR 2022), so that names alone weigh less.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...text import context, hashing
from ..base import Detector
from ..evidence import Evidence
from ._claim import claim_of, float_arrays, highlights, read_note, sentence

COMMON_IDF = 1.0 + float(np.log(20.0))  # a word in more than 1 in 20 training texts: weighed, never highlighted


def word_push(ws: list[Any], idx: np.ndarray, val: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Each word's share of the text part of the logit: a feature's weight x value, split evenly over its
    occurrences and over the words each occurrence covers."""
    contrib = dict(zip(idx.tolist(), (val * weight[idx]).tolist(), strict=True))
    occ = hashing.occurrences(ws, len(weight))
    per_bucket: dict[int, int] = {}
    for b, _ in occ:
        per_bucket[b] = per_bucket.get(b, 0) + 1
    push = np.zeros(len(ws))
    for b, covered in occ:
        for i in covered:
            push[i] += contrib.get(b, 0.0) / per_bucket[b] / len(covered)
    return push


class TfidfLrDetector(Detector):
    name = "tfidf_lr"
    version = "1"
    modalities = ("text", "post")
    outputs = ("score", "tokens")
    extra = "text"
    requires = ("scipy", "safetensors")
    paper = "Wang, ACL 2017 (LIAR baselines); Zhu et al., SIGIR 2022 (ENDEF entity debiasing)"
    description = ("Hashed TF-IDF word unigrams and bigrams with logistic regression, plus claim context "
                   "(speaker, party, record) when present; highlights the words that weigh most.")

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            self._arrays = float_arrays(self.name)
        return self._arrays

    def predict(self, media: Any) -> dict[str, Any]:
        a = self.arrays()
        text, ws, fields = claim_of(media)
        idx, val = hashing.vector(ws, a["idf"])
        text_logit = float(val @ a["text_weight"][idx])
        ctx = context.features(fields)
        ctx_logit = float(ctx @ a["context_weight"])
        logit = text_logit + ctx_logit + float(a["bias"][0])
        push = word_push(ws, idx, val, a["text_weight"])
        common = np.array([a["idf"][hashing.bucket("u:" + w.form)] < COMMON_IDF for w in ws])
        return {"text": text, "words": ws, "fields": fields, "logit": logit, "text_logit": text_logit,
                "context_logit": ctx_logit, "push": np.where(common, 0.0, push)}

    def to_evidence(self, native: dict[str, Any], media: Any) -> Evidence:
        from .. import wording

        score = float(1.0 / (1.0 + np.exp(-native["logit"])))
        tokens = highlights(native["text"], native["words"], native["push"])
        fields = {k: native["fields"][k] for k in context.present(native["fields"])}
        judged = "post's text" if media.kind == "post" else "text"
        ev = Evidence(score=score, summary=sentence(score, tokens, fields, judged), tokens=tokens)
        ev.details.update(band=wording.band(score), logit=native["logit"], text_logit=native["text_logit"],
                          context_logit=native["context_logit"], context_fields=sorted(fields),
                          words=len(native["words"]), **read_note(native["text"]))
        return ev

"""Word grounding on synthetic claim edits (docs/benchmarks/text.md): which words of a claim were changed?

    OMP_NUM_THREADS=1 python benchmarks/text_grounding.py

LIAR train claims are edited to train, LIAR valid claims to test (unmask.text.edits: a name swapped for
another from the training claims, a number changed, a negation added or removed; a quarter of the claims kept
as they are). A word is changed when it overlaps a changed span. Token accuracy / precision / recall / F1 are
DGM4's (unmask.metrics.token_metrics: pooled over every word of every claim, pristine claims included).
Predictors: the words tfidf_lr highlights (what a user sees), every name and number (a trivial baseline), and a
per-word logistic model on word-sequence surprise (bigram counts of half the training claims) and word type,
fitted on edits of the other half, its threshold fixed at 0.5.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np

from unmask.metrics import token_metrics
from unmask.text import edits, entities, linear
from unmask.text.spans import Word, words
from unmask.train import text as T

DATA = Path(os.environ.get("UNMASK_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
OUT = Path("docs/benchmarks/text_grounding.json")
SEED = 0
_NEGATIONS = {"not", "no", "never", "n't", "does", "did", "is", "are", "was", "were", "has", "have"}


def edited(docs: list[T.Doc], names: list[str], rng: np.random.Generator) -> list[tuple[str, list[int]]]:
    """(text, 0/1 per word) for each claim: a quarter pristine, the rest edited by one kind that applies."""
    out = []
    for d in docs:
        text, spans = d.text, []
        if rng.random() >= 0.25:
            for kind in rng.permutation(edits.KINDS):
                got = edits.edit(d.text, str(kind), names, rng)
                if got is not None:
                    text, spans = got
                    break
        ws = words(text)
        out.append((text, [int(any(w.start < e and s < w.end for s, e in spans)) for w in ws]))
    return out


class Surprise:
    """Bigram and unigram counts of the training claims: how unexpected each word is beside its neighbours."""

    def __init__(self, texts: list[str]) -> None:
        self.uni, self.bi = Counter(), Counter()
        for t in texts:
            forms = [w.form for w in words(t)]
            self.uni.update(forms)
            self.bi.update(pairwise(forms))

    def features(self, text: str, ws: list[Word]) -> np.ndarray:
        forms = [w.form for w in ws]
        spans = entities.entities(text)
        rows = []
        for i, w in enumerate(ws):
            u = self.uni[w.form]
            left = self.bi[(forms[i - 1], w.form)] if i else 1
            right = self.bi[(w.form, forms[i + 1])] if i + 1 < len(ws) else 1
            kind = [k for s, e, k in spans if s < w.end and w.start < e]
            rows.append([math.log1p(u), -math.log((left + 0.1) / (u + 1)), -math.log((right + 0.1) / (u + 1)),
                         float(left == 0), float(right == 0), float("name" in kind), float("number" in kind),
                         float(w.form in _NEGATIONS), 1.0])
        return np.array(rows, np.float32).reshape(-1, 9)


def highlighted(text: str, ws: list[Word], detector) -> list[int]:
    from unmask.media import load

    ev = detector.analyze(load(text.encode()))
    return [int(any(t.start < w.end and w.start < t.end for t in ev.tokens)) for w in ws]


def main() -> None:
    from unmask.detectors.registry import Registry

    rng = np.random.default_rng(SEED)
    docs = T.corpus("liar", DATA / "liar")
    train = [d for d in docs if d.split == "train"]
    valid = [d for d in docs if d.split == "val"]
    names = entities.pool([d.text for d in train])["name"]
    # counts from one half of the training claims, the logistic model on edits of the other half: fitted on
    # counts that had seen its own claims, "never seen beside its neighbour" would mean "edited"
    surprise = Surprise([d.text for d in train[::2]])
    tr, te = edited(train[1::2], names, rng), edited(valid, names, rng)
    x = np.concatenate([surprise.features(t, words(t)) for t, _ in tr])
    # unbalanced: P(changed) itself, so 0.5 is the most-likely call for a rare class (changed words are ~7%)
    model = linear.fit(x, np.concatenate([np.array(y) for _, y in tr]), l2=1e-3, balanced=False)
    gt = [np.array(y) for _, y in te]
    preds = {"word surprise + type (logistic, 0.5)":
             [(model.proba(surprise.features(t, words(t))) >= 0.5).astype(int) for t, _ in te],
             "every name and number": [(surprise.features(t, words(t))[:, 5:7].max(1) > 0).astype(int)
                                       for t, _ in te]}
    tfidf = Registry.default(plugins=False).get("tfidf_lr")()
    preds["tfidf_lr highlights"] = [np.array(highlighted(t, words(t), tfidf)) for t, _ in te]
    rows = {k: token_metrics(gt, v) for k, v in preds.items()}
    result = {"claims": len(te), "edited": sum(int(any(y)) for _, y in te), "rows": rows}
    OUT.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()

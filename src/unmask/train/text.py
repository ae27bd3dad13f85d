"""Training of the text detectors (`modality: text` configs), run by `unmask train`: the dev corpora read
into one list of labelled documents, and the fitters of `tfidf_lr` and `text_encoder`.

Corpora (../shared/data, through the dataset adapters): LIAR statements (fake = pants-fire, false,
barely-true; context: speaker, party, state, job, venue, and a record rebuilt from training labels, never
LIAR's own counts, which include the statement's own label), FakeNewsNet BuzzFeed articles (grouped by
site), Weibo CED posts (grouped by near-duplicate text) and MediaEval 2016 tweets (grouped by event).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..text import context, domains, entities, hashing, linear
from ..text.encoder import ENCODERS, SentenceEncoder, encoder_for
from ..text.spans import words

LIAR_SIX = ("pants-fire", "false", "barely-true", "half-true", "mostly-true", "true")


@dataclass
class Doc:
    """One labelled text: y = 1 for a false claim or rumour; `fields` its context; `six` LIAR's label."""

    text: str
    y: int
    group: str
    dataset: str
    fields: dict[str, Any] = field(default_factory=dict)
    six: int | None = None
    split: str | None = None


def _near_duplicate_groups(texts: Sequence[str], threshold: float = 0.5) -> list[str]:
    """Groups of texts whose character 4-gram sets overlap (Jaccard >= threshold), joined transitively:
    reposts of one rumour must not sit on both sides of a split."""
    grams = [{t[i:i + 4] for i in range(max(len(t) - 3, 1))} for t in texts]
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(grams):
        for gram in sorted(g)[:40]:  # candidate pairs share one of the first 40 grams
            index[gram].append(i)
    for members in index.values():
        for j in members[1:200]:
            i = members[0]
            a, b = grams[i], grams[j]
            if root(i) != root(j) and len(a & b) >= threshold * len(a | b):
                parent[root(j)] = root(i)
    return [f"dup{root(i)}" for i in range(len(texts))]


def _liar(root: Path) -> list[Doc]:
    from ..datasets.adapters import convert

    docs = []
    for it in convert("liar", root).items:
        a = it.attrs
        fields = {k: a.get(k, "") for k in ("speaker", "party", "state", "job", "context")}
        docs.append(Doc(it.text or "", it.y, a.get("speaker") or "unknown", "liar", fields,
                        LIAR_SIX.index(it.label_raw) if it.label_raw in LIAR_SIX else None, it.split))
    return docs


def records(train: Sequence[Doc], docs: Sequence[Doc]) -> None:
    """Give each LIAR doc its speaker's record of rated claims from `train`'s labels, leaving its own claim
    out (the honest version of LIAR's credit history)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for d in train:
        if d.six is not None:
            counts[d.fields.get("speaker", "")][LIAR_SIX[d.six]] += 1
    ids = {id(d) for d in train}
    for d in docs:
        own = Counter({LIAR_SIX[d.six]: 1}) if id(d) in ids and d.six is not None else Counter()
        c = counts[d.fields.get("speaker", "")] - own
        d.fields["credit_history"] = [c[k] for k in context.RECORD]


def _post_docs(name: str, root: Path, options: dict[str, str], group: Callable[[Any], str]) -> list[Doc]:
    from ..datasets.adapters import convert

    items = convert(name, root, **options).items
    if name == "weibo_ced":
        items = [_with_text(it, root) for it in items]
    docs = [Doc(_titled(it), it.y, group(it), name, it.attrs.pop("post_fields", {})) for it in items]
    if name == "weibo_ced":
        for d, g in zip(docs, _near_duplicate_groups([d.text for d in docs]), strict=True):
            d.group = g
    return docs


def _titled(it: Any) -> str:
    """An article's title and body (the title is most of what a reader sees)."""
    title = it.attrs.get("title") or ""
    return f"{title}\n\n{it.text or ''}" if title and not (it.text or "").startswith(title) else it.text or ""


def _with_text(it: Any, root: Path) -> Any:
    """A Weibo item with its post's text and its account and time (context.author)."""
    post = json.loads((root / it.path).read_text(encoding="utf-8")) if it.path else {}
    it.text = it.text or post.get("text", "")
    it.attrs["post_fields"] = {k: post[k] for k in ("user", "time") if k in post}
    return it


def corpus(name: str, root: str | Path) -> list[Doc]:
    """The labelled documents of one dev corpus (liar, fakenewsnet, weibo_ced, mediaeval_vmu)."""
    root = Path(root)
    if name == "liar":
        return _liar(root)
    if name == "fakenewsnet":
        return _post_docs(name, root, {}, lambda it: it.attrs.get("source") or it.group or "unknown")
    if name == "weibo_ced":
        return _post_docs(name, root, {}, lambda it: "")  # grouped by near-duplicate text below
    if name == "mediaeval_vmu":
        return _post_docs(name, root, {"items": "posts"}, lambda it: it.group or "unknown")
    raise ValueError(f"unknown text corpus {name!r}: liar, fakenewsnet, weibo_ced or mediaeval_vmu")


# --- tfidf_lr -----------------------------------------------------------------------------------------

def tfidf_inputs(docs: Sequence[Doc], idf: np.ndarray, use_context: bool = True) -> Any:
    """The [TF-IDF | context] sparse matrix of `docs`."""
    from scipy import sparse

    x = hashing.matrix([words(d.text) for d in docs], idf)
    ctx = (np.stack([context.features(d.fields) for d in docs]) if use_context and docs
           else np.zeros((len(docs), context.DIM), np.float32))
    return sparse.hstack([x, sparse.csr_matrix(ctx)], format="csr")


def entity_logits(docs: Sequence[Doc], idf: np.ndarray, l2: float) -> np.ndarray:
    """In-sample logits of an entity-only model (the words of names and numbers alone): the offset the main
    model is fitted beside and used without (ENDEF)."""
    x = hashing.matrix([words(entities.masked(d.text)) for d in docs], idf)
    model = linear.fit(x, np.array([d.y for d in docs]), l2=l2)
    return model.logits(x)


def fit_tfidf(docs: Sequence[Doc], l2: float = 1e-4, debias: bool = True, use_context: bool = True,
              labels: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The arrays of a tfidf_lr model fitted on `docs` (binary y, or `labels` for a softmax benchmark)."""
    idf = hashing.fit_idf([words(d.text) for d in docs])
    x = tfidf_inputs(docs, idf, use_context)
    y = np.array([d.y for d in docs]) if labels is None else labels
    offset = entity_logits(docs, idf, l2) if debias and labels is None else None
    model = linear.fit(x, y, l2=l2, offset=offset)
    w = model.weight[:, 0] if model.weight.shape[1] == 1 else model.weight
    return {"idf": idf, "text_weight": w[:hashing.TEXT_DIM], "context_weight": w[hashing.TEXT_DIM:],
            "bias": model.bias}


def tfidf_scores(arrays: dict[str, np.ndarray], docs: Sequence[Doc], use_context: bool = True) -> np.ndarray:
    """Logits (n,) or class logits (n, k) of a fitted tfidf_lr model."""
    x = tfidf_inputs(docs, arrays["idf"], use_context)
    w = np.concatenate([arrays["text_weight"], arrays["context_weight"]], axis=0)
    return np.asarray(x @ w) + arrays["bias"]


# --- text_encoder --------------------------------------------------------------------------------------

def embeddings(docs: Sequence[Doc], encoder: str, cache: Path | None, sentence: SentenceEncoder,
               echo: Callable[[str], None] = print) -> np.ndarray:
    """(n, 384) embeddings of `docs` by `encoder`. With a `cache` folder, vectors are kept in shards keyed by
    a digest of each text, so any run that meets a text again (another corpus, benchmark or config) reuses it.
    """
    keys = [hashlib.sha256(d.text.encode()).hexdigest()[:20] for d in docs]
    known: dict[str, np.ndarray] = {}
    for shard in sorted(cache.glob(f"{encoder}-*.npz")) if cache else []:
        with np.load(shard) as z:
            known.update(zip(z["keys"].tolist(), z["emb"], strict=True))
    todo = {k: d.text for k, d in zip(keys, docs, strict=True) if k not in known}
    if todo:
        t0 = time.time()
        emb = sentence.embed(list(todo.values()), encoder)
        echo(f"embedded {len(todo)} texts with {encoder} in {time.time() - t0:.0f} s")
        known.update(zip(todo, emb, strict=True))
        if cache is not None:
            cache.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256("".join(todo).encode()).hexdigest()[:16]
            np.savez(cache / f"{encoder}-{digest}.npz", keys=np.array(list(todo)), emb=emb)
    return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)


def fit_head(emb: np.ndarray, y: np.ndarray, domains_k: int, l2: float, temperature: float,
             seed: int) -> dict[str, np.ndarray]:
    """One encoder's head: k domain centres and the mixture-of-experts logistic (k = 0: one linear head)."""
    centres = domains.fit_centres(emb, domains_k, seed) if domains_k else np.zeros((0, emb.shape[1]), np.float32)
    z = domains.expand(emb, domains.gate(emb, centres, temperature)) if domains_k else emb
    model = linear.fit(z, y, l2=l2)
    return {"centres": centres, "weight": model.weight[:, 0], "bias": model.bias,
            "temperature": np.array([temperature], np.float32)}


def routed(docs: Sequence[Doc]) -> dict[str, list[int]]:
    """Indices of `docs` by the encoder each one's script selects."""
    out: dict[str, list[int]] = {e: [] for e in ENCODERS}
    for i, d in enumerate(docs):
        out[encoder_for(d.text)].append(i)
    return out


# --- unmask train ---------------------------------------------------------------------------------------

def read_docs(specs: Sequence[dict[str, Any]], folder: Path) -> list[Doc]:
    """The documents of a config's data specs ({source: text, adapter: NAME, root: DIR}); LIAR docs get
    records from their own training labels."""
    docs: list[Doc] = []
    for spec in specs:
        root = Path(str(spec["root"]))
        docs += corpus(str(spec["adapter"]), root if root.is_absolute() else folder / root)
    liar = [d for d in docs if d.dataset == "liar"]
    records(liar, liar)
    return docs


def fit_encoder(docs: Sequence[Doc], kwargs: dict[str, Any], seed: int, cache: Path | None,
                echo: Callable[[str], None]) -> dict[str, np.ndarray]:
    """The text_encoder arrays: one head per encoder that has at least 50 texts of each class."""
    sentence, arrays = SentenceEncoder(), {}
    for enc, idx in routed(docs).items():
        chosen = [docs[i] for i in idx]
        y = np.array([d.y for d in chosen])
        if min(int(y.sum()), int(len(y) - y.sum())) < 50:
            echo(f"{enc}: {len(y)} texts, too few of one class; no head")
            continue
        head = fit_head(embeddings(chosen, enc, cache, sentence, echo), y, int(kwargs.get("domains", 6)),
                        float(kwargs.get("l2", 1e-4)), float(kwargs.get("temperature", 0.05)), seed)
        arrays.update({f"{enc}.{k}": v for k, v in head.items()})
        echo(f"{enc}: head fitted on {len(y)} texts ({int(y.sum())} false)")
    return arrays


def train(cfg: Any, out: Path, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit the config's text model, write model.safetensors and card.json into `out`."""
    from safetensors.numpy import save_file

    t0 = time.time()
    docs = read_docs(cfg.train, Path(cfg.folder))
    echo(f"{len(docs)} training texts ({sum(d.y for d in docs)} false) in {time.time() - t0:.0f} s")
    kw = cfg.arch_kwargs
    if cfg.arch == "tfidf_lr":
        arrays = fit_tfidf(docs, float(kw.get("l2", 1e-4)), bool(kw.get("debias", True)),
                           bool(kw.get("context", True)))
        arrays = {k: v.astype(np.float16) if v.size > 4096 else v for k, v in arrays.items()}
    elif cfg.arch == "text_encoder":
        cache = Path(kw["cache"]) if kw.get("cache") else None
        arrays = fit_encoder(docs, kw, cfg.seed, cache, echo)
    else:
        raise ValueError(f"unknown text architecture {cfg.arch!r}: tfidf_lr or text_encoder")
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(out / "model.safetensors"))
    (out / "card.json").write_text(json.dumps(card(cfg, arrays, docs), indent=2) + "\n")
    return {"texts": len(docs), "seconds": round(time.time() - t0, 1)}


def card(cfg: Any, arrays: dict[str, np.ndarray], docs: Sequence[Doc]) -> dict[str, Any]:
    from ..learned.store import FORMAT

    config = {k: v for k, v in cfg.to_dict().items() if k not in ("source", "folder")}
    source = Path(cfg.source or "CONFIG")
    shown = os.path.relpath(source) if source.is_absolute() or source.exists() else str(source)
    per_set = Counter(d.dataset for d in docs)
    return {"format": FORMAT, "name": cfg.name, "arch": cfg.arch, "arch_kwargs": cfg.arch_kwargs,
            "task": "text-classification", "params": int(sum(v.size for v in arrays.values())),
            "trained": {"config": config, "config_file": Path(cfg.source or "").name, "digest": cfg.digest(),
                        "date": time.strftime("%Y-%m-%d"), "command": f"unmask train {shown} --out DIR",
                        "texts": dict(per_set)},
            "heldout": {}}

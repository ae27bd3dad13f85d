"""Topic domains for a multi-domain detector in the spirit of MDFEND (Nan et al. CIKM 2021) and M3FEND (Zhu
et al. TKDE 2022): domains are found by spherical k-means over sentence embeddings (no domain labels are
needed, so any corpus can train it), a text's soft membership gates domain experts, and the model is a
shared linear head plus one linear expert per domain: [x, g_1 x, ..., g_k x, g]."""

from __future__ import annotations

import numpy as np


def fit_centres(x: np.ndarray, k: int, seed: int = 0, iters: int = 30) -> np.ndarray:
    """k unit centres of unit vectors `x` (spherical k-means, k-means++ seeding)."""
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.clip(1.0 - np.max(x @ np.array(centres).T, axis=1), 0.0, None)
        centres.append(x[rng.choice(len(x), p=d / d.sum()) if d.sum() > 0 else rng.integers(len(x))])
    c = np.array(centres)
    for _ in range(iters):
        assign = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                c[j] = members.sum(axis=0) / max(np.linalg.norm(members.sum(axis=0)), 1e-12)
    return c.astype(np.float32)


def gate(x: np.ndarray, centres: np.ndarray, temperature: float = 0.05) -> np.ndarray:
    """Soft domain membership (n, k): a softmax of cosine similarity to each centre over `temperature`."""
    z = (x @ centres.T) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def expand(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """The mixture-of-experts input: the shared features, each domain's gated copy, and the gates."""
    return np.hstack([x] + [g[:, j:j + 1] * x for j in range(g.shape[1])] + [g]).astype(np.float32)


def head_logits(head: dict[str, np.ndarray], emb: np.ndarray) -> np.ndarray:
    """Logits of a fitted head (centres, weight, bias, temperature; no centres: one linear head) on `emb`."""
    if len(head["centres"]):
        emb = expand(emb, gate(emb, head["centres"], float(head["temperature"][0])))
    return emb @ head["weight"] + head["bias"][0]

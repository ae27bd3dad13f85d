"""Hashed TF-IDF of word unigrams and bigrams (Weinberger et al. 2009, the hashing trick): no vocabulary to
ship, only an IDF vector, and every feature knows the words it came from, so a linear model's weights turn
into per-word contributions (unmask.detectors.text.tfidf_lr.word_push)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

from .spans import Word

TEXT_BITS = 18
TEXT_DIM = 1 << TEXT_BITS


def bucket(name: str, dim: int = TEXT_DIM) -> int:
    """A stable bucket for a feature name (CRC-32: the same on every machine and Python run)."""
    return zlib.crc32(name.encode("utf-8")) % dim


def occurrences(ws: Sequence[Word], dim: int = TEXT_DIM) -> list[tuple[int, tuple[int, ...]]]:
    """(bucket, indices of the words it covers) for every unigram and bigram of the text."""
    out = [(bucket("u:" + w.form, dim), (i,)) for i, w in enumerate(ws)]
    out += [(bucket(f"b:{a.form} {b.form}", dim), (i, i + 1)) for i, (a, b) in enumerate(pairwise(ws))]
    return out


def fit_idf(docs: Sequence[Sequence[Word]], dim: int = TEXT_DIM) -> np.ndarray:
    """Smoothed inverse document frequency, log((1 + n) / (1 + df)) + 1, per bucket."""
    df = np.zeros(dim, np.float64)
    for ws in docs:
        df[np.unique([b for b, _ in occurrences(ws, dim)]).astype(np.int64)] += 1
    return (np.log((1.0 + len(docs)) / (1.0 + df)) + 1.0).astype(np.float32)


def vector(ws: Sequence[Word], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The text's sparse TF-IDF vector (buckets, values): sublinear term frequency 1 + log(tf), times the
    IDF, scaled to unit length (a text of no words is the zero vector)."""
    occ = occurrences(ws, len(idf))
    if not occ:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx, counts = np.unique(np.fromiter((b for b, _ in occ), np.int64, len(occ)), return_counts=True)
    val = (1.0 + np.log(counts)) * idf[idx]
    return idx, (val / np.linalg.norm(val)).astype(np.float32)


def matrix(docs: Sequence[Sequence[Word]], idf: np.ndarray):  # -> scipy.sparse.csr_matrix
    """The CSR matrix of many texts' vectors (rows in order)."""
    from scipy import sparse

    rows = [vector(ws, idf) for ws in docs]
    indptr = np.cumsum([0] + [len(i) for i, _ in rows])
    idx = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int64)
    val = np.concatenate([v for _, v in rows]) if rows else np.zeros(0, np.float32)
    return sparse.csr_matrix((val, idx, indptr), shape=(len(docs), len(idf)))

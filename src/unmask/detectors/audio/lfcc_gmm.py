"""The ASVspoof LFCC-GMM baseline: linear-frequency cepstra scored by a bona fide and a spoof Gaussian mixture.

The classical countermeasure every anti-spoofing paper reports beside its own (Sahidullah et al. 2015;
Todisco et al., ASVspoof 2019). Each 2-s window's mean log-likelihood ratio, calibrated on out-of-fold
scores, is its probability of synthetic speech; the windows give the segments. Trained on the project's
speech dev data (docs/models/lfcc_gmm.md says how well it generalises, and where it does not).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._track import SpeechDetector


class LfccGmmDetector(SpeechDetector):
    name = "lfcc_gmm"
    version = "3"
    extra = "audio"
    paper = "Sahidullah et al., Interspeech 2015; Todisco et al., Interspeech 2019 (ASVspoof 2019 baseline)"
    description = ("Linear-frequency cepstral coefficients (without the level term) scored by bona fide and spoof "
                   "Gaussian mixtures, window by window (2 s every 0.5 s); the classical anti-spoofing baseline.")
    what = "the spectral signature of synthetic speech"

    def frame_model(self, arrays: dict[str, np.ndarray]) -> Any:
        from ...audio.gmm import LfccGmm

        return LfccGmm.from_arrays(arrays)

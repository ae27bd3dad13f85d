"""What the windowed speech detectors share: a base class (`SpeechDetector`) that loads the detector's shipped
array model, scores a media's audio window by window and turns that score track into Evidence (score,
segments, one sentence)."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from ...errors import NotApplicable
from ...learned.store import load_arrays
from .. import wording
from ..base import Detector
from ..evidence import Evidence
from ..segments import THRESHOLD, segments


class SpeechDetector(Detector):
    """A detector that scores 2-s windows of speech with a frame model shipped as weights/<name>.safetensors.
    Subclasses name the frame model (`frame_model`) and what a high score means (`what`, for the sentence)."""

    modalities = ("audio", "video")
    outputs = ("score", "segments")
    requires: ClassVar[tuple[str, ...]] = ("soundfile", "scipy", "safetensors", "onnxruntime", "silero_vad")
    what: ClassVar[str]

    def __init__(self) -> None:
        self._model: Any = None

    @abstractmethod
    def frame_model(self, arrays: dict[str, np.ndarray]) -> Any:
        """The frame model (unmask.audio.windows.FrameModel) stored in `arrays`."""

    def model(self) -> Any:
        if self._model is None:
            self._model = self.frame_model(load_arrays(self.name))
        return self._model

    def predict(self, media: Any) -> Any:
        return track(media, self.model())

    def to_evidence(self, native: Any, media: Any) -> Evidence:
        return evidence(native, self.what)


def track(media: Any, model: Any) -> Any:
    """The ScoreTrack of `model` over the media's windows that hold speech (unmask.audio.vad.SileroSpeech);
    NotApplicable when there is too little sound, or sound but no speech (a tone, music, noise: no opinion on a
    voice that is not there)."""
    from ...audio.signal import blocks
    from ...audio.vad import SileroSpeech
    from ...audio.windows import MIN_ACTIVE, MIN_CLIP_S, score_track

    result = score_track(blocks(media), model, speech=SileroSpeech())
    if result.duration_s < MIN_CLIP_S:
        raise NotApplicable(f"the audio is {result.duration_s:.2f} s long; {MIN_CLIP_S} s or more is needed")
    if not result.scored.any() and not (result.active >= MIN_ACTIVE).any():
        raise NotApplicable("no window holds enough sound to judge (silent or near-silent audio)")
    if not result.scored.any():
        raise NotApplicable("no speech was found (the sound is a tone, music or noise, not a voice)")
    return result


def evidence(result: Any, what: str) -> Evidence:
    """Evidence from a ScoreTrack: windows are placed at their centres, segments are runs at or above 0.5."""
    p = result.probabilities()
    centres = (result.starts + result.window_s / 2).tolist()
    found = segments(centres, p.tolist(), THRESHOLD, result.duration_s, "synthetic speech")
    if len(p) == 1:  # one window (a short clip scored whole): a flagged one spans it, not a point
        found = [s.model_copy(update={"start_s": float(result.starts[0]),
                                      "end_s": float(result.starts[0] + result.window_s)}) for s in found]
    score = result.clip_probability(THRESHOLD)
    skipped = int((~result.scored).sum())
    where = ", ".join(f"{_clock(s.start_s)}–{_clock(s.end_s)}" for s in found[:3]) + (" and more" if len(found) > 3
                                                                                    else "")
    quiet = f" {skipped} of {len(p)} windows held no speech and were skipped." if skipped else ""
    summary = wording.say(
        score,
        clear=f"The voice shows {what} (probability {score:.2f})" + (f" between {where}." if found else ".") + quiet,
        unclear=f"Weak or unclear signs of {what} (probability {score:.2f})" + (f", strongest {where}." if found
                                                                              else ".") + quiet,
        none=f"No clear sign of {what} in {result.duration_s:.1f} s of audio (probability {score:.2f})." + quiet,
    )
    return Evidence(score=score, summary=summary, segments=found, calibrated=True,
                    attribution={"ai-generated": score},
                    details={"window_s": result.window_s, "hop_s": _hop(result), "windows": len(p),
                             "skipped_quiet": skipped, "band": wording.band(score),
                             "window_starts": result.starts.round(3).tolist(),
                             "window_scores": [None if np.isnan(v) else round(float(v), 4) for v in p]})


def _hop(result: Any) -> float | None:
    return float(np.median(np.diff(result.starts))) if len(result.starts) > 1 else None


def _clock(t: float) -> str:
    return f"{int(t // 60)}:{t % 60:04.1f}"

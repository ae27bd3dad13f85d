"""Face forgery per face, with where each face was blended: the shipped `face_xray` network.

Every face unmask.faces finds (in a photo, or in the frames sampled from a video and linked into tracks) is
aligned, scored by a classifier head and mapped by a blending-boundary head (Face X-ray, Li et al. CVPR
2020), both on an ImageNet MobileNetV2 fine-tuned on DFDC face crops plus self-blended fakes (Shiohara &
Yamasaki, CVPR 2022) by `unmask train configs/train/face_xray.yaml`. A photo's score is its most suspicious
face; a video's is its most suspicious track, whose score is the mean of its frame probabilities
(DeepfakeBench's convention). On photos it runs in the thorough profile only (profiles_by_kind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ...errors import NotApplicable
from .. import wording
from ..evidence import BoxModel, Evidence, TrackModel
from ..network import LearnedDetector
from ._sampling import FaceSampling
from ._timeline import track_result

BATCH = 32


@dataclass
class FaceScore:
    """Native output for one face: P(forged), where it was, and its quality flags."""

    probability: float
    box: tuple[float, float, float, float]
    flags: tuple[str, ...]


@dataclass
class PhotoOutput:
    faces: list[FaceScore]
    heatmap: np.ndarray


@dataclass
class VideoOutput:
    tracks: list[TrackModel]
    sampled: int
    duration_s: float


class FaceXRayDetector(FaceSampling, LearnedDetector):
    name = "face_xray"
    version = "2"
    model_name = "face_xray"
    modalities = ("image", "video")
    outputs = ("score", "heatmap", "boxes", "segments", "tracks")
    extra = "faces"
    requires = ("torch", "safetensors", "dlib", "cv2")
    profiles = ("default", "thorough")
    # trained on DFDC video faces, it calls many real photo faces from elsewhere forged (docs/models/face_xray.md):
    # on photos it runs in the thorough profile only
    profiles_by_kind: ClassVar[dict[str, tuple[str, ...]]] = {"image": ("thorough",)}
    paper = ("Li et al. CVPR 2020 (Face X-ray); Shiohara & Yamasaki CVPR 2022 (Self-Blended Images); "
             "Sandler et al. CVPR 2018 (MobileNetV2)")
    description = ("Learned face-forgery classifier with a blending-boundary map, per face and per video face "
                   "track, on an ImageNet MobileNetV2 fine-tuned on DFDC crops and self-blended faces; grouped "
                   "5-fold AUC about 0.84 on DFDC faces, but it calls many real faces from elsewhere forged "
                   "(docs/benchmarks/faces.md).")

    def __init__(self, frames: int = 32, every: int | None = None) -> None:
        LearnedDetector.__init__(self)
        FaceSampling.__init__(self, frames, every)

    def square(self, face: Any) -> tuple[int, int, int]:
        """Where the network's input lies in a face's aligned crop (unmask.faces.align.box_square)."""
        from ...faces.align import box_square

        return box_square(face.aligned, face.box, self.net().box_scale)

    def score_faces(self, found: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(P(forged) per face, X-ray maps (N, S, S) on the network's input squares) for FaceResults."""
        from ...faces.align import cut_square

        side = self.net().input_size
        return self.score_crops([cut_square(f.crop, self.square(f), side) for f in found])

    def score_crops(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(P(forged), X-ray maps) for network inputs (input_size x input_size RGB), in batches."""
        import torch

        net = self.net()
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
        probs, maps = [], []
        with torch.inference_mode():
            for i in range(0, len(x), BATCH):
                out = net(x[i:i + BATCH])
                probs.append(torch.sigmoid(out["logit"]).numpy())
                maps.append(torch.sigmoid(out["mask_logits"][:, 0]).numpy())
        return np.concatenate(probs).astype(np.float64), np.concatenate(maps).astype(np.float32)

    def predict(self, media: Any) -> PhotoOutput | VideoOutput:
        return self._video(media) if media.kind == "video" else self._photo(media)

    def _photo(self, media: Any) -> PhotoOutput:
        from ...faces import faces
        from ...faces.align import paste_square

        found = faces(media, self.finder())
        if not found:
            raise NotApplicable("no face was found in the image")
        probs, maps = self.score_faces(found)
        heat = np.zeros(media.rgb.shape[:2], np.float32)
        scored = []
        for f, p, m in zip(found, probs, maps, strict=True):
            heat = np.maximum(heat, f.map_to_image(paste_square(m, self.square(f), f.crop.shape[0]), heat.shape))
            scored.append(FaceScore(float(p), f.box, f.flags))
        return PhotoOutput(scored, heat)

    def _video(self, media: Any) -> VideoOutput:
        found = self.tracks(media)
        points = [(tr, t, r) for tr in found.tracks for t, r in tr.points]
        if not points:
            raise NotApplicable(f"no face was found in the {len(found.times)} sampled frames")
        probs = iter(self.score_faces([r for _, _, r in points])[0])
        tracks = [track_result(tr, [next(probs) for _ in tr.points], media.duration_s) for tr in found.tracks]
        return VideoOutput(tracks, len(found.times), media.duration_s)

    def to_evidence(self, native: PhotoOutput | VideoOutput, media: Any) -> Evidence:
        details = {**self.model_details(), "heldout_auc": self.card.get("heldout", {}).get("image_auc")}
        if isinstance(native, VideoOutput):
            return _video_evidence(native, details)
        best = max(native.faces, key=lambda f: f.probability)
        n = len(native.faces)

        def face(verdict: str) -> str:
            return (f"{'The face' if n == 1 else f'Of {n} faces, the most suspicious'} {verdict} (probability "
                    f"{best.probability:.2f}); the map shows where the model looked for a blending seam (it marks "
                    "face outlines on real faces too).")

        summary = _say(best.probability, face)
        boxes = [_box(f.box, score=f.probability, label=f"face {i}") for i, f in enumerate(native.faces)]
        faces = [{"index": i, "probability": f.probability, "flags": list(f.flags)} for i, f in enumerate(native.faces)]
        return Evidence(score=best.probability, summary=summary, heatmap=native.heatmap, boxes=boxes,
                        details={**details, "faces": faces, "band": wording.band(best.probability)})


# What the summary says of a face's (or track's mean) probability, per score band (unmask.detectors.wording).
_VERDICTS = {"clear": "looks forged", "unclear": "shows weak or unclear signs of forgery",
             "none": "shows no clear sign of forgery"}


def _say(score: float, sentence: Callable[[str], str]) -> str:
    """The sentence for `score`'s band, with the band's verdict on the face (or track) put in."""
    return wording.say(score, **{band: sentence(words) for band, words in _VERDICTS.items()})


def _box(corners: tuple[float, float, float, float], **fields: Any) -> BoxModel:
    """A report box from a face's (x0, y0, x1, y1) corners."""
    return BoxModel(**dict(zip(("x0", "y0", "x1", "y1"), corners, strict=True)), **fields)


def _video_evidence(native: VideoOutput, details: dict[str, Any]) -> Evidence:
    worst = max(native.tracks, key=lambda t: t.score)
    flagged = sum(bool(t.segments) for t in native.tracks)

    def track(verdict: str) -> str:
        return (f"{len(native.tracks)} face track(s) in {native.sampled} sampled frames; the most suspicious "
                f"(track {worst.id}) {verdict} on average (mean probability {worst.score:.2f}); {flagged} track(s) "
                "have stretches scored 0.5 or more.")

    summary = _say(worst.score, track)
    boxes = [_box(b, score=s, label=f"track {t.id}", time_s=time)
             for t in native.tracks for b, s, time in zip(t.boxes, t.frame_scores, t.times, strict=True)]
    return Evidence(score=worst.score, summary=summary, segments=worst.segments, tracks=native.tracks, boxes=boxes,
                    details={**details, "sampled_frames": native.sampled, "most_suspicious_track": worst.id,
                             "band": wording.band(worst.score)})


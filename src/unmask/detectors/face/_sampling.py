"""What every face detector shares: the video sampling options and one face finder per detector instance."""

from __future__ import annotations

from typing import Any


class FaceSampling:
    """`frames` sampled uniformly from a video (DeepfakeBench's default, 32), or every `every`-th frame; the
    finder is made on first use and kept, so its models load once per detector instance. Detectors with the
    same settings share the faces found through the media cache (unmask.faces)."""

    def __init__(self, frames: int = 32, every: int | None = None) -> None:
        if frames < 1 or (every is not None and every < 1):
            raise ValueError("frames and every must be >= 1")
        self.frames, self.every = int(frames), every
        self._finder: Any = None

    def finder(self) -> Any:
        if self._finder is None:
            from ...faces import default_finder

            self._finder = default_finder()
        return self._finder

    def tracks(self, media: Any) -> Any:
        """The video's faces and tracks (unmask.faces.video.VideoFaces), computed once per media."""
        from ...faces.video import track_faces

        return track_faces(media, self.frames, self.every, self.finder())

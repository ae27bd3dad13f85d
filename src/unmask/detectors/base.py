"""The detector contract: a class that declares what it accepts and outputs, and turns media into Evidence.

Following PhotoHolmes, a method keeps its native output (`predict`) separate from the uniform result
(`to_evidence`), so a faithful port and uniform scoring do not fight each other.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ..errors import MissingDependency
from ..media import Media
from .evidence import Evidence

PROFILES = ("fast", "default", "thorough")


class Detector(ABC):
    """Subclass, set the class attributes, implement `predict` and `to_evidence`.

    Heavy imports (torch, cv2, scipy) belong inside methods so that listing detectors stays cheap.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "1"
    modalities: ClassVar[tuple[str, ...]]
    outputs: ClassVar[tuple[str, ...]] = ("score",)
    extra: ClassVar[str | None] = None
    requires: ClassVar[tuple[str, ...]] = ()
    profiles: ClassVar[tuple[str, ...]] = PROFILES
    # narrower profiles for one kind of media, e.g. {"image": ("thorough",)}: a video detector whose photo
    # scores are less trustworthy runs on photos only when asked for thoroughness
    profiles_by_kind: ClassVar[dict[str, tuple[str, ...]]] = {}
    paper: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @classmethod
    def runs_in(cls, profile: str, kind: str | None = None) -> bool:
        """Whether the profile includes this detector (for media of `kind`, when given)."""
        return profile in cls.profiles_by_kind.get(kind, cls.profiles) if kind else profile in cls.profiles

    @classmethod
    def missing(cls) -> list[str]:
        """Importable module names this detector needs but the environment lacks."""
        return [m for m in cls.requires if importlib.util.find_spec(m) is None]

    @classmethod
    def installed(cls) -> bool:
        return not cls.missing()

    @classmethod
    def ensure_installed(cls) -> None:
        missing = cls.missing()
        if missing:
            raise MissingDependency(", ".join(missing), cls.extra or "all", f"detector '{cls.name}'")

    @abstractmethod
    def predict(self, media: Media) -> Any:
        """The method's native output (maps, statistics), as its paper defines it."""

    @abstractmethod
    def to_evidence(self, native: Any, media: Media) -> Evidence:
        """Map the native output to the uniform Evidence: score, maps, one-sentence summary."""

    def analyze(self, media: Media) -> Evidence:
        return self.to_evidence(self.predict(media), media)


def evidence_key(cls: type[Detector]) -> str:
    """The media-cache key of a default-settings detector's evidence (name and version): the Analyzer and
    the map channels of learned detectors (unmask.detectors.maps) share a detector's result through it."""
    return f"evidence:{cls.name}:{cls.version}"

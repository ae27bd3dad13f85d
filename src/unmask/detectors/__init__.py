"""Detectors: the contract (`Detector`, `Evidence`) and the registry."""

from .base import PROFILES, Detector
from .evidence import Box, Evidence, FaceTrack, Fact, Segment, Token
from .registry import Registry

__all__ = ["PROFILES", "Box", "Detector", "Evidence", "FaceTrack", "Fact", "Registry", "Segment", "Token"]

"""Detectors: the contract (`Detector`, `Evidence`) and the registry."""

from .base import PROFILES, Detector
from .evidence import BoxModel, Evidence, ProvenanceFact, SegmentModel, TokenModel, TrackModel
from .registry import Registry

__all__ = ["PROFILES", "BoxModel", "Detector", "Evidence", "ProvenanceFact", "Registry", "SegmentModel",
           "TokenModel", "TrackModel"]

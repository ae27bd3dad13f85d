"""Run the applicable detectors on one media and assemble the report. One `Analyzer` per process or thread."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .detectors import Detector, Evidence, Registry
from .errors import NotApplicable, UnmaskError
from .fusion import fuse
from .limits import DEFAULT_LIMITS, Limits
from .media import ImageMedia, Media, PostMedia, load
from .report.model import (
    ArtifactRef,
    BoxModel,
    ErrorEntry,
    EvidenceEntry,
    MediaInfo,
    ProvenanceFact,
    Report,
    SegmentModel,
    TokenModel,
)


class Analyzer:
    """Holds detector instances for a profile (or an explicit list) and analyses media with them."""

    def __init__(self, profile: str = "default", detectors: Sequence[str] | None = None,
                 registry: Registry | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
        self.registry = registry or Registry.default()
        self.profile = profile
        self.limits = limits
        self.explicit = detectors is not None
        classes = [self.registry.get(n) for n in detectors] if detectors is not None else list(self.registry)
        if detectors is None:
            classes = [c for c in classes if profile in c.profiles]
        self._classes = classes
        self._instances: dict[str, Detector] = {}

    def _instance(self, cls: type[Detector]) -> Detector:
        if cls.name not in self._instances:
            cls.ensure_installed()
            self._instances[cls.name] = cls()
        return self._instances[cls.name]

    def analyze(self, source: Media | str | os.PathLike | bytes) -> Report:
        """Analyse one input; load failures become a report with a fatal error instead of an exception."""
        t0 = time.perf_counter()
        if isinstance(source, Media):
            media = source
        else:
            try:
                media = load(source, limits=self.limits)
            except UnmaskError as exc:
                return failed_report(source, exc, self.profile)
        report = Report(unmask_version=__version__, profile=self.profile, media=MediaInfo(**media.info()))
        report.errors += [ErrorEntry(code="media_warning", message=w, fatal=False) for w in media.warnings]
        if isinstance(media, ImageMedia):
            report._preview = media.rgb
        for part, sub in _parts(media):
            self._run_all(sub, part, report)
        report.verdict, report.reasons = fuse(report.evidence)
        report.runtime_s = time.perf_counter() - t0
        return report

    def _run_all(self, media: Media, part: str | None, report: Report) -> None:
        for cls in self._classes:
            if media.kind not in cls.modalities:
                if self.explicit and part is None:
                    report.errors.append(ErrorEntry(code="not_applicable", fatal=False, detector=cls.name,
                                                    message=f"{cls.name} does not analyse {media.kind} media"))
                continue
            t = time.perf_counter()
            try:
                evidence = self._instance(cls).analyze(media)
            except NotApplicable as exc:
                evidence = Evidence(score=None, summary=f"Not applicable: {exc}")
            except UnmaskError as exc:
                report.errors.append(ErrorEntry(code=exc.code, message=str(exc), fatal=False, detector=cls.name))
                continue
            except Exception as exc:  # a detector bug must not lose the rest of the report
                report.errors.append(ErrorEntry(code="detector_failed", fatal=False, detector=cls.name,
                                                message=f"{cls.name} failed: {type(exc).__name__}: {exc}"))
                continue
            _add_evidence(report, cls, evidence, part, time.perf_counter() - t)


def _parts(media: Media) -> list[tuple[str | None, Media]]:
    if isinstance(media, PostMedia):
        return [(None, media)] + [(f"images[{i}]", im) for i, im in enumerate(media.images)]
    return [(None, media)]


def _add_evidence(report: Report, cls: type[Detector], ev: Evidence, part: str | None, runtime: float) -> None:
    prefix = f"{part}." if part else ""
    entry = EvidenceEntry(
        detector=cls.name, version=cls.version, part=part, score=ev.score, calibrated=ev.calibrated,
        summary=ev.summary, attribution=ev.attribution, details=ev.details, runtime_s=runtime,
        segments=[SegmentModel(**vars(s)) for s in ev.segments],
        tokens=[TokenModel(**vars(t)) for t in ev.tokens],
        boxes=[BoxModel(**vars(b)) for b in ev.boxes],
    )
    for kind, arr in (("heatmap", ev.heatmap), ("mask", ev.mask)):
        if arr is None:
            continue
        name = f"{prefix}{cls.name}.{kind}"
        setattr(entry, kind, ArtifactRef(name=name, kind=kind, width=arr.shape[1], height=arr.shape[0]))
        report._maps[name] = arr
    report.evidence.append(entry)
    report.provenance += [ProvenanceFact(**vars(f), detector=cls.name) for f in ev.facts]


def failed_report(source: object, exc: UnmaskError, profile: str = "default") -> Report:
    """The report of an input that could not be analysed: media identity where known, a fatal error."""
    path = str(source) if isinstance(source, str | os.PathLike) else None
    info = MediaInfo(path=path, format=None)
    if isinstance(source, bytes):
        import hashlib

        info.sha256 = hashlib.sha256(source).hexdigest()
    elif path and Path(path).is_file():
        info.size_bytes = Path(path).stat().st_size
    return Report(unmask_version=__version__, profile=profile, media=info,
                  errors=[ErrorEntry(code=exc.code, message=str(exc), fatal=True)])


def analyze(source: Media | str | os.PathLike | bytes, profile: str = "default",
            detectors: Sequence[str] | None = None) -> Report:
    """Analyse one input with the profile's detectors (or the named ones) and return its report."""
    return Analyzer(profile=profile, detectors=detectors).analyze(source)

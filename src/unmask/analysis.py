"""Run the applicable detectors on one media and assemble the report. One `Analyzer` per process or thread."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from ._version import __version__
from .calibration import calibrate_evidence, resolve
from .detectors import Detector, Evidence, Registry
from .detectors.base import evidence_key
from .detectors.evidence import ProvenanceFact, plain
from .errors import NotApplicable, UnmaskError
from .limits import DEFAULT_LIMITS, Limits
from .media import ImageMedia, Media, PostMedia, TextMedia, load
from .report.model import ArtifactRef, ErrorEntry, EvidenceEntry, MediaInfo, Report
from .report.spectrogram import PREVIEW_KEY, audio_picture, speech_entries
from .report.words import describe
from .text.spans import MAX_CHARS
from .verdict import VerdictModel, fuse
from .verdict import resolve as resolve_verdict_models

MAX_DETAIL_ELEMENTS = 65_536
_MAX_DEPTH = 32


class Analyzer:
    """Holds detector instances for a profile (or an explicit list) and analyses media with them."""

    def __init__(self, profile: str = "default", detectors: Sequence[str] | None = None,
                 registry: Registry | None = None, limits: Limits = DEFAULT_LIMITS,
                 skip_uninstalled: bool = False,
                 options: Mapping[str, Mapping[str, Any]] | None = None,
                 calibrations: Mapping[str, Any] | None = None, verdict_model: Any = None,
                 spectrograms: bool = True) -> None:
        """`detectors` names an explicit list (else the profile's); `skip_uninstalled` drops profile
        detectors whose optional dependencies are missing instead of reporting that on every file;
        `options` maps a detector name to keyword arguments for its constructor (e.g. C2PA trust anchors);
        `calibrations` maps a detector name to a calibration file or `Calibration` (None: none), else the
        packaged one is used if any (see unmask.calibration); `verdict_model` chooses the verdict model: None =
        the profile's packaged one per modality if shipped, a path or `VerdictModel` = that model, "none" or
        False = the fallback rule (see unmask.verdict); `spectrograms` draws the sound of audio files (and of
        videos with speech evidence) as a preview for the HTML report (False when nothing renders one)."""
        self.registry = registry or Registry.default()
        self.options = {name: dict(kw) for name, kw in (options or {}).items()}
        for name in self.options:
            self.registry.get(name)  # an unknown name fails here, with a suggestion
        self.profile = profile
        self.limits = limits
        self.spectrograms = spectrograms
        self.explicit = detectors is not None
        if detectors is not None:
            classes = [self.registry.get(n) for n in detectors]
        else:
            classes = [c for c in self.registry if c.runs_in(profile)]
        self.skipped = [c.name for c in classes if skip_uninstalled and not self.explicit and not c.installed()]
        self._classes = [c for c in dict.fromkeys(classes) if c.name not in self.skipped]
        self._instances: dict[str, Detector] = {}
        self.calibrations, self._calibration_notes = resolve([(c.name, c.version) for c in self._classes],
                                                             calibrations)
        self.verdict_models, self._verdict_notes = resolve_verdict_models(
            [(c.name, c.version, c.modalities) for c in self._classes], profile, verdict_model)

    @property
    def detector_names(self) -> list[str]:
        """The detectors this analyzer runs on media they accept, in run order."""
        return [c.name for c in self._classes]

    def _instance(self, cls: type[Detector]) -> Detector:
        if cls.name not in self._instances:
            cls.ensure_installed()
            self._instances[cls.name] = cls(**self.options.get(cls.name, {}))
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
                return failed_report(source, exc, self.profile, self.limits)
        report = Report(unmask_version=__version__, profile=self.profile, media=MediaInfo(**media.info()))
        report.errors += [ErrorEntry(code="media_warning", message=w, fatal=False) for w in media.warnings]
        if isinstance(media, TextMedia | PostMedia):
            report.keep_text(media.text[:MAX_CHARS])
        for part, sub in _parts(media):
            if isinstance(sub, ImageMedia):
                report.previews[part] = sub.rgb
            self._run_all(sub, part, report)
        if self.spectrograms and (media.kind == "audio" or (media.kind == "video" and speech_entries(report))):
            picture = audio_picture(media)  # None when the sound does not decode: no picture, no error
            if picture is not None:
                report.previews[PREVIEW_KEY] = picture
        report.errors += [ErrorEntry(code="calibration_ignored", message=msg, fatal=False, detector=name)
                          for name, msg in self._calibration_notes.items()
                          if any(e.detector == name for e in report.evidence)]
        report.verdict, report.reasons = fuse(report.evidence, report.provenance, self._model(media, report))
        if media.kind == "text":
            report.verdict.headline, report.verdict.explanation = describe(report.verdict.label, "text")
        report.runtime_s = time.perf_counter() - t0
        return report

    def _model(self, media: Media, report: Report) -> VerdictModel | None:
        """The verdict model for this media (a post's pictures use the image model; its text and post checks,
        which no model combines, can only lift the verdict: unmask.verdict.fuse), noting in the report when a
        model for it had to be ignored."""
        modality = "image" if isinstance(media, PostMedia) else media.kind
        if modality in self._verdict_notes:
            report.errors.append(ErrorEntry(code="verdict_model_ignored", message=self._verdict_notes[modality],
                                            fatal=False))
        return self.verdict_models.get(modality)

    def _evidence(self, cls: type[Detector], media: Media) -> Evidence:
        """Run one detector; with default settings its evidence is shared through the media's cache under
        `evidence_key`, so a detector that reads another's map (unmask.detectors.maps) does not run it twice."""
        detector = self._instance(cls)
        if self.options.get(cls.name):
            return detector.analyze(media)
        return media.shared(evidence_key(cls), lambda: detector.analyze(media))

    def _run_all(self, media: Media, part: str | None, report: Report) -> None:
        for cls in self._classes:
            if not self.explicit and not cls.runs_in(self.profile, media.kind):
                continue
            if media.kind not in cls.modalities:
                if self.explicit and part is None:
                    report.errors.append(ErrorEntry(code="not_applicable", fatal=False, detector=cls.name,
                                                    message=f"{cls.name} does not analyse {media.kind} media"))
                continue
            t = time.perf_counter()
            try:
                evidence = self._evidence(cls, media)
            except NotApplicable as exc:
                evidence = Evidence(score=None, summary=f"Not applicable: {exc}")
                evidence.details["not_applicable"] = True
            except UnmaskError as exc:
                report.errors.append(ErrorEntry(code=exc.code, message=str(exc), fatal=False, detector=cls.name))
                continue
            except Exception as exc:  # a detector bug must not lose the rest of the report
                report.errors.append(_detector_failed(cls, exc))
                continue
            try:
                if cls.name in self.calibrations:
                    calibrate_evidence(self.calibrations[cls.name], evidence)
                _add_evidence(report, cls, evidence, part, time.perf_counter() - t)
            except Exception as exc:  # malformed evidence (e.g. a bad segment) is that detector's failure
                report.errors.append(_detector_failed(cls, exc, "returned evidence that could not be reported"))


def _detector_failed(cls: type[Detector], exc: Exception, what: str = "failed") -> ErrorEntry:
    return ErrorEntry(code="detector_failed", fatal=False, detector=cls.name,
                      message=f"{cls.name} {what}: {type(exc).__name__}: {exc}")


def _parts(media: Media) -> list[tuple[str | None, Media]]:
    if isinstance(media, PostMedia):
        return [(None, media)] + [(f"images[{i}]", im) for i, im in enumerate(media.images)]
    return [(None, media)]


def jsonable(value: Any, _depth: int = 0) -> Any:
    """A JSON-safe copy of detector output: numpy scalars and arrays become Python numbers and lists,
    NaN and infinities become None, mappings get string keys, anything else unknown becomes its str().

    Arrays larger than MAX_DETAIL_ELEMENTS are replaced by their shape and dtype so one detector cannot
    bloat every JSON line. This is what keeps a detector returning `np.float32` from breaking a report.
    """
    if _depth > _MAX_DEPTH:
        return str(value)[:200]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return plain(value)
    if isinstance(value, np.ndarray):
        if value.size > MAX_DETAIL_ELEMENTS:
            return {"omitted_array": {"shape": list(value.shape), "dtype": str(value.dtype)}}
        return jsonable(value.tolist(), _depth + 1)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v, _depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(vars(value), _depth + 1)
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(), _depth + 1)
    return str(value)


def _add_evidence(report: Report, cls: type[Detector], ev: Evidence, part: str | None, runtime: float) -> None:
    """The detector's evidence as a report entry: its parts (segments, tokens, boxes, tracks) are already the
    report's models and go in as they are; its facts gain the detector's name and the part they are about."""
    prefix = f"{part}." if part else ""
    attribution = {str(k): v for k, v in jsonable(ev.attribution).items() if v is not None}
    entry = EvidenceEntry(
        detector=cls.name, version=cls.version, part=part, score=ev.score, calibrated=bool(ev.calibrated),
        summary=str(ev.summary), attribution=attribution, details=jsonable(ev.details), runtime_s=runtime,
        segments=ev.segments, tokens=ev.tokens, boxes=ev.boxes, tracks=ev.tracks,
    )
    facts = [ProvenanceFact.model_validate(f).model_copy(update={"detector": cls.name, "part": part})
             for f in ev.facts]
    maps = {}
    for kind, arr in (("heatmap", ev.heatmap), ("mask", ev.mask)):
        if arr is None:
            continue
        name = f"{prefix}{cls.name}.{kind}"
        setattr(entry, kind, ArtifactRef(name=name, kind=kind, width=arr.shape[1], height=arr.shape[0]))
        maps[name] = arr
    report.maps.update(maps)
    report.evidence.append(entry)
    report.provenance += facts


def _file_identity(path: Path, limits: Limits) -> tuple[int | None, str | None]:
    """Size and SHA-256 of a regular file within the byte limit, so even a failed report names its input."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return None, None
        if st.st_size > limits.max_bytes:
            return st.st_size, None
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return st.st_size, digest.hexdigest()
    except OSError:
        return None, None


def failed_report(source: object, exc: UnmaskError, profile: str = "default",
                  limits: Limits = DEFAULT_LIMITS) -> Report:
    """The report of an input that could not be analysed: media identity where known, a fatal error."""
    path = str(source) if isinstance(source, str | os.PathLike) else None
    info = MediaInfo(**{"path": path, "format": None, **getattr(exc, "media", {})})
    if isinstance(source, bytes):
        info.sha256 = hashlib.sha256(source).hexdigest()
        info.size_bytes = len(source)
    elif path:
        info.size_bytes, info.sha256 = _file_identity(Path(path), limits)
    return Report(unmask_version=__version__, profile=profile, media=info,
                  errors=[ErrorEntry(code=exc.code, message=str(exc), fatal=True)])


def analyze(source: Media | str | os.PathLike | bytes, profile: str = "default",
            detectors: Sequence[str] | None = None) -> Report:
    """Analyse one input with the profile's detectors (or the named ones) and return its report."""
    return Analyzer(profile=profile, detectors=detectors).analyze(source)

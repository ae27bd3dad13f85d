"""Errors a user can act on. Every failure that reaches the CLI, API or a report is one of these."""

from __future__ import annotations


class UnmaskError(Exception):
    """Base class. `code` is a stable machine-readable identifier used in reports."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code

    @property
    def message(self) -> str:
        return str(self)


class MediaError(UnmaskError):
    """The input could not be read as media: empty, corrupt, truncated, unknown or unreadable."""

    code = "media_error"


class UnsupportedMedia(MediaError):
    """The content is not a kind of media unmask understands."""

    code = "unsupported_media"


class LimitExceeded(MediaError):
    """The input is larger than a configured limit (bytes, pixels, duration)."""

    code = "limit_exceeded"


class MissingDependency(UnmaskError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    code = "missing_dependency"

    def __init__(self, package: str, extra: str, purpose: str = "") -> None:
        what = f" for {purpose}" if purpose else ""
        super().__init__(f"{package} is needed{what}: pip install \"unmask[{extra}]\"")
        self.package = package
        self.extra = extra


class UnknownDetector(UnmaskError):
    """A detector name that is not registered; the message suggests the closest names."""

    code = "unknown_detector"


class NotApplicable(UnmaskError):
    """A detector has no opinion on this input (e.g. a JPEG-only method on a PNG)."""

    code = "not_applicable"

"""Errors a user can act on. Every failure that reaches the CLI, API or a report is one of these."""

from __future__ import annotations

import re
from typing import Any

# "<_io.BytesIO object at 0x7f...>" and similar: Python object reprs that libraries put in their messages
_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


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
    """The input could not be read as media: empty, corrupt, truncated, unknown or unreadable.

    `media` holds what was learnt about the input before it failed (e.g. kind, format, width, height from an
    intact header), for the failed report's media section.
    """

    code = "media_error"

    def __init__(self, message: str, *, code: str | None = None, media: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code)
        self.media: dict[str, Any] = dict(media or {})


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


def reason(exc: BaseException) -> str:
    """A library exception's message for a user: object reprs (`<_io.BytesIO object at 0x...>`) removed."""
    text = _OBJECT_REPR.sub("", str(exc)).strip().rstrip(":").strip()
    return text or type(exc).__name__

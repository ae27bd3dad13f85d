"""unmask: is this media real? Detect, localise and explain manipulation in images, video, audio and text.

The import stays light (numpy, Pillow, Pydantic): detectors import heavy libraries only when they run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .analysis import Analyzer, analyze
    from .media import Media, load
    from .report import Report

__all__ = ["Analyzer", "Media", "Report", "__version__", "analyze", "load"]


def __getattr__(name: str) -> Any:
    if name in ("analyze", "Analyzer"):
        from . import analysis as _analysis

        return getattr(_analysis, name)
    if name in ("load", "Media"):
        from . import media

        return getattr(media, name)
    if name == "Report":
        from .report import Report

        return Report
    raise AttributeError(f"module 'unmask' has no attribute {name!r}")

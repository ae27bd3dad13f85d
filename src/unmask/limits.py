"""Resource limits applied when media is loaded, so hostile or huge input fails early and clearly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one input. Defaults suit a workstation; raise them explicitly for bigger media."""

    max_bytes: int = 512 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_duration_s: float = 3 * 3600.0
    max_text_chars: int = 2_000_000
    max_metadata_bytes: int = 16 * 1024 * 1024

    def describe(self) -> str:
        return (
            f"max {self.max_bytes / 2**20:.0f} MiB, {self.max_pixels / 1e6:.0f} MP, "
            f"{self.max_duration_s:.0f} s"
        )


DEFAULT_LIMITS = Limits()

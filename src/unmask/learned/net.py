"""The contract every network follows, and the self-describing registry of network architectures.

A network takes RGB in [0, 1] as a float tensor (B, 3, H, W), with H and W multiples of its `multiple`,
and returns a dict: "logit" (B,), the image-level log-odds of fake, and for localizers "mask_logits"
(B, 1, H, W), per-pixel log-odds of manipulated. One architecture per module of `unmask.learned.archs`,
which names its class in a module attribute `ARCH`; adding an architecture is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, ClassVar

from torch import Tensor, nn


class ForensicNet(nn.Module):
    """Base class: set `task` ("classify" or "localize") and `multiple`, implement
    `forward(x) -> {"logit", ["mask_logits"]}`."""

    task: ClassVar[str] = "classify"
    multiple: ClassVar[int] = 1
    paper: ClassVar[str] = ""

    def forward(self, x: Tensor) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError


def arch_names() -> list[str]:
    """Every architecture module under unmask.learned.archs."""
    from . import archs

    return sorted(m.name for m in pkgutil.iter_modules(archs.__path__) if not m.name.startswith("_"))


def get_arch(name: str) -> type[ForensicNet]:
    """The network class of architecture `name`; ValueError naming the known ones otherwise."""
    if name not in arch_names():
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(arch_names())}")
    cls = importlib.import_module(f"{__package__}.archs.{name}").ARCH
    if not (isinstance(cls, type) and issubclass(cls, ForensicNet)):
        raise TypeError(f"unmask.learned.archs.{name}.ARCH is not a ForensicNet subclass")
    return cls


def build(arch: str, kwargs: dict[str, Any] | None = None) -> ForensicNet:
    """A freshly initialised network of architecture `arch`."""
    return get_arch(arch)(**(kwargs or {}))

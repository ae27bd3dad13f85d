"""Small helpers several test modules share (imported by tests as `helpers`)."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

ASSETS = Path(__file__).with_name("assets")


def asset_module(name: str) -> ModuleType:
    """tests/assets/<name>.py imported as module `name` (the scripts that make golden values)."""
    spec = importlib.util.spec_from_file_location(name, ASSETS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def png(rgb: np.ndarray) -> bytes:
    """RGB uint8 pixels as PNG bytes."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()

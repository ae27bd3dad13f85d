"""`make bench` entry for the CASIA v1 image-forensics benchmark (slow; needs ../shared/data/casia1)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import casia1_image_forensics as bench


@pytest.mark.slow
@pytest.mark.shared_data
def test_casia1_image_forensics() -> None:
    if not (bench.DEFAULT_DATA / "manifest.csv").exists():
        pytest.skip(f"CASIA v1 data not found at {bench.DEFAULT_DATA}")
    assert bench.main(["--full"]) == 0

"""`make bench` entries for the learned-detector benchmarks (slow; need ../shared/data)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import aigi_eval
import learned_casia1

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.slow
@pytest.mark.shared_data
def test_learned_casia1_heldout() -> None:
    if not (DATA / "casia1").is_dir():
        pytest.skip(f"CASIA v1 data not found at {DATA / 'casia1'}")
    assert learned_casia1.main([]) == 0


@pytest.mark.slow
@pytest.mark.shared_data
def test_aigi_eval() -> None:
    if not (DATA / "aigi_photos").is_dir():
        pytest.skip(f"aigi_photos not found at {DATA / 'aigi_photos'}")
    assert aigi_eval.main(["--threads", "1"]) == 0

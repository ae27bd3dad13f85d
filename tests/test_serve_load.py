"""Load on loopback against a real `unmask serve` process (tools/load_test.py): every upload becomes
exactly one done job, and the only errors are 429s, which clients retry after Retry-After."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

TOOL = Path(__file__).parents[1] / "tools" / "load_test.py"


def _tool():
    spec = importlib.util.spec_from_file_location("unmask_load_test", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _run(tmp_path: Path, analyses: int, clients: int, queue_size: int) -> dict:
    tool = _tool()
    with tool.serve(workers=2, profile="fast", queue_size=queue_size, data_dir=tmp_path / "data") as url:
        return tool.run_load(url, analyses, clients, side=128)


def test_load_small_with_a_tight_queue(tmp_path: Path) -> None:
    """60 analyses from 10 clients through a queue of 4: many 429s, all retried, nothing lost."""
    result = _run(tmp_path, analyses=60, clients=10, queue_size=4)
    assert result["problems"] == [], result
    assert set(result["answers"]) <= {200, 202, 429} and result["answers"].get(429, 0) > 0, result


@pytest.mark.slow
def test_load_500_analyses_from_50_clients(tmp_path: Path) -> None:
    result = _run(tmp_path, analyses=500, clients=50, queue_size=100)
    assert result["problems"] == [], result

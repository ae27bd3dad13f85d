"""Batch scanning: path expansion (order, recursion, loops, special files), ordered parallel scanning, and
recovery when a worker process dies."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from unmask.scan import Item, Settings, analyze_item, expand, run_ordered, scan

DETS = ("ela", "metadata")


def _image(path: Path, seed: int = 0, size: int = 96) -> Path:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size * size * 3).reshape(size, size, 3)
    rgb = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


def _tree(root: Path) -> Path:
    """root/{b.jpg, a.jpg, bad.jpg, empty.jpg, .hidden.jpg, sub/{z.jpg, deeper/y.jpg}}"""
    root.mkdir(exist_ok=True)
    _image(root / "b.jpg", 1)
    _image(root / "a.jpg", 2)
    (root / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "empty.jpg").write_bytes(b"")
    _image(root / ".hidden.jpg", 3)
    (root / "sub" / "deeper").mkdir(parents=True)
    _image(root / "sub" / "z.jpg", 4)
    _image(root / "sub" / "deeper" / "y.jpg", 5)
    return root


def _names(items) -> list[str]:
    return [i.path.name for i in items]


def test_expand_sorts_and_skips_subdirectories_without_recursive(tmp_path):
    root = _tree(tmp_path / "t")
    notes: list[str] = []
    items = list(expand([root], recursive=False, skipped=notes))
    assert _names(items) == ["a.jpg", "b.jpg", "bad.jpg", "empty.jpg"]
    assert any("1 sub-directory" in n and "--recursive" in n for n in notes)
    assert any("hidden" in n for n in notes)


def test_expand_recursive_is_depth_first_in_sorted_order(tmp_path):
    root = _tree(tmp_path / "t")
    items = list(expand([root / "b.jpg", root], recursive=True))
    assert _names(items) == ["b.jpg", "a.jpg", "b.jpg", "bad.jpg", "empty.jpg", "y.jpg", "z.jpg"]
    assert all(i.error is None for i in items)


@pytest.mark.timeout(20)
def test_symlink_loop_is_skipped_with_a_message_not_followed(tmp_path):
    root = _tree(tmp_path / "t")
    os.symlink(root, root / "loop")
    os.symlink(root / "sub", root / "sub" / "deeper" / "up")
    notes: list[str] = []
    items = list(expand([root], recursive=True, skipped=notes))
    assert _names(items) == ["a.jpg", "b.jpg", "bad.jpg", "empty.jpg", "y.jpg", "z.jpg"]
    assert sum("symlink loop" in n for n in notes) == 2


def test_symlinked_directory_already_scanned_is_not_scanned_twice(tmp_path):
    root = _tree(tmp_path / "t")
    os.symlink(root / "sub", root / "again")
    notes: list[str] = []
    items = list(expand([root], recursive=True, skipped=notes))
    assert _names(items).count("z.jpg") == 1
    assert any("already scanned" in n for n in notes)


def test_broken_and_self_referencing_file_links_are_error_items(tmp_path):
    root = tmp_path / "t"
    root.mkdir()
    os.symlink(root / "missing.jpg", root / "broken.jpg")
    os.symlink(root / "self.jpg", root / "self.jpg")
    items = list(expand([root]))
    assert _names(items) == ["broken.jpg", "self.jpg"]
    assert all(i.error and "symlink" in i.error for i in items)


@pytest.mark.timeout(20)
def test_fifo_is_never_opened(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    notes: list[str] = []
    assert list(expand([tmp_path], skipped=notes)) == []
    assert any("not a regular file" in n for n in notes)
    (named,) = list(expand([fifo]))
    assert named.error and "not a regular file" in named.error
    report = analyze_item(named, Settings(detectors=DETS))
    assert report.verdict is None and report.errors[0].fatal


def test_missing_path_becomes_an_error_item_with_the_loader_reason(tmp_path):
    (item,) = list(expand([tmp_path / "nope.jpg"]))
    report = analyze_item(item, Settings(detectors=DETS))
    assert not report.analysed
    assert report.errors[0].code == "not_found"


def test_failed_report_still_identifies_the_file(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 truncated")
    report = analyze_item(Item(bad), Settings(detectors=DETS))
    assert report.verdict is None
    assert report.media.size_bytes == bad.stat().st_size
    import hashlib

    assert report.media.sha256 == hashlib.sha256(bad.read_bytes()).hexdigest()


SCHEMA = jsonschema.Draft202012Validator(
    json.loads((Path(__file__).resolve().parents[1] / "docs" / "report.schema.json").read_text()))


def _summary(report) -> tuple:
    SCHEMA.validate(json.loads(report.to_json()))
    return (Path(report.media.path).name, report.verdict.label if report.verdict else None,
            round(report.verdict.probability, 6) if report.verdict else None,
            [e.code for e in report.errors])


def test_parallel_scan_keeps_input_order_and_matches_serial(tmp_path):
    root = _tree(tmp_path / "t")
    items = list(expand([root], recursive=True))
    serial = [_summary(r) for r in scan(items, detectors=DETS, workers=1)]
    parallel = [_summary(r) for r in scan(items, detectors=DETS, workers=2)]
    assert parallel == serial
    assert [s[0] for s in serial] == _names(items)
    assert [s[1] is None for s in serial] == [False, False, True, True, False, False]


def test_workers_drop_arrays_when_asked(tmp_path):
    items = [Item(_image(tmp_path / "a.jpg"))]
    (kept,) = scan(items, detectors=DETS, workers=2, keep_arrays=True)
    (dropped,) = scan(items, detectors=DETS, workers=2, keep_arrays=False)
    assert kept.maps["ela.heatmap"].shape == (96, 96) and kept.preview is not None
    assert dropped.maps == {} and dropped.preview is None


# ------------------------------------------------------------------------------------------ worker death
# Module-level so that worker processes can unpickle them.


def square_or_die(x: int) -> int:
    """Kills its own worker process (no cleanup, like the OOM killer) for the 'poison' inputs."""
    if x in (7, 13):
        os._exit(9)
    time.sleep(0.01)
    return x * x


def square_or_raise(x: int) -> int:
    if x == 3:
        raise ValueError("three is bad")
    return x * x


def _crash(x: int, exc: BaseException) -> str:
    return f"crash:{x}:{type(exc).__name__}"


@pytest.mark.timeout(60)
def test_run_ordered_survives_workers_that_die():
    results = list(run_ordered(range(20), square_or_die, workers=2, on_crash=_crash))
    expected = [x * x for x in range(20)]
    expected[7], expected[13] = "crash:7:BrokenProcessPool", "crash:13:BrokenProcessPool"
    assert results == expected


@pytest.mark.timeout(60)
def test_run_ordered_reports_exceptions_per_item_and_keeps_going():
    results = list(run_ordered(range(6), square_or_raise, workers=2, on_crash=_crash))
    assert results == [0, 1, 4, "crash:3:ValueError", 16, 25]


@pytest.mark.timeout(60)
def test_run_ordered_with_a_window_of_one_and_a_crash_first():
    results = list(run_ordered([7, 2, 13], square_or_die, workers=1, on_crash=_crash, window=1))
    assert results == ["crash:7:BrokenProcessPool", 4, "crash:13:BrokenProcessPool"]

"""The `unmask` command end to end: the installed entry point (subprocess) and Typer's CliRunner.

Covers exit codes 0/1/2, JSON Lines order and incremental writing, --workers, --artifacts, --html,
symlink loops, the bundled demo and the sample generator.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from unmask.cli import app

ROOT = Path(__file__).resolve().parents[1]
UNMASK = Path(sys.executable).parent / "unmask"
SCHEMA = jsonschema.Draft202012Validator(json.loads((ROOT / "docs" / "report.schema.json").read_text()))
DETS = "ela,metadata"
runner = CliRunner()


def invoke(*args: str | Path):
    """In-process through Typer's CliRunner: faster, for the many small cases."""
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def run(*args: str | Path, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real installed entry point, as a user runs it."""
    assert UNMASK.exists(), f"the unmask entry point is not installed next to {sys.executable}"
    proc = subprocess.run([str(UNMASK), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    return proc


def flat(text: str) -> str:
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def lines(path: Path) -> list[dict]:
    out = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for obj in out:
        SCHEMA.validate(obj)
    return out


def _image(path: Path, seed: int = 0, size: int = 96) -> Path:
    rng = np.random.default_rng(seed)
    rgb = np.clip(np.linspace(0, 255, size * size * 3).reshape(size, size, 3)
                  + rng.normal(0, 10, (size, size, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path, quality=90)
    return path


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A directory of good and bad files whose sorted order interleaves them."""
    root = tmp_path / "mixed"
    (root / "sub").mkdir(parents=True)
    _image(root / "a.jpg", 1)
    (root / "b_truncated.jpg").write_bytes(_image(tmp_path / "tmp.jpg", 2).read_bytes()[:300])
    _image(root / "c.png", 3)
    (root / "d_empty.bin").write_bytes(b"")
    (root / "e_random.bin").write_bytes(np.random.default_rng(0).integers(0, 256, 500, np.uint8).tobytes())
    (root / "f_note.txt").write_text("A short note.\n", encoding="utf-8")
    _image(root / "sub" / "g.jpg", 4)
    return root


EXPECTED = ["a.jpg", "b_truncated.jpg", "c.png", "d_empty.bin", "e_random.bin", "f_note.txt", "g.jpg"]
ANALYSED = [True, False, True, False, False, True, True]


# ------------------------------------------------------------------------------------------- exit codes


def test_exit_0_when_every_file_is_analysed(tmp_path):
    a, b = _image(tmp_path / "a.jpg"), _image(tmp_path / "b.jpg", 1)
    proc = run("scan", a, b, "--detectors", DETS)
    assert proc.returncode == 0, proc.stderr
    assert "a.jpg" in proc.stdout and "b.jpg" in proc.stdout
    assert re.search(r"(authentic|inconclusive|manipulated|ai-generated)\*", proc.stdout)
    assert "could not be analysed" not in proc.stderr


def test_exit_1_lists_each_failed_file_with_its_reason(tmp_path):
    good = _image(tmp_path / "good.jpg")
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 broken")
    proc = run("scan", good, bad, tmp_path / "missing.png", "--detectors", DETS, "--quiet")
    assert proc.returncode == 1
    assert proc.stdout == ""  # --quiet: no table
    err = flat(proc.stderr)
    assert "2 of 3 file(s) could not be analysed" in err
    assert f"{bad}: JPEG" in err and f"{tmp_path / 'missing.png'}: no such file" in err


@pytest.mark.parametrize("args, message", [
    (["--profile", "quick"], "'quick' is not a profile; choose one of fast, default, thorough"),
    (["--detectors", "elaa,metadata"], "no detector named 'elaa'; did you mean 'ela'"),
    (["--detectors", " , "], "give at least one detector name"),
    (["--workers", "0"], "--workers"),
])
def test_exit_2_for_usage_errors(tmp_path, args, message):
    _image(tmp_path / "a.jpg")
    result = invoke("scan", tmp_path, *args)
    assert result.exit_code == 2
    assert message in flat(result.stderr)


def test_usage_errors_through_the_entry_point_have_no_traceback(tmp_path):
    proc = run("scan", _image(tmp_path / "a.jpg"), "--detectors", "metadta")
    assert proc.returncode == 2 and "did you mean 'metadata'" in flat(proc.stderr)


def test_exit_2_when_there_are_no_files(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "only_sub" / "inner").mkdir(parents=True)
    result = invoke("scan", tmp_path / "empty")
    assert result.exit_code == 2 and "no files to analyse" in flat(result.stderr)
    result = invoke("scan", tmp_path / "only_sub")
    assert result.exit_code == 2 and "--recursive" in flat(result.stderr)
    assert invoke("scan").exit_code == 2


def test_exit_2_when_an_output_cannot_be_written(tmp_path):
    _image(tmp_path / "a.jpg")
    result = invoke("scan", tmp_path / "a.jpg", "--json", tmp_path)  # a directory, not a file
    assert result.exit_code == 2 and "is a directory" in flat(result.stderr)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux /dev/full")
def test_exit_3_with_a_message_when_the_disk_fills_up(tmp_path):
    src = _image(tmp_path / "a.jpg")
    result = invoke("scan", src, "--json", "/dev/full", "--detectors", DETS)
    assert result.exit_code == 3
    assert "writing the output failed" in flat(result.stderr) and "No space left" in flat(result.stderr)


# ------------------------------------------------------------------------------------------- JSON Lines


def test_jsonl_keeps_input_order_with_workers_and_records_failures(mixed, tmp_path):
    out = tmp_path / "out" / "r.jsonl"
    proc = run("scan", mixed, "--recursive", "--workers", "2", "--json", out, "--detectors", DETS)
    assert proc.returncode == 1
    rows = lines(out)
    assert [Path(r["media"]["path"]).name for r in rows] == EXPECTED
    assert [r["verdict"] is not None for r in rows] == ANALYSED
    for r in rows:
        if r["verdict"] is None:
            assert r["errors"] and r["errors"][0]["fatal"] and r["errors"][0]["message"]
    assert rows[1]["media"]["sha256"] == hashlib.sha256((mixed / "b_truncated.jpg").read_bytes()).hexdigest()
    serial = tmp_path / "serial.jsonl"
    run("scan", mixed, "--recursive", "--json", serial, "--detectors", DETS)

    def strip(r):
        return {k: v for k, v in r.items() if k != "runtime_s"} | {
            "evidence": [{k: v for k, v in e.items() if k != "runtime_s"} for e in r["evidence"]]}

    assert [strip(r) for r in lines(serial)] == [strip(r) for r in rows]


@pytest.mark.timeout(120)
def test_jsonl_lines_are_flushed_as_they_are_ready(tmp_path):
    """Kill the process mid-batch: every line already written is complete and valid."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        _image(folder / f"{i:03d}.jpg", i, size=256)
    out = tmp_path / "partial.jsonl"
    proc = subprocess.Popen([str(UNMASK), "scan", str(folder), "--json", str(out), "--detectors", DETS, "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    text = out.read_text(encoding="utf-8")
    complete = text.split("\n")[:-1]
    assert 3 <= len(complete) < 60
    assert [Path(json.loads(x)["media"]["path"]).name for x in complete] == [
        f"{i:03d}.jpg" for i in range(len(complete))]


# ------------------------------------------------------------------------------------- artifacts, HTML


def test_artifacts_are_written_and_named_in_the_json(tmp_path):
    src = _image(tmp_path / "photo.jpg", size=100)
    wide = tmp_path / "wide.png"
    Image.fromarray(np.asarray(Image.open(src))[:, :70]).save(wide)
    out = tmp_path / "r.jsonl"
    result = invoke("scan", src, wide, "--json", out, "--artifacts", tmp_path / "art", "--detectors", DETS)
    assert result.exit_code == 0, result.stderr
    for row in lines(out):
        (ela,) = [e for e in row["evidence"] if e["detector"] == "ela"]
        path = Path(ela["heatmap"]["path"])
        assert path.is_file() and path.is_relative_to(tmp_path / "art")
        with Image.open(path) as im:
            assert im.mode == "I;16"
            assert im.size == (row["media"]["width"], row["media"]["height"])


def test_html_report_is_written(tmp_path):
    src = _image(tmp_path / "photo.jpg")
    html = tmp_path / "deep" / "report.html"
    assert invoke("scan", src, "--html", html, "--detectors", DETS).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "photo.jpg" in page and page.rstrip().endswith("</html>")
    assert re.search(r'<div class="headline">(Looks authentic|Inconclusive|Likely manipulated)</div>', page)


def test_outputs_of_the_run_are_not_scanned(tmp_path):
    _image(tmp_path / "a.jpg")
    (tmp_path / "r.jsonl").write_text("old output\n")
    (tmp_path / "art" / "x").mkdir(parents=True)
    _image(tmp_path / "art" / "x" / "old.jpg")
    result = invoke("scan", tmp_path, "-r", "--json", tmp_path / "r.jsonl", "--artifacts", tmp_path / "art",
                    "--detectors", DETS)
    assert result.exit_code == 0
    assert [Path(r["media"]["path"]).name for r in lines(tmp_path / "r.jsonl")] == ["a.jpg"]
    assert "it is an output of this run" in flat(result.stderr)


# ---------------------------------------------------------------------------------------- symlink loops


@pytest.mark.timeout(60)
def test_symlink_loop_directory_is_skipped_with_a_message(tmp_path):
    root = tmp_path / "loopy"
    root.mkdir()
    _image(root / "a.jpg")
    os.symlink(root, root / "loop")
    out = tmp_path / "r.jsonl"
    result = invoke("scan", root, "--recursive", "--json", out, "--detectors", DETS)
    assert result.exit_code == 0
    assert "symlink loop" in flat(result.stderr)
    assert [Path(r["media"]["path"]).name for r in lines(out)] == ["a.jpg"]


# --------------------------------------------------------------------------------------------- CliRunner


def test_cli_runner_scan_progress_and_summary(mixed, tmp_path):
    out = tmp_path / "r.jsonl"
    result = runner.invoke(app, ["scan", str(mixed), "-r", "--json", str(out), "--detectors", DETS],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "scanning" in result.stderr  # a progress bar for more than a few files
    assert "4 authentic" in flat(result.stdout) or "inconclusive" in result.stdout
    assert "3 not analysed" in flat(result.stdout)
    assert len(lines(out)) == len(EXPECTED)
    few = runner.invoke(app, ["scan", str(mixed / "a.jpg"), "--detectors", DETS])
    assert few.exit_code == 0 and "scanning" not in few.stderr


def test_cli_runner_version_and_schema(tmp_path):
    assert runner.invoke(app, ["--version"]).stdout.startswith("unmask ")
    target = tmp_path / "schema.json"
    assert runner.invoke(app, ["schema", "--out", str(target)]).exit_code == 0
    assert target.read_text() == (ROOT / "docs" / "report.schema.json").read_text()


# ------------------------------------------------------------------------------------------------- demo


def _sample_files() -> list[Path]:
    return sorted(p for p in (ROOT / "samples").rglob("*") if p.is_file() and not p.name.startswith("."))


@pytest.mark.timeout(300)
def test_the_demo_scans_every_sample(tmp_path):
    out = tmp_path / "out"
    proc = run("scan", "samples", "--recursive", "--json", out / "demo.jsonl", "--html", out / "demo.html",
               "--artifacts", out / "artifacts", cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = lines(out / "demo.jsonl")
    assert [Path(r["media"]["path"]).name for r in rows] == [p.name for p in _sample_files()]
    by_name = {Path(r["media"]["path"]).name: r for r in rows}
    assert by_name["generated_sd.png"]["verdict"]["label"] == "ai-generated"
    assert any("Photoshop" in f["claim"] for f in by_name["edited_exif.jpg"]["provenance"])
    assert {by_name[n]["media"]["kind"] for n in ("clip.mp4", "tone.wav", "news_snippet.txt", "post.json")} == {
        "video", "audio", "text", "post"}
    assert any(e["part"] == "images[0]" for e in by_name["post.json"]["evidence"])
    assert (out / "demo.html").stat().st_size > 10_000
    assert "facts:" in proc.stdout  # provenance in the terminal summary


def test_samples_are_small_and_what_the_generator_makes(tmp_path):
    files = _sample_files()
    assert sum(p.stat().st_size for p in files) < 1_500_000
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import make_samples
    finally:
        sys.path.remove(str(ROOT / "tools"))
    names = make_samples.make_all(tmp_path)
    assert sorted([*names, "README.md"]) == [p.name for p in files]
    for name in names:
        committed, fresh = ROOT / "samples" / name, tmp_path / name
        if name.endswith((".jpg", ".mp4")):  # lossy encoders may differ by library version
            assert abs(committed.stat().st_size - fresh.stat().st_size) < 0.02 * committed.stat().st_size
            if name.endswith(".jpg"):
                diff = np.abs(np.asarray(Image.open(committed), float) - np.asarray(Image.open(fresh), float))
                assert diff.mean() < 0.5, f"{name} differs from what tools/make_samples.py makes"
        else:
            assert committed.read_bytes() == fresh.read_bytes(), f"{name}: run `make samples`"

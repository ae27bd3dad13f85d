"""`unmask batch` (issue 18): inputs, the Parquet output and its resume key, the worker actor, and Ray itself.

The unit tests run without Ray (the actor class is called directly). Two tests start Ray, which is slow here
(10-20 s a start): the command's own local Ray, and a local two-node "cluster" (`ray start --head` plus a
worker node) that the command joins through RAY_ADDRESS, twice, to check the resume. They skip with a reason
when the `scale` extra is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from helpers import png
from unmask.batch.engine import input_blocks
from unmask.batch.inputs import InputError, collect, local_copy, read_manifest, without
from unmask.batch.output import JsonLines, PartWriter, done_index, parts, remove_temporaries
from unmask.batch.rows import SCHEMA, Config
from unmask.batch.worker import FileScanner
from unmask.cli import app
from unmask.scan import Settings

FAST = Settings(profile="fast", keep_arrays=False, skip_uninstalled=True)
needs_ray = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ray") is None,
    reason='Ray is not installed: pip install -e ".[scale]" (make test installs it)')


def _images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"img{i:03d}.png"
        path.write_bytes(png(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)))
        out.append(path)
    return out


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """Three small PNGs (one in a sub-folder), a truncated JPEG, and a hidden file that is never read."""
    root = tmp_path / "in"
    _images(root, 2)
    _images(root / "sub", 1, seed=1)
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (root / ".hidden.png").write_bytes(b"x")
    return root


# ------------------------------------------------------------------------------------------------- inputs


def test_collect_walks_folders_recursively_and_reads_manifests(media: Path, tmp_path: Path) -> None:
    found = collect([str(media)])
    assert [Path(p).name for p in found] == ["broken.jpg", "img000.png", "img001.png", "img000.png"]
    (tmp_path / "m.csv").write_text("path,label\nin/img000.png,real\nin/sub/img000.png,fake\n")
    (tmp_path / "m.jsonl").write_text(json.dumps({"path": str(media / "img001.png")}) + "\n")
    pq.write_table(pa.table({"path": ["in/broken.jpg"]}), tmp_path / "m.parquet")
    sources = collect([str(tmp_path / "m.csv"), str(tmp_path / "m.jsonl"), str(tmp_path / "m.parquet"),
                       str(media / "img000.png")])  # the last is a repeat, listed once
    assert sources == [str(tmp_path / "in/img000.png"), str(tmp_path / "in/sub/img000.png"),
                       str(media / "img001.png"), str(tmp_path / "in/broken.jpg")]


def test_file_uris_are_listed_and_read_through_pyarrow(media: Path) -> None:
    found = collect([f"file://{media}"])
    assert found[0] == f"file://{media}/broken.jpg" and len(found) == 4
    with local_copy(found[1], max_bytes=1 << 20) as local:
        assert local == media / "img000.png"


def test_bad_manifests_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("file,label\na.png,real\n")
    with pytest.raises(InputError, match="no 'path' column"):
        list(read_manifest(str(tmp_path / "m.csv")))
    with pytest.raises(InputError, match="cannot read manifest"):
        list(read_manifest(str(tmp_path / "missing.jsonl")))


def test_the_runs_own_outputs_are_not_inputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sources = [str(tmp_path / "a.png"), str(out / "part-1.parquet"), str(tmp_path / "r.jsonl"), "s3://b/k.png"]
    assert without(sources, [out, tmp_path / "r.jsonl", None]) == [str(tmp_path / "a.png"), "s3://b/k.png"]


# ------------------------------------------------------------------------------------------------- output


def _row(path: str, sha: str | None, key: str) -> dict:
    return {"path": path, "sha256": sha, "config_key": key, "report": json.dumps({"path": path})}


def test_parts_are_atomic_and_the_done_index_reads_them(tmp_path: Path) -> None:
    writer = PartWriter(tmp_path, part_rows=2)
    assert writer.add(pa.Table.from_pylist([_row("a", "1", "k")], schema=SCHEMA)) is None
    part = writer.add(pa.Table.from_pylist([_row("b", None, "k"), _row("a", "2", "other")], schema=SCHEMA))
    assert part is not None and parts(tmp_path) == [part]
    (tmp_path / ".part-x.parquet.tmp").write_bytes(b"half a file from a killed run")
    assert done_index(tmp_path, "k") == {"a": {"1"}, "b": {""}}
    assert remove_temporaries(tmp_path) == 1 and writer.flush() is None
    jsonl = JsonLines(tmp_path / "r.jsonl", tmp_path)  # rewritten from the parts: each report once
    jsonl.close()
    assert [json.loads(line)["path"] for line in (tmp_path / "r.jsonl").read_text().splitlines()] == ["a", "b", "a"]


def test_input_blocks_carry_what_is_done() -> None:
    blocks = input_blocks(["a", "b", "c"], {"b": {"x", ""}}, size=2)
    assert [b.to_pylist() for b in blocks] == [[{"path": "a", "done": []}, {"path": "b", "done": ["", "x"]}],
                                              [{"path": "c", "done": []}]]


# ------------------------------------------------------------------------------------------------- worker


def _die(*_args: object) -> None:
    os._exit(3)  # a native crash, as far as the parent can tell


def _batch(sources: list[str], done: dict[str, set[str]] | None = None) -> pa.Table:
    return input_blocks(sources, done or {}, size=len(sources))[0]


def test_the_actor_writes_one_row_per_file_and_skips_what_is_done(media: Path) -> None:
    config = Config.of(FAST)
    scanner = FileScanner(FAST, config)
    sources = [str(media / "img000.png"), str(media / "broken.jpg"), str(media / "gone.png")]
    rows = scanner(_batch(sources)).to_pylist()
    assert [r["path"] for r in rows] == sources and not any(r["skipped"] for r in rows)
    good, broken, gone = rows
    assert good["label"] and good["error"] is None and good["kind"] == "image" and good["sha256"]
    assert dict(good["scores"])["ela"] is not None and good["config_key"] == config.key
    assert dict(good["detector_versions"]) == dict(config.versions)
    assert json.loads(good["report"])["media"]["sha256"] == good["sha256"]
    assert broken["label"] is None and broken["error_code"] == "truncated" and broken["sha256"]
    assert gone["error"] and gone["sha256"] is None
    again = scanner(_batch(sources, {sources[0]: {good["sha256"]}, sources[2]: {""}})).to_pylist()
    assert [(r["path"], r["skipped"]) for r in again] == [(sources[1], False), (sources[0], True),
                                                          (sources[2], True)]


def test_a_file_that_kills_the_child_costs_that_file_only(media: Path) -> None:
    scanner = FileScanner(FAST, Config.of(FAST))
    scanner.task = _die
    first = scanner.one(str(media / "img000.png"), set())
    scanner.task = FileScanner(FAST, Config.of(FAST)).task
    second = scanner.one(str(media / "img001.png"), set())
    assert first["error_code"] == "worker_failed" and first["sha256"]
    assert second["label"] and second["error"] is None


def test_a_node_with_other_detectors_is_refused() -> None:
    with pytest.raises(RuntimeError, match="same unmask version and extras on every node"):
        FileScanner(FAST, Config("fast", (("ela", "0"),)))


# ---------------------------------------------------------------------------------------------------- Ray


def _table(out: Path) -> pa.Table:
    return pads.dataset([str(p) for p in parts(out)], schema=SCHEMA).to_table()


@needs_ray
def test_batch_on_its_own_local_ray_matches_scan_json(media: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out, jsonl = tmp_path / "out", tmp_path / "batch.jsonl"
    result = runner.invoke(app, ["batch", str(media), "--out", str(out), "--json", str(jsonl), "--profile", "fast",
                                 "--workers", "2", "--batch-size", "1", "--quiet"])
    assert result.exit_code == 1, result.output  # the truncated JPEG could not be analysed
    assert "4 files: 3 analysed, 1 failed, 0 already done" in result.output
    table = _table(out)
    assert sorted(table.column("path").to_pylist()) == sorted(collect([str(media)]))
    scan_json = tmp_path / "scan.jsonl"
    runner.invoke(app, ["scan", str(media), "-r", "--json", str(scan_json), "--profile", "fast", "--quiet"])
    assert _comparable(jsonl) == _comparable(scan_json)


def _comparable(path: Path) -> dict[str, dict]:
    """Reports by path, without the run times (which differ between any two runs)."""
    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "runtime_s"}
        return [strip(v) for v in value] if isinstance(value, list) else value
    reports = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["media"]["path"]: strip(r) for r in reports}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ports() -> list[str]:
    """Every port a Ray node listens on, free ones, so the test never meets another Ray on this machine."""
    names = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
             "--dashboard-agent-grpc-port", "--metrics-export-port", "--runtime-env-agent-port"]
    return [arg for name in names for arg in (name, str(_free_port()))]


def _start_node(args: list[str], log: Path) -> subprocess.Popen:
    """`ray start --block` in its own process group: ending that group stops exactly this node."""
    ray = str(Path(sys.executable).with_name("ray"))
    cmd = [ray, "start", "--block", "--num-cpus", "1", "--object-store-memory", str(100 * 2**20),
           "--disable-usage-stats", "--node-ip-address", "127.0.0.1", *_ports(), *args]
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while "Ray runtime started" not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            pytest.fail(f"ray start failed:\n{log.read_text()[-2000:]}")
        time.sleep(0.3)
    return proc


def _stop(*procs: subprocess.Popen | None) -> None:
    """SIGTERM each node's process group (ray start --block then stops its processes), SIGKILL what is left
    after a few seconds (even when the leader is gone): only these nodes' processes, never another Ray."""
    live = [p for p in procs if p is not None]
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        deadline = time.monotonic() + wait
        while any(p.poll() is None for p in live) and time.monotonic() < deadline:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A head node and a worker node on this machine, one CPU each; yields the RAY_ADDRESS."""
    pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[scale]"')
    tmp = tmp_path_factory.mktemp("ray")
    port = _free_port()
    head = _start_node(["--head", "--port", str(port), "--temp-dir", str(tmp / "t"), "--include-dashboard",
                        "false", "--dashboard-port", str(_free_port())], tmp / "head.log")
    worker = None
    try:
        worker = _start_node(["--address", f"127.0.0.1:{port}"], tmp / "worker.log")
        yield f"127.0.0.1:{port}"
    finally:
        _stop(worker, head)


@needs_ray
def test_batch_joins_a_cluster_and_resumes(ray_cluster: str, media: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [str(Path(sys.executable).with_name("unmask")), "batch", str(media), "--out", str(out), "--profile",
           "fast", "--batch-size", "1", "--quiet"]
    env = {**os.environ, "RAY_ADDRESS": ray_cluster}
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert first.returncode == 1, first.stderr
    assert "2 workers" in first.stderr  # one per CPU of the two nodes
    _images(media, 3)  # img002.png is new; the others are unchanged
    (media / "img000.png").write_bytes(png(np.zeros((8, 8, 3), np.uint8)))  # changed: analysed again
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert "5 files: 2 analysed, 0 failed, 3 already done" in second.stderr, second.stderr
    table = _table(out)
    keys = list(zip(table.column("path").to_pylist(), table.column("sha256").to_pylist(), strict=True))
    assert len(keys) == len(set(keys)) == 6  # 4 + 2 new rows, none twice

"""Run a protocol: every (item, perturbation, detector) once, into the resumable result cache.

A result is looked up by its cache key before anything is computed, so a second run, or one resumed after an
interruption, runs only what is missing. Every failure (unreadable file, perturbation or decode error,
detector exception) becomes an error row; only Ctrl-C stops the run, after the buffered rows are written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..datasets import Item, Manifest
from ..detectors import Registry
from ..detectors.base import Detector
from ..errors import NotApplicable, UnmaskError
from .cache import ResultCache, result_key, segments_json
from .protocol import ORIGINAL, Protocol

RowHook = Callable[[dict[str, Any]], None]


@dataclass
class RunSummary:
    """What one run did: results computed now, found in the cache, and how many of them are errors."""

    out: Path
    items: int
    computed: int = 0
    cached: int = 0
    errors: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass
class _Step:
    spec: str
    key: str
    chain: Any  # unmask.perturb.Chain, or None for the original file


def perturbation_steps(specs: list[str], seed: int) -> list[_Step]:
    """Parsed perturbations with their cache keys; "none" is the original file (key "none")."""
    from ..perturb import parse

    steps = []
    for spec in specs:
        if spec == ORIGINAL:
            steps.append(_Step(ORIGINAL, ORIGINAL, None))
        else:
            chain = parse(spec)
            steps.append(_Step(str(chain), chain.cache_key(seed), chain))
    return steps


def _write_run_files(out: Path, protocol: Protocol, manifest: Manifest, versions: dict[str, str],
                     steps: list[_Step], tdcf: dict[str, Any] | None = None) -> None:
    """The run's own copy of its items and resolved protocol, which `report` reads instead of the dataset."""
    out.mkdir(parents=True, exist_ok=True)
    manifest.write(out / "manifest.jsonl")
    info = {"protocol": protocol.to_dict(), "detector_versions": versions,
            "perturbations": {s.spec: s.key for s in steps}, "items": [i.key() for i in manifest.items],
            "tdcf_weights": tdcf, "written": time.strftime("%Y-%m-%dT%H:%M:%S")}
    (out / "run.json").write_text(json.dumps(info, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


class _Runner:
    def __init__(self, protocol: Protocol, manifest: Manifest, cache: ResultCache, detectors: dict[str, Any],
                 steps: list[_Step], on_row: RowHook | None) -> None:
        self.protocol, self.manifest, self.cache = protocol, manifest, cache
        self.detectors, self.steps, self.on_row = detectors, steps, on_row
        self.done: set[str] = set()
        self.summary = RunSummary(cache.out, len(manifest))

    def _row(self, item: Item, sha: str, det: str, step: _Step, **fields: Any) -> None:
        version = self.detectors[det].version
        row = {"key": result_key(det, version, sha, step.key), "item": item.key(), "input_sha256": sha,
               "detector": det, "detector_version": version, "perturbation": step.spec,
               "perturbation_key": step.key, **fields}
        self.cache.add(row)
        self.done.add(row["key"])
        self.summary.computed += 1
        self.summary.errors += row["status"] == "error"
        if self.on_row is not None:
            self.on_row(row)

    def _fail(self, item: Item, sha: str, dets: list[str], step: _Step, exc: BaseException) -> None:
        for det in dets:
            self._row(item, sha, det, step, status="error", error=_describe(exc))

    def item(self, item: Item, advance: Callable[[], None]) -> None:
        """All perturbations and detectors of one item."""
        path = self.manifest.resolve(item.path)
        try:
            if path is None and item.text is None:
                raise UnmaskError("the item has neither a file nor a text")
            data = path.read_bytes() if path is not None else item.text.encode("utf-8")  # a text-only item
            sha = hashlib.sha256(data).hexdigest()
        except (OSError, UnmaskError) as exc:
            data, sha = b"", "unreadable:" + hashlib.sha256(item.key().encode()).hexdigest()
            error: BaseException | None = exc
        else:
            error = None
        for step in self.steps:
            todo = [d for d in self.detectors
                    if result_key(d, self.detectors[d].version, sha, step.key) not in self.done]
            self.summary.cached += len(self.detectors) - len(todo)
            if todo:
                self._step(item, data, sha, step, todo, error)
            advance()

    def _step(self, item: Item, data: bytes, sha: str, step: _Step, todo: list[str],
              error: BaseException | None) -> None:
        import unmask

        if error is not None:
            return self._fail(item, sha, todo, step, error)
        try:
            media = unmask.load(step.chain.apply(data, self.protocol.seed) if step.chain else data)
        except Exception as exc:  # one bad file is an error row, never a crash
            return self._fail(item, sha, todo, step, exc)
        for det in todo:
            self._detect(item, sha, det, step, media)

    def _detect(self, item: Item, sha: str, det: str, step: _Step, media: Any) -> None:
        start = time.perf_counter()
        try:
            ev = self.detectors[det].analyze(media)
        except NotApplicable as exc:
            return self._row(item, sha, det, step, status="not_applicable", error=str(exc),
                             runtime_s=time.perf_counter() - start)
        except Exception as exc:  # a detector bug is recorded for this item only
            return self._row(item, sha, det, step, status="error", error=_describe(exc),
                             runtime_s=time.perf_counter() - start)
        runtime = time.perf_counter() - start
        key = result_key(det, self.detectors[det].version, sha, step.key)
        maps = self.cache.save_maps(key, ev.heatmap, ev.mask)
        self._row(item, sha, det, step, status="ok", score=ev.score, runtime_s=runtime, map=maps,
                  summary=ev.summary, segments=segments_json(ev.segments))


def _describe(exc: BaseException) -> str:
    return f"{getattr(exc, 'code', type(exc).__name__)}: {exc}"


class _Broken:
    """Stands in for a detector that cannot be instantiated, so each of its results is an error row."""

    def __init__(self, cls: type[Detector], exc: Exception) -> None:
        self.version, self.exc = cls.version, exc

    def analyze(self, media: Any) -> Any:
        raise self.exc


def _instances(names: list[str], registry: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        cls = registry.get(name)  # unknown name: UnknownDetector with "did you mean"
        try:
            out[cls.name] = cls()
        except Exception as exc:
            out[cls.name] = _Broken(cls, exc)
    return out


def run_protocol(protocol: Protocol, out: str | Path, *, limit: int | None = None,
                 registry: Registry | None = None, progress: bool = True, retry_errors: bool = False,
                 on_row: RowHook | None = None, batch: int = 32) -> RunSummary:
    """Run every missing (item, perturbation, detector) of `protocol` into `out` and return what was done.

    `on_row` is called after each new row (for progress hooks and tests). Raises DataMissing when the dataset
    (or the t-DCF's ASV score file) is absent and UnknownDetector for an unknown name, before anything is written.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    started = time.perf_counter()
    manifest = protocol.load_manifest(limit)
    tdcf = protocol.tdcf_weights() if "spoofing" in protocol.metrics else None  # reads the ASV scores now
    detectors = _instances(protocol.detectors, registry or Registry.default())
    steps = perturbation_steps(protocol.perturbations, protocol.seed)
    out = Path(out)
    _write_run_files(out, protocol, manifest, {n: d.version for n, d in detectors.items()}, steps, tdcf)
    cache = ResultCache(out, batch=batch)
    runner = _Runner(protocol, manifest, cache, detectors, steps, on_row)
    runner.done = cache.keys(retry_errors, need_segments="temporal" in protocol.metrics)
    bar = Progress(TextColumn(f"[bold]{protocol.name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=Console(stderr=True), disable=not progress, transient=False)
    try:
        with bar:
            task = bar.add_task("bench", total=len(manifest) * len(steps))
            for item in manifest.items:
                runner.item(item, lambda: bar.advance(task))
    finally:
        cache.flush()  # keep everything computed so far, also on Ctrl-C
        runner.summary.seconds = time.perf_counter() - started
    runner.summary.notes = list(manifest.notes)
    return runner.summary

"""`unmask data check`: what a manifest holds and what is wrong with it, before anyone trains on it.

Counts per label, split and attribute value; missing and unreadable files; duplicate content (SHA-256 of the
file bytes, or of the whitespace-normalised text for text items); groups whose items fall in more than one
split (leaks); and shortcut warnings. A shortcut is a trivial property that alone separates real from fake
(the aigi_photos images whose size gives the label away): for each feature the AUC of the raw value as a
score is computed with `unmask.metrics.roc_auc` and reported as max(AUC, 1 - AUC), so direction does not
matter; a value >= 0.7 is a warning. Categorical features (file format) score each item by its value's fake
rate in the same data, an in-sample upper bound. Only headers are decoded (Pillow without `load`,
`soundfile.info`, the container header for video), so thousands of files check in seconds; a file that fails
is counted unreadable.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .manifest import LABELS, Item, Manifest

SHORTCUT_AUC = 0.7
MAX_VALUES = 30  # attribute values listed per attribute; more distinct values are summarised
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".gif"}
AUDIO_EXTS = {".flac", ".wav", ".ogg", ".mp3", ".aiff", ".aif"}
VIDEO_EXTS = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
NUMERIC = (
    "width",
    "height",
    "pixels",
    "jpeg_quality",
    "file_bytes",
    "sample_rate",
    "duration_s",
    "text_chars",
    "text_words",
)
CATEGORICAL = ("format", "jpeg_tables")
MIN_PER_VALUE = 10  # a feature value needs this many items to get its own fake rate
MAX_BUCKETS = 30  # features with more (pooled) values get no per-value AUC


@dataclass
class Probe:
    """What the header of one item's file (and its text) says: features, content hash, or why it failed."""

    features: dict[str, Any] = field(default_factory=dict)
    sha256: str | None = None
    missing: bool = False
    error: str | None = None


def _image_features(source: io.BytesIO | Path) -> dict[str, Any]:
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(source) as im:
            width, height = im.size
            out: dict[str, Any] = {
                "width": width,
                "height": height,
                "pixels": width * height,
                "format": (im.format or "?").lower(),
            }
            tables = getattr(im, "quantization", None) or {}
            if im.format == "JPEG" and tables:
                out.update(_jpeg_features(tables))
    return out


def _jpeg_features(tables: dict[int, Any]) -> dict[str, Any]:
    """Nearest libjpeg quality of the luminance table, and a short hash of all tables (which software wrote
    the file). Pillow parses the DQT segments at open, so no pixel is decoded."""
    from ..provenance.jpeg_tables import estimated_quality

    luma = np.asarray(list(tables[min(tables)])[:64], dtype=np.int32).reshape(8, 8)
    raw = b"".join(np.asarray(list(tables[k]), dtype=np.uint16).tobytes() for k in sorted(tables))
    return {"jpeg_quality": estimated_quality(luma), "jpeg_tables": hashlib.sha1(raw).hexdigest()[:10]}


def _audio_features(path: Path) -> dict[str, Any]:
    try:
        import soundfile
    except ImportError:
        return {}
    info = soundfile.info(str(path))
    return {
        "sample_rate": int(info.samplerate),
        "duration_s": float(info.frames) / max(info.samplerate, 1),
        "format": str(info.format).lower(),
    }


def _video_features(path: Path) -> dict[str, Any]:
    try:
        import av
    except ImportError:
        return {}
    with av.open(str(path)) as container:
        out: dict[str, Any] = {"format": container.format.name.split(",")[0]}
        if container.duration:
            out["duration_s"] = container.duration / 1_000_000
        if container.streams.video:
            stream = container.streams.video[0]
            out.update(width=stream.width, height=stream.height, pixels=stream.width * stream.height)
    return out


def _text_features(text: str) -> tuple[dict[str, Any], str]:
    normal = " ".join(text.split())
    return {"text_chars": len(normal), "text_words": len(normal.split())}, normal


def probe(item: Item, manifest: Manifest, hash_files: bool = True) -> Probe:
    """Header features and content hash of one item; never raises for a bad or missing file."""
    result = Probe()
    if item.text:
        result.features, normal = _text_features(item.text)
        result.sha256 = "text:" + hashlib.sha256(normal.encode()).hexdigest()
    path = manifest.resolve(item.path)
    if path is None:
        return result
    if path.is_dir():  # a folder item (a video's frames): present, no header to read
        return result
    if not path.is_file():
        result.missing = True
        return result
    suffix = path.suffix.lower()
    try:
        result.features["file_bytes"] = path.stat().st_size
        result.features.setdefault("format", suffix.lstrip(".") or "?")
        if suffix in IMAGE_EXTS:  # read once for the hash, the header parsed from memory
            data = path.read_bytes() if hash_files else None
            if data is not None:
                result.sha256 = hashlib.sha256(data).hexdigest()
            result.features.update(_image_features(io.BytesIO(data) if data is not None else path))
            return result
        if hash_files:
            with path.open("rb") as fh:
                result.sha256 = hashlib.file_digest(fh, "sha256").hexdigest()
        if suffix in AUDIO_EXTS:
            result.features.update(_audio_features(path))
        elif suffix in VIDEO_EXTS:
            result.features.update(_video_features(path))
    except Exception as exc:  # any decoder failure: the file is unreadable, the check goes on
        result.error = f"{type(exc).__name__}: {exc}"[:200]
    return result


def _mask_problem(item: Item, manifest: Manifest, probed: Probe) -> str | None:
    """'missing' or 'size WxH != image WxH' for an item's mask; None when fine or not checkable."""
    path = manifest.resolve(item.mask)
    if path is None:
        return None
    if not path.is_file():
        return "missing"
    if "width" not in probed.features or path.suffix.lower() not in IMAGE_EXTS:
        return None
    try:
        from PIL import Image

        with Image.open(path) as im:
            size = im.size
    except Exception as exc:
        return f"unreadable ({type(exc).__name__})"
    image_size = (probed.features["width"], probed.features["height"])
    return (
        None if size == image_size else f"size {size[0]}x{size[1]} != image {image_size[0]}x{image_size[1]}"
    )


def _auc(y: np.ndarray, scores: np.ndarray) -> float:
    from ..metrics import roc_auc

    return roc_auc(y, scores)


def _by_value_scores(y: np.ndarray, values: list[Any]) -> np.ndarray | None:
    """Each item's score = the fake rate among the items sharing its feature value (in-sample). Values held by
    fewer than MIN_PER_VALUE items are pooled into one bucket, so a value seen once or twice cannot separate
    anything by itself. None for a feature with more than MAX_BUCKETS such buckets (a continuous one, where
    the in-sample rates would mostly measure noise); otherwise the AUC is optimistic but bounded."""
    keys = [str(v) for v in values]
    counts = Counter(keys)
    keys = [k if counts[k] >= MIN_PER_VALUE else "\0rare" for k in keys]
    totals = Counter(keys)
    if len(totals) > MAX_BUCKETS:
        return None
    fakes = Counter(k for k, label in zip(keys, y, strict=True) if label == 1)
    return np.array([fakes[k] / totals[k] for k in keys])


def _shortcut(name: str, y: np.ndarray, values: list[Any], threshold: float) -> dict[str, Any] | None:
    """How well one feature alone separates the classes; None when a class has under 2 items with it.

    `auc`: the raw value as a score (numeric features), direction-free. `auc_by_value`: each value's fake rate
    as the score (values of MIN_PER_VALUE+ items), which also catches non-monotone shortcuts (disjoint sets of
    JPEG qualities, a format only one class uses).
    """
    n_fake = int(y.sum())
    if n_fake < 2 or len(y) - n_fake < 2:
        return None
    entry: dict[str, Any] = {
        "feature": name,
        "n": len(y),
        "n_fake": n_fake,
        "values": len(set(map(str, values))),
    }
    scores = _by_value_scores(y, values)
    best = _auc(y, scores) if scores is not None else 0.5
    entry["auc_by_value"] = round(best, 4) if scores is not None else None
    if name in NUMERIC:
        raw = np.asarray(values, dtype=np.float64)
        auc = _auc(y, raw)
        best = max(auc, 1 - auc, best)
        entry.update(
            auc=round(max(auc, 1 - auc), 4),
            real_median=float(np.median(raw[y == 0])),
            fake_median=float(np.median(raw[y == 1])),
            direction="higher in fake" if auc > 0.505 else "lower in fake" if auc < 0.495 else "none",
        )
    entry["best"] = round(max(best, 1 - best), 4)
    entry["warn"] = entry["best"] >= threshold
    return entry


def shortcuts(
    items: list[Item], probes: list[Probe], threshold: float = SHORTCUT_AUC
) -> list[dict[str, Any]]:
    """One entry per trivial feature present for both classes, strongest first."""
    out = []
    for name in (*NUMERIC, *CATEGORICAL):
        pairs = [(it.y, p.features[name]) for it, p in zip(items, probes, strict=True) if name in p.features]
        if pairs:
            found = _shortcut(name, np.array([y for y, _ in pairs]), [v for _, v in pairs], threshold)
            if found:
                out.append(found)
    return sorted(out, key=lambda s: -s["best"])


def _label_counts(items: list[Item], key: Callable[[Item], Any]) -> dict[str, dict[str, int]]:
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        value = key(item)
        if value is not None:
            table[str(value)][item.label] += 1
    return {k: {label: table[k][label] for label in LABELS} for k in sorted(table)}


def attribute_counts(items: list[Item]) -> dict[str, dict[str, Any]]:
    """Per scalar attribute: real/fake counts per value (up to MAX_VALUES values) and the number of values."""
    keys = sorted({k for it in items for k, v in it.attrs.items() if isinstance(v, str | int | float | bool)})
    out = {}
    for key in keys:
        counts = _label_counts(
            items, lambda it, k=key: it.attrs.get(k) if not isinstance(it.attrs.get(k), list | dict) else None
        )
        out[key] = {"distinct": len(counts), "values": counts if len(counts) <= MAX_VALUES else None}
    return out


def duplicate_groups(items: list[Item], probes: list[Probe]) -> list[dict[str, Any]]:
    """Items with identical content; flags groups that mix labels or splits."""
    by_hash: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(probes):
        if p.sha256:
            by_hash[p.sha256].append(i)
    out = []
    for digest, idx in by_hash.items():
        if len(idx) > 1:
            labels = sorted({items[i].label for i in idx})
            splits = sorted({items[i].split for i in idx if items[i].split})
            out.append(
                {
                    "sha256": digest.removeprefix("text:")[:16],
                    "items": [items[i].key() for i in idx],
                    "labels": labels,
                    "splits": splits,
                    "conflicting_labels": len(labels) > 1,
                    "cross_split": len(splits) > 1,
                }
            )
    return sorted(out, key=lambda d: (not d["conflicting_labels"], not d["cross_split"], -len(d["items"])))


def group_leaks(items: list[Item]) -> list[dict[str, Any]]:
    """Groups (source ids) whose items fall in more than one split."""
    splits: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        if item.group and item.split:
            splits[item.group][item.split] += 1
    return [{"group": g, "splits": dict(sorted(c.items()))} for g, c in sorted(splits.items()) if len(c) > 1]


@dataclass
class CheckReport:
    """Everything `unmask data check` found; `to_dict()` is the JSON written by --json."""

    source: str
    n_items: int
    labels: dict[str, int]
    splits: dict[str, dict[str, int]]
    attributes: dict[str, dict[str, Any]]
    missing: list[str]
    unreadable: list[dict[str, str]]
    mask_problems: list[dict[str, str]]
    duplicates: list[dict[str, Any]]
    leaks: list[dict[str, Any]]
    shortcuts: list[dict[str, Any]]
    threshold: float
    hashed: bool

    def warnings(self) -> list[str]:
        """One line per kind of problem found (empty when the manifest looks clean)."""
        out = []
        if self.missing:
            out.append(f"{len(self.missing)} missing file(s)")
        if self.unreadable:
            out.append(f"{len(self.unreadable)} unreadable file(s)")
        if self.mask_problems:
            out.append(f"{len(self.mask_problems)} mask problem(s)")
        if self.duplicates:
            bad = sum(d["conflicting_labels"] or d["cross_split"] for d in self.duplicates)
            out.append(f"{len(self.duplicates)} duplicate group(s), {bad} across labels or splits")
        if self.leaks:
            out.append(f"{len(self.leaks)} group(s) span more than one split (leak)")
        out += [
            f"SHORTCUT: {s['feature']} alone separates real from fake with AUC {s['best']:.3f}"
            + (f" ({s['direction']})" if s.get("direction", "none") != "none" else "")
            for s in self.shortcuts
            if s["warn"]
        ]
        if min(self.labels.values()) == 0:
            out.append("only one label present: no shortcut or separability can be measured")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "items": self.n_items,
            "labels": self.labels,
            "splits": self.splits,
            "attributes": self.attributes,
            "missing": self.missing,
            "unreadable": self.unreadable,
            "mask_problems": self.mask_problems,
            "duplicates": self.duplicates,
            "leaks": self.leaks,
            "shortcuts": self.shortcuts,
            "shortcut_threshold": self.threshold,
            "hashed": self.hashed,
            "warnings": self.warnings(),
        }


def check_manifest(
    manifest: Manifest,
    *,
    hash_files: bool = True,
    threshold: float = SHORTCUT_AUC,
    source: str = "",
    on_item: Callable[[], None] | None = None,
) -> CheckReport:
    """Probe every item (headers only) and gather counts, problems and shortcut AUCs."""
    items, probes, mask_problems = manifest.items, [], []
    for item in items:
        probed = probe(item, manifest, hash_files)
        probes.append(probed)
        problem = _mask_problem(item, manifest, probed)
        if problem:
            mask_problems.append({"item": item.key(), "mask": item.mask or "", "problem": problem})
        if on_item:
            on_item()
    usable = [(it, p) for it, p in zip(items, probes, strict=True) if not p.missing and not p.error]
    return CheckReport(
        source=source,
        n_items=len(items),
        labels=manifest.counts(),
        threshold=threshold,
        hashed=hash_files,
        splits=_label_counts(items, lambda it: it.split),
        attributes=attribute_counts(items),
        missing=[it.key() for it, p in zip(items, probes, strict=True) if p.missing],
        unreadable=[
            {"item": it.key(), "error": p.error} for it, p in zip(items, probes, strict=True) if p.error
        ],
        mask_problems=mask_problems,
        duplicates=duplicate_groups(items, probes),
        leaks=group_leaks(items),
        shortcuts=shortcuts([it for it, _ in usable], [p for _, p in usable], threshold),
    )


def _table(title: str, columns: list[str], rows: list[list[Any]], limit: int = 20) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows[:limit]:
        table.add_row(*[Text(str(c)) for c in row])
    if len(rows) > limit:
        table.caption = f"{len(rows) - limit} more in --json"
    return table


def render(report: CheckReport, console: Any) -> None:
    """Print the report as Rich tables: summary, attributes, problems, shortcuts, then the warnings."""
    counts = " ".join(f"{k} {v}" for k, v in report.labels.items())
    console.print(
        f"[bold]{report.source or 'manifest'}[/bold]: {report.n_items} items ({counts})", highlight=False
    )
    if report.splits:
        console.print(
            _table("splits", ["split", *LABELS], [[s, *c.values()] for s, c in report.splits.items()])
        )
    rows = [
        [key, v, *c.values()]
        for key, info in report.attributes.items()
        if info["values"]
        for v, c in info["values"].items()
    ]
    rows += [
        [key, f"({info['distinct']} distinct values)", "", ""]
        for key, info in report.attributes.items()
        if not info["values"]
    ]
    if rows:
        console.print(_table("attributes", ["attribute", "value", *LABELS], rows, limit=60))
    problems = (
        [["missing", m] for m in report.missing]
        + [["unreadable", f"{u['item']}: {u['error']}"] for u in report.unreadable]
        + [["mask", f"{m['item']}: {m['problem']}"] for m in report.mask_problems]
        + [["leak", f"group {g['group']}: {g['splits']}"] for g in report.leaks]
        + [
            ["duplicate" + (" (labels differ)" if d["conflicting_labels"] else ""), " | ".join(d["items"])]
            for d in report.duplicates
        ]
    )
    if problems:
        console.print(_table("problems", ["kind", "detail"], problems, limit=30))
    if report.shortcuts:
        console.print(
            _table(
                f"shortcut features (warn at AUC >= {report.threshold})",
                [
                    "feature",
                    "AUC value",
                    "AUC per value",
                    "direction",
                    "n",
                    "values",
                    "real median",
                    "fake median",
                    "",
                ],
                [
                    [
                        s["feature"],
                        _num(s.get("auc"), ".3f"),
                        _num(s.get("auc_by_value"), ".3f"),
                        s.get("direction", ""),
                        s["n"],
                        s["values"],
                        _num(s.get("real_median")),
                        _num(s.get("fake_median")),
                        "SHORTCUT" if s["warn"] else "",
                    ]
                    for s in report.shortcuts
                ],
            )
        )
    for line in report.warnings():
        console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
    if not report.warnings():
        console.print("[green]no problems found[/green]")


def _num(value: float | None, fmt: str = ".4g") -> str:
    return "" if value is None else format(value, fmt)

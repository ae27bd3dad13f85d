"""Development scores for fitting a verdict model: the cached results of `unmask bench run` folders, pooled.

An item without a group gets its input's SHA-256 as group, so a file in two runs never lands in two folds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


def profile_detectors(profile: str, modality: str) -> list[str]:
    """The registered signal detectors of `profile` that analyse `modality`, in registry order. Detectors that
    read facts from the file (outputs "facts": C2PA, metadata, watermark) are left out: the verdict layer
    takes their statements by rule (unmask.verdict.fuse), not as scores to weigh."""
    from ..detectors import Registry

    names = [c.name for c in Registry.default().for_media(modality, profile) if "facts" not in c.outputs]
    if not names:
        raise ValueError(f"profile {profile!r} has no {modality} detector")
    return names


class NoScores(Exception):
    """The runs hold no usable score for the chosen detectors and perturbation."""


@dataclass
class DevScores:
    """Pooled dev items of several runs: raw scores (n, detectors) with NaN = no score, labels, groups."""

    scores: np.ndarray
    y: np.ndarray
    groups: list[str]
    detectors: dict[str, str]  # name -> version the scores come from
    items: list[Any] = field(default_factory=list)  # the manifest item of each row
    notes: list[str] = field(default_factory=list)


def _chosen(runs: Sequence[Any], modality: str, names: Sequence[str] | None, notes: list[str],
            registry: Any) -> list[str]:
    """The detectors to combine: the given names (each in some run and of `modality`), else every detector
    of the runs whose modalities include `modality`."""
    from ..errors import UnmaskError

    in_runs = list(dict.fromkeys(d for run in runs for d in run.detectors))
    out = []
    for name in names if names is not None else in_runs:
        if name not in in_runs:
            raise ValueError(f"detector {name!r} is in none of the runs (they have {', '.join(in_runs)})")
        try:
            cls = registry.get(name)
        except UnmaskError:
            if names is not None:
                raise
            notes.append(f"left out {name}: not a registered detector")
            continue
        if modality in cls.modalities:
            out.append(name)
        elif names is not None:
            raise ValueError(f"detector {name!r} analyses {', '.join(cls.modalities)}, not {modality}")
    if not out:
        raise ValueError(f"the runs have no {modality} detector")
    return out


def _versions(runs: Sequence[Any], names: Sequence[str], notes: list[str], registry: Any) -> dict[str, str]:
    """The version each detector's scores come from; ValueError when runs disagree."""
    out = {}
    for name in names:
        seen = {str(run.info["detector_versions"][name]) for run in runs if name in run.detectors}
        if len(seen) > 1:
            raise ValueError(f"the runs hold {name} scores of versions {', '.join(sorted(seen))}; "
                             "give runs of one version")
        out[name] = seen.pop()
        installed = str(registry.get(name).version)
        if installed != out[name]:
            notes.append(f"{name}: scores are from version {out[name]}, installed is {installed}; the model "
                         "will be ignored at analysis time until refitted on new scores")
    return out


def _score(row: dict[str, Any] | None) -> float:
    if row is None or row.get("status") != "ok" or row.get("score") is None:
        return np.nan
    s = float(row["score"])
    return s if np.isfinite(s) else np.nan


def skip_rule(specs: Sequence[str]) -> Callable[[Any], bool]:
    """A predicate from "ATTR=VALUE" specs: True for an item whose manifest attribute ATTR equals a VALUE."""
    pairs = []
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--skip takes ATTR=VALUE (a manifest attribute), got {spec!r}")
        pairs.append((key.strip(), value.strip()))
    return lambda item: any(str((item.attrs or {}).get(k, "")) == v for k, v in pairs)


def collect(runs: Sequence[Any], modality: str = "image", names: Sequence[str] | None = None,
            perturbation: str = "none", skip: Callable[[Any], bool] | None = None) -> DevScores:
    """Pool the items of loaded runs (`bench.report.RunData`) under one perturbation, leaving out the items
    `skip` names. An item without a group gets its input's SHA-256 as group, so a file in two runs never lands
    in two folds."""
    notes: list[str] = []
    for run in runs:
        if perturbation not in run.perturbations:
            raise ValueError(f"{run.out} has no perturbation {perturbation!r} (it has "
                             f"{', '.join(run.perturbations)})")
    from ..detectors import Registry

    registry = Registry.default()  # built once: it scans the plugin entry points
    dets = _chosen(runs, modality, names, notes, registry)
    versions = _versions(runs, dets, notes, registry)
    rows, ys, groups, items, empty = [], [], [], [], 0
    for run in runs:
        for item, item_id in zip(run.manifest.items, run.ids, strict=True):
            if skip is not None and skip(item):
                continue
            found = [run.rows.get((item_id, d, perturbation)) for d in dets]
            scores = [_score(r) for r in found]
            if all(np.isnan(scores)):
                empty += 1
                continue
            sha = next((r["input_sha256"] for r in found if r is not None), item_id)
            rows.append(scores)
            items.append(item)
            ys.append(item.y)
            groups.append(f"group:{item.group}" if item.group else f"file:{sha}")
    if empty:
        notes.append(f"left out {empty} item(s) without any score (not run yet, errors, or no opinion)")
    if not rows:
        raise NoScores(f"no item has a score from {', '.join(dets)} under perturbation {perturbation!r}")
    return DevScores(np.array(rows, dtype=np.float64), np.array(ys, dtype=np.int64), groups, versions, items, notes)


def load_runs(run_dirs: Sequence[str | Path]) -> list[Any]:
    """Load `unmask bench run` folders; ValueError naming the one that is missing or not a run."""
    from ..bench.report import load_run
    from ..errors import UnmaskError

    runs = []
    for path in map(Path, run_dirs):
        if not path.is_dir():
            raise ValueError(f"{path}: no such run folder")
        try:
            runs.append(load_run(path))
        except (ValueError, OSError, UnmaskError) as exc:  # not a run folder, unreadable, pyarrow missing
            raise ValueError(str(exc)) from None
    return runs



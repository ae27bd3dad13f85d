"""Benchmark protocols: a YAML file that fixes the data, detectors, perturbations, metrics and threshold.

Everything that decides a number is written down before the run (the threshold included), so a table can be
reproduced from the protocol and nothing is tuned on the data it reports on. Paths hang from the protocol
file's folder; `${VAR:-default}` reads the environment, so no machine path needs committing.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import Manifest, convert
from ..errors import UnmaskError

METRIC_FAMILIES = ("binary", "localization", "spoofing", "temporal")
DEFAULT_METRICS = ("binary", "localization")
TDCF_VERSIONS = ("2019", "2021")
ASV_KEYS = {"target": "target", "nontarget": "nontarget", "non-target": "nontarget", "spoof": "spoof"}
ORIGINAL = "none"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ProtocolError(UnmaskError):
    """A protocol file that cannot be read or is invalid; the message names the file and the field."""

    code = "protocol_error"


class DataMissing(UnmaskError):
    """The protocol's dataset is not on this machine; the message says where it was looked for."""

    code = "data_missing"


def expand_vars(text: str) -> str:
    """Replace `${NAME}` and `${NAME:-default}` with the environment's value (the default when unset/empty)."""

    def one(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value:
            return value
        if m.group(2) is None:
            raise ProtocolError(f"environment variable {m.group(1)} is not set and has no default")
        return m.group(2)

    return _VAR.sub(one, text)


@dataclass
class DatasetSpec:
    """Where the items come from: a manifest file, or an adapter run on a dataset folder."""

    manifest: Path | None = None
    adapter: str | None = None
    root: Path | None = None
    options: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"manifest {self.manifest}" if self.manifest else f"adapter {self.adapter!r} on {self.root}"


@dataclass
class Protocol:
    """A parsed protocol. `perturbations` keeps "none" for the original file; `slices` are manifest attributes."""

    name: str
    dataset: DatasetSpec
    detectors: list[str]
    perturbations: list[str] = field(default_factory=lambda: [ORIGINAL])
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_METRICS))
    threshold: float = 0.5
    slices: list[str] = field(default_factory=list)
    split: str | None = None
    group_split: dict[str, Any] | None = None  # {test_fraction, seed}: see unmask.datasets.split
    limit: int | None = None
    seed: int = 0
    source: Path | None = None
    tdcf: dict[str, Any] | None = None  # {c0, c1, c2} or {asv_scores: Path, version}: the ASV side of the t-DCF

    def load_manifest(self, limit: int | None = None) -> Manifest:
        """The items to run on: the split, then a fixed subset of `limit` items (see `select`)."""
        from ..datasets.split import group_split

        manifest = _read_dataset(self.dataset)
        items = group_split(manifest.items, **self.group_split) if self.group_split else manifest.items
        items = [i for i in items if self.split is None or i.split == self.split]
        n = limit if limit is not None else self.limit
        return Manifest(select(items, n), manifest.root, manifest.notes)

    def to_dict(self) -> dict[str, Any]:
        """The resolved protocol (absolute paths), as stored next to the results."""
        ds = self.dataset
        return {
            "name": self.name,
            "dataset": {"manifest": str(ds.manifest) if ds.manifest else None, "adapter": ds.adapter,
                        "root": str(ds.root) if ds.root else None, "options": ds.options},
            "split": self.split, "group_split": self.group_split, "limit": self.limit,
            "detectors": self.detectors,
            "perturbations": self.perturbations, "metrics": self.metrics, "threshold": self.threshold,
            "slices": self.slices, "seed": self.seed, "source": str(self.source) if self.source else None,
            "tdcf": {k: str(v) if isinstance(v, Path) else v for k, v in self.tdcf.items()} if self.tdcf else None,
        }

    def tdcf_weights(self) -> dict[str, Any] | None:
        """The t-DCF's (C0, C1, C2) with where they came from, or None when the protocol gives no ASV side.

        Precomputed weights are taken as given; an ASV score file is read now (DataMissing when absent) and
        turned into weights by `unmask.metrics.tdcf_weights` at the ASV's EER threshold, so the report needs
        neither the file nor the dataset.
        """
        if not self.tdcf:
            return None
        if "asv_scores" not in self.tdcf:
            return {"c0": self.tdcf["c0"], "c1": self.tdcf["c1"], "c2": self.tdcf["c2"],
                    "source": "precomputed C0/C1/C2 from the protocol"}
        from ..metrics import asv_rates, tdcf_weights

        path, version = self.tdcf["asv_scores"], self.tdcf["version"]
        scores = read_asv_scores(path)
        try:
            rates = asv_rates(scores["target"], scores["nontarget"], scores["spoof"])
            c0, c1, c2 = tdcf_weights(rates, version)
        except ValueError as exc:
            raise ProtocolError(f"{path}: {exc}") from None
        return {"c0": c0, "c1": c1, "c2": c2, "version": version,
                "source": f"ASV scores {path.name} ({version} t-DCF)",
                "asv": {"n_target": len(scores["target"]), "n_nontarget": len(scores["nontarget"]),
                        "n_spoof": len(scores["spoof"]), "threshold": rates.threshold, "pfa": rates.pfa,
                        "pmiss": rates.pmiss, "pfa_spoof": rates.pfa_spoof}}


def read_asv_scores(path: Path) -> dict[str, list[float]]:
    """Target / non-target / spoof ASV scores from a text file: each line names its key (target, nontarget
    or spoof, as column 2 of ASVspoof 2019's `ASVspoof2019.LA.asv.eval.gi.trl.scores.txt`) and ends with the
    score; blank lines and lines starting with '#' are skipped. DataMissing when the file is absent."""
    if not path.is_file():
        raise DataMissing(f"ASV score file not found: {path} (the protocol's tdcf.asv_scores). Set UNMASK_DATA "
                          "or edit the protocol.")
    out: dict[str, list[float]] = {"target": [], "nontarget": [], "spoof": []}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        keys = sorted({ASV_KEYS[p.lower()] for p in parts[:-1] if p.lower() in ASV_KEYS})
        try:
            score = float(parts[-1])
        except ValueError:
            score = float("nan")
        if len(keys) != 1 or not np.isfinite(score):
            raise ProtocolError(f"{path}, line {number}: expected one of target/nontarget/spoof and a final "
                                f"score, got {line.strip()!r}")
        out[keys[0]].append(score)
    return out


def select(items: list[Any], n: int | None) -> list[Any]:
    """The first `n` items by SHA-1 of their key, in manifest order: a fixed, label-blind subset.

    Taking the first n rows would often take one class only (manifests are frequently sorted by label).
    """
    if n is None or n >= len(items):
        return list(items)
    ranked = sorted(range(len(items)), key=lambda i: hashlib.sha1(items[i].key().encode()).hexdigest())
    keep = set(ranked[:n])
    return [item for i, item in enumerate(items) if i in keep]


def _read_dataset(ds: DatasetSpec) -> Manifest:
    target = ds.manifest or ds.root
    if target is None or not target.exists():
        raise DataMissing(
            f"dataset not found: {ds.describe()} does not exist. Set UNMASK_DATA to the folder holding the "
            "data (see the protocol's data_root) or edit the protocol."
        )
    if ds.manifest:
        return Manifest.read(ds.manifest)
    return convert(ds.adapter or "", ds.root or Path("."), **ds.options)


def _yaml(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:
        raise ProtocolError('reading protocols needs PyYAML: pip install "unmask[bench]"') from None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read protocol ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ProtocolError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{path}: a protocol must be a YAML mapping")
    return data


def _str_list(data: dict[str, Any], key: str, path: Path, default: list[str]) -> list[str]:
    value = data.get(key, default)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ProtocolError(f"{path}: '{key}' must be a list of names")
    return [str(v).strip() for v in value]


def _path(value: Any, base: Path) -> Path:
    p = Path(expand_vars(str(value))).expanduser()
    return p if p.is_absolute() else (base / p)


def _dataset(data: dict[str, Any], folder: Path, path: Path) -> DatasetSpec:
    base = _path(data["data_root"], folder) if data.get("data_root") else folder
    ds = data.get("dataset")
    if isinstance(ds, str):
        ds = {"manifest": ds}
    if not isinstance(ds, dict) or not (ds.get("manifest") or ds.get("adapter")):
        raise ProtocolError(f"{path}: 'dataset' needs a 'manifest' path, or an 'adapter' and a 'root'")
    if ds.get("manifest"):
        return DatasetSpec(manifest=_path(ds["manifest"], base))
    if not ds.get("root"):
        raise ProtocolError(f"{path}: dataset adapter {ds['adapter']!r} needs a 'root' folder")
    options = {str(k): str(v) for k, v in (ds.get("options") or {}).items()}
    return DatasetSpec(adapter=str(ds["adapter"]), root=_path(ds["root"], base), options=options)


def _group_split(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    spec = data.get("group_split")
    if spec is None:
        return None
    if not isinstance(spec, dict) or set(spec) - {"test_fraction", "seed"}:
        raise ProtocolError(f"{path}: 'group_split' takes a mapping with 'test_fraction' and 'seed'")
    return {"test_fraction": float(spec.get("test_fraction", 0.3)), "seed": int(spec.get("seed", 0))}


def _tdcf(data: dict[str, Any], folder: Path, path: Path) -> dict[str, Any] | None:
    """The `tdcf` block: {c0, c1, c2} (organisers' precomputed weights) or {asv_scores: PATH, version}."""
    spec = data.get("tdcf")
    if spec is None:
        return None
    weights = {"c0", "c1", "c2"}
    if not isinstance(spec, dict) or not spec:
        raise ProtocolError(f"{path}: 'tdcf' takes a mapping: {{c0, c1, c2}} or {{asv_scores: PATH, version}}")
    keys = set(spec)
    if keys & weights and keys & {"asv_scores", "version"}:
        raise ProtocolError(f"{path}: 'tdcf' takes either c0/c1/c2 or asv_scores, not both")
    if keys & weights:
        if keys != weights:
            raise ProtocolError(f"{path}: 'tdcf' needs all of c0, c1 and c2 (got {', '.join(sorted(keys))})")
        try:
            c = {k: float(spec[k]) for k in sorted(weights)}
        except (TypeError, ValueError):
            raise ProtocolError(f"{path}: 'tdcf' weights c0, c1, c2 must be numbers") from None
        if not all(np.isfinite(v) and v >= 0 for v in c.values()) or c["c0"] + min(c["c1"], c["c2"]) <= 0:
            raise ProtocolError(f"{path}: 'tdcf' weights must be finite and >= 0 with c0 + min(c1, c2) > 0, "
                                f"got {c}")
        return c
    if not spec.get("asv_scores") or keys - {"asv_scores", "version"}:
        raise ProtocolError(f"{path}: 'tdcf' takes c0, c1, c2 or asv_scores (+ version); got "
                            f"{', '.join(sorted(map(str, keys)))}")
    version = str(spec.get("version", "2021"))
    if version not in TDCF_VERSIONS:
        raise ProtocolError(f"{path}: tdcf version must be one of {', '.join(TDCF_VERSIONS)}, got {version!r}")
    base = _path(data["data_root"], folder) if data.get("data_root") else folder
    return {"asv_scores": _path(spec["asv_scores"], base), "version": version}


def _checked(proto: Protocol, path: Path) -> Protocol:
    from ..perturb import parse

    if not proto.detectors:
        raise ProtocolError(f"{path}: list at least one detector under 'detectors'")
    unknown = [m for m in proto.metrics if m not in METRIC_FAMILIES]
    if unknown:
        raise ProtocolError(f"{path}: unknown metric family {unknown[0]!r}; use {', '.join(METRIC_FAMILIES)}")
    for spec in proto.perturbations:
        if spec.lower() != ORIGINAL:
            try:
                parse(spec)
            except ValueError as exc:
                raise ProtocolError(f"{path}: perturbation {spec!r}: {exc}") from None
    if not 0.0 <= proto.threshold <= 1.0:
        raise ProtocolError(f"{path}: threshold must lie in [0, 1], got {proto.threshold}")
    return proto


def load_protocol(path: str | os.PathLike[str]) -> Protocol:
    """Read and validate a protocol YAML file (see docs/bench.md for the fields)."""
    path = Path(path)
    data = _yaml(path)
    folder = path.resolve().parent
    try:
        limit = data.get("limit")
        proto = Protocol(
            name=str(data.get("name") or path.stem),
            dataset=_dataset(data, folder, path),
            detectors=_str_list(data, "detectors", path, []),
            perturbations=[ORIGINAL if p.lower() == ORIGINAL else p
                           for p in _str_list(data, "perturbations", path, [ORIGINAL])],
            metrics=_str_list(data, "metrics", path, list(DEFAULT_METRICS)),
            threshold=float(data.get("threshold", 0.5)),
            slices=_str_list(data, "slices", path, []),
            split=str(data["split"]) if data.get("split") else None,
            group_split=_group_split(data, path),
            limit=int(limit) if limit is not None else None,
            seed=int(data.get("seed", 0)),
            source=path.resolve(),
            tdcf=_tdcf(data, folder, path),
        )
    except (TypeError, ValueError) as exc:
        raise ProtocolError(f"{path}: {exc}") from None
    return _checked(proto, path)

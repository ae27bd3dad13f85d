"""Audio and audio-visual layouts: ASVspoof 2019 LA protocols, LAV-DF and AV-Deepfake1M metadata JSON."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..manifest import Item, Manifest, ManifestError
from ._util import read_json, rel, split_name
from .registry import adapter

_ATTACK = re.compile(r"^A\d{2}$")
_PROTOCOL_SPLIT = re.compile(r"\.cm\.(train|dev|eval)\b", re.IGNORECASE)


def _asv_line(line: str) -> tuple[str, str, str, str | None] | None:
    """(speaker, utterance, key, attack) from a CM protocol line: 'LA_0079 LA_T_1138215 - - bonafide' or
    '... - A01 spoof'. The key and attack id are found by value, so longer lines (2021 eval
    keys) parse too."""
    parts = line.split()
    key = next((p for p in parts if p in ("bonafide", "spoof")), None)
    if len(parts) < 2 or key is None:
        return None
    attack = next((p for p in parts[2:] if _ATTACK.match(p)), None)
    return parts[0], parts[1], key, attack


def _asv_audio(root: Path, split: str, utt: str) -> Path:
    for folder in (
        root / f"ASVspoof2019_LA_{split}" / "flac",
        root / f"ASVspoof2019_LA_{split}",
        root / "flac",
    ):
        if (folder / f"{utt}.flac").exists():
            return folder / f"{utt}.flac"
    return root / f"ASVspoof2019_LA_{split}" / "flac" / f"{utt}.flac"


@adapter(
    "asvspoof2019",
    "audio",
    "ASVspoof 2019 LA: ASVspoof2019_LA_cm_protocols/*.cm.{train,dev,eval}.*.txt "
    "+ ASVspoof2019_LA_<split>/flac/",
    "ASVspoof 2019 (Wang et al. 2020) LA release, CM protocol files",
)
def asvspoof2019(root: Path) -> Manifest:
    """bonafide -> real, spoof -> fake with the attack id (A01-A19) as generator; group = speaker (the LA
    speakers of train and dev/eval are disjoint, so a shared speaker across splits is a leak)."""
    protocols = sorted(p for p in root.rglob("*.txt") if _PROTOCOL_SPLIT.search(p.name))
    if not protocols:
        raise ManifestError(
            f"{root}: no CM protocol file (ASVspoof2019.LA.cm.<split>.*.txt) under this folder"
        )
    items, bad = [], 0
    for protocol in protocols:
        split = _PROTOCOL_SPLIT.search(protocol.name).group(1).lower()
        for line in protocol.read_text(encoding="utf-8").splitlines():
            parsed = _asv_line(line)
            if parsed is None:
                bad += bool(line.strip())
                continue
            speaker, utt, key, attack = parsed
            attrs: dict[str, Any] = {"speaker": speaker}
            if key == "spoof":
                attrs["generator"] = attack or "unknown"
            items.append(
                Item(
                    path=rel(_asv_audio(root, split, utt), root),
                    label="real" if key == "bonafide" else "fake",
                    label_raw=key,
                    group=speaker,
                    split=split,
                    attrs=attrs,
                )
            )
    return Manifest(items, root, [f"{bad} protocol line(s) could not be parsed"] if bad else [])


def _segments(value: Any) -> list[list[float]]:
    return [[float(s), float(e)] for s, e in (value or [])]


def _metadata_list(path: Path) -> list[dict]:
    data = read_json(path)
    if not isinstance(data, list):
        raise ManifestError(f"{path}: expected a JSON list of video entries")
    return data


@adapter(
    "lavdf",
    "video",
    "LAV-DF: metadata.json (or metadata.min.json) list of {file, fake_periods, "
    "modify_video, modify_audio, split, original}",
    "ControlNet/LAV-DF (Cai et al. 2022) release",
)
def lavdf(root: Path) -> Manifest:
    """fake_periods (seconds) -> segments; fake iff it has one; group = the original video (itself when real);
    split train/dev/test as given."""
    meta = (
        root
        if root.is_file()
        else next((root / n for n in ("metadata.json", "metadata.min.json") if (root / n).is_file()), None)
    )
    if meta is None:
        raise ManifestError(f"{root}: no metadata.json or metadata.min.json (LAV-DF layout)")
    items = []
    for entry in _metadata_list(meta):
        segments = _segments(entry.get("fake_periods"))
        original = entry.get("original") or entry["file"]
        attrs = {k: entry[k] for k in ("modify_video", "modify_audio", "duration") if k in entry}
        items.append(
            Item(
                path=entry["file"],
                label="fake" if segments else "real",
                segments=segments or None,
                group=Path(original).with_suffix("").as_posix(),
                split=entry.get("split"),
                attrs=attrs,
            )
        )
    return Manifest(items, meta.parent)


@adapter(
    "avdeepfake1m",
    "video",
    "AV-Deepfake1M: <split>_metadata.json lists {file, fake_segments, "
    "modify_type, audio_model, original}; videos under <split>/",
    "ControlNet/AV-Deepfake1M (Cai et al. 2024)",
)
def avdeepfake1m(root: Path) -> Manifest:
    """fake_segments -> segments; modify_type (real, visual_modified, audio_modified, both_modified) kept as
    label_raw and attrs['manipulation']; audio_model as generator for fakes; group = the original video."""
    metas = sorted(root.glob("*_metadata.json"))
    if not metas:
        raise ManifestError(f"{root}: no <split>_metadata.json (AV-Deepfake1M layout)")
    items = []
    for meta in metas:
        split = meta.name.removesuffix("_metadata.json")
        for entry in _metadata_list(meta):
            segments = _segments(entry.get("fake_segments"))
            kind = str(entry.get("modify_type", "real" if not segments else "modified"))
            attrs: dict[str, Any] = {"manipulation": kind}
            for key in ("visual_fake_segments", "audio_fake_segments"):
                if entry.get(key):
                    attrs[key] = _segments(entry[key])
            if kind != "real" and entry.get("audio_model"):
                attrs["generator"] = entry["audio_model"]
            original = entry.get("original") or entry["file"]
            items.append(
                Item(
                    path=f"{split}/{entry['file']}",
                    label="real" if kind == "real" else "fake",
                    label_raw=kind,
                    segments=segments or None,
                    group=Path(original).with_suffix("").as_posix(),
                    split=split_name(split) or split,
                    attrs=attrs,
                )
            )
    return Manifest(items, root)

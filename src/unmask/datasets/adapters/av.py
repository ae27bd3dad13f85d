"""Audio and audio-visual layouts: ASVspoof 2019 LA protocols, ASVspoof 2021 LA/DF keys, WaveFake folders,
In-the-Wild meta.csv, PartialSpoof protocols with segment labels, LAV-DF and AV-Deepfake1M metadata JSON."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ..manifest import Item, Manifest, ManifestError
from ._util import AUDIO_EXTS, files, options_list, read_csv, read_json, rel, split_name
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


def _asv_item(path: str, key: str, speaker: str, split: str, attrs: dict[str, Any],
              segments: list[list[float]] | None = None) -> Item:
    """An item of an ASVspoof-style key line (also PartialSpoof's): bonafide -> real, spoof -> fake, group =
    speaker (a speaker on both sides of a split is a leak)."""
    return Item(path=path, label="real" if key == "bonafide" else "fake", label_raw=key, segments=segments,
                group=speaker, split=split, attrs=attrs)


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
            items.append(_asv_item(rel(_asv_audio(root, split, utt), root), key, speaker, split, attrs))
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


# --- ASVspoof 2021 ------------------------------------------------------------------------------------------

_KEY_GLOBS = (
    "keys/*/CM/trial_metadata.txt",  # <track>-keys-full unpacked into ROOT
    "*/keys/*/CM/trial_metadata.txt",  # ROOT/LA-keys-full/keys/LA/CM/
    "keys/CM/trial_metadata.txt",  # the stage-1 key packages had no track folder
    "*/keys/CM/trial_metadata.txt",
)


def _flac_folders(root: Path, track: str) -> list[Path]:
    """Where a 2021 track's audio lies: ASVspoof2021_<track>_eval/flac, or (DF, shipped in four parts) each
    ASVspoof2021_DF_eval_part0N/ASVspoof2021_DF_eval/flac."""
    name = f"ASVspoof2021_{track}_eval"
    found = [root / name / "flac", *sorted(root.glob(f"*/{name}/flac"))]
    return [f for f in found if f.is_dir()] or [root / name / "flac"]


def _in_first(folders: list[Path], name: str) -> Path:
    """`name` in the first folder that holds it (the first folder when none does: data check reports it)."""
    if len(folders) > 1:
        for folder in folders:
            if (folder / name).exists():
                return folder / name
    return folders[0] / name


@adapter(
    "asvspoof2021",
    "audio",
    "ASVspoof 2021 LA and DF eval: keys/<LA|DF>/CM/trial_metadata.txt + ASVspoof2021_<LA|DF>_eval/flac/",
    "ASVspoof 2021 (Yamagishi et al. 2021; Liu et al. 2023) eval data and full keys, asvspoof.org",
)
def asvspoof2021(root: Path, *, track: str = "LA,DF") -> Manifest:
    """Key lines 'SPEAKER UTT CODEC TRANSMISSION|SOURCE ATTACK KEY TRIM PHASE [VOCODER ...]': LA has the
    transmission channel in column 4, DF the source corpus (asvspoof, vcc2018, vcc2020) and the vocoder type
    in column 9. bonafide -> real, spoof -> fake with the attack (A07-A19, or a VCC team for DF) as generator;
    group = speaker; split = eval (2021 released evaluation data only; the challenge phase, progress / eval /
    hidden_track, is attrs['phase']). The track is read from the utterance id (LA_E_..., DF_E_...)."""
    wanted = {t.upper() for t in options_list(track)}
    if not wanted or wanted - {"LA", "DF"}:
        raise ManifestError(f"asvspoof2021: track must be LA, DF or both, not {track!r}")
    keys = sorted({p for pattern in _KEY_GLOBS for p in root.glob(pattern)})
    if not keys:
        raise ManifestError(
            f"{root}: no ASVspoof 2021 key file (keys/<LA|DF>/CM/trial_metadata.txt) under this folder"
        )
    folders = {t: _flac_folders(root, t) for t in wanted}
    items: list[Item] = []
    seen: set[str] = set()
    bad = other = repeated = 0
    for key_file in keys:
        for line in key_file.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) < 8 or parts[5] not in ("bonafide", "spoof"):
                bad += bool(line.strip())
                continue
            speaker, utt, codec, channel, attack, key, trim, phase = parts[:8]
            kind = utt.split("_", 1)[0].upper()
            if kind not in wanted:
                other += 1
                continue
            if utt in seen:
                repeated += 1
                continue
            seen.add(utt)
            attrs: dict[str, Any] = {"speaker": speaker, "track": kind, "codec": codec}
            attrs["transmission" if kind == "LA" else "source"] = channel
            attrs.update(trim=trim, phase=phase)
            if kind == "DF" and len(parts) > 8 and parts[8] != "-":
                attrs["vocoder"] = parts[8]
            if key == "spoof":
                attrs["generator"] = attack if attack not in ("-", "spoof") else "unknown"
            items.append(_asv_item(rel(_in_first(folders[kind], f"{utt}.flac"), root), key, speaker, "eval", attrs))
    notes = [f"{bad} key line(s) could not be parsed"] if bad else []
    if other:
        notes.append(f"skipped {other} line(s) of another track (not {', '.join(sorted(wanted))})")
    if repeated:
        notes.append(f"skipped {repeated} utterance(s) listed by more than one key file")
    return Manifest(items, root, notes)


# --- WaveFake -----------------------------------------------------------------------------------------------

_WAVEFAKE_VOCODED = re.compile(r"^(ljspeech|jsut)_(\w+)$")
_WAVEFAKE_TTS = re.compile(r"^common_voices_prompts_from_(\w+)_(ljspeech|jsut)$")
_WAVEFAKE_REAL = {"ljspeech": "LJSpeech-1.1/wavs", "jsut": "jsut_ver1.1/basic5000/wav"}


def _wavefake_folder(name: str) -> tuple[str, str, str] | None:
    """(corpus, generator, kind) of a WaveFake folder name, None for another folder. 'ljspeech_hifiGAN' ->
    (ljspeech, hifiGAN, vocoder); 'common_voices_prompts_from_conformer_fastspeech2_pwg_ljspeech' ->
    (ljspeech, conformer_fastspeech2_pwg, tts); '<corpus>_real' (a common re-arrangement) -> real."""
    tts = _WAVEFAKE_TTS.match(name)
    if tts:
        return tts.group(2), tts.group(1), "tts"
    vocoded = _WAVEFAKE_VOCODED.match(name)
    if vocoded:
        kind = "real" if vocoded.group(2).lower() == "real" else "vocoder"
        return vocoded.group(1), vocoded.group(2), kind
    return None


@adapter(
    "wavefake",
    "audio",
    "WaveFake: <corpus>_<vocoder>/*.wav (ljspeech_melgan, jsut_parallel_wavegan, ...), in ROOT or one folder "
    "down (generated_audio/), real audio from LJSpeech-1.1/wavs/ and jsut_ver1.1/basic5000/wav/",
    "RUB-SysSec/WaveFake (Frank & Schönherr 2021), Zenodo 5642694; LJSpeech 1.1, JSUT 1.1",
)
def wavefake(root: Path) -> Manifest:
    """Each '<corpus>_<vocoder>' folder is fake with generator = the folder name less the corpus prefix;
    the real corpora, where present, are real. group = corpus (ljspeech, jsut): the fakes are vocoder copies
    of the real utterances (LJ001-0001_gen.wav re-synthesises LJ001-0001.wav) and each corpus is one speaker,
    so a corpus must stay in one fold; attrs['utterance'] names the utterance for a finer check."""
    parents = [root, *(d for d in sorted(root.iterdir()) if d.is_dir() and _wavefake_folder(d.name) is None)]
    folders: list[tuple[Path, str, str, str]] = []
    for parent in parents:
        for child in sorted(parent.iterdir()):
            found = _wavefake_folder(child.name) if child.is_dir() else None
            if found:
                folders.append((child, *found))
        for corpus, sub in _WAVEFAKE_REAL.items():
            if (parent / sub).is_dir():
                folders.append((parent / sub, corpus, "", "real"))
    if not any(kind != "real" for *_, kind in folders):
        raise ManifestError(
            f"{root}: no WaveFake folder (<ljspeech|jsut>_<vocoder>/, e.g. ljspeech_melgan/) here or one "
            "folder down"
        )
    items = []
    for folder, corpus, generator, kind in folders:
        for path in files(folder, AUDIO_EXTS):
            attrs: dict[str, Any] = {"corpus": corpus, "utterance": path.stem.removesuffix("_gen")}
            if kind != "real":
                attrs.update(generator=generator, manipulation=kind)
            items.append(
                Item(
                    path=rel(path, root),
                    label="real" if kind == "real" else "fake",
                    label_raw=kind,
                    group=corpus,
                    attrs=attrs,
                )
            )
    real = {i.attrs["corpus"] for i in items if i.label == "real"}
    fake = {i.attrs["corpus"] for i in items if i.label == "fake"}
    notes = [
        f"no real {c} audio ({_WAVEFAKE_REAL[c]}/ not found): its fakes have no real counterpart"
        for c in sorted(fake - real)
    ]
    return Manifest(items, root, notes)


# --- In-the-Wild --------------------------------------------------------------------------------------------

_ITW_LABELS = {"spoof": "fake", "bona-fide": "real", "bonafide": "real", "bona fide": "real"}


@adapter(
    "in_the_wild",
    "audio",
    "In-the-Wild: release_in_the_wild/meta.csv (file,speaker,label; label spoof | bona-fide) + the wav files",
    "Müller et al. 2022, 'Does Audio Deepfake Detection Generalize?', deepfake-total.com/in_the_wild",
)
def in_the_wild(root: Path) -> Manifest:
    """spoof -> fake, bona-fide -> real (label_raw keeps the word); group = speaker (58 public figures, each
    with real and fake clips: a speaker split is the only leak-free one). No generator is given."""
    if root.is_file():
        meta = root
    else:
        meta = next(
            (p for p in (root / "meta.csv", root / "release_in_the_wild" / "meta.csv") if p.is_file()), None
        )
    if meta is None:
        raise ManifestError(f"{root}: no meta.csv (In-the-Wild layout: release_in_the_wild/meta.csv)")
    rows = read_csv(meta)
    missing = {"file", "speaker", "label"} - set(rows[0] if rows else ())
    if missing:
        raise ManifestError(f"{meta}: not the In-the-Wild meta.csv (no column {', '.join(sorted(missing))})")
    items, skipped = [], 0
    for row in rows:
        label = _ITW_LABELS.get(row["label"].strip().lower())
        if label is None:
            skipped += 1
            continue
        speaker = row["speaker"].strip()
        items.append(
            Item(
                path=row["file"],
                label=label,
                label_raw=row["label"],
                group=speaker,
                attrs={"speaker": speaker},
            )
        )
    notes = [f"skipped {skipped} row(s) labelled neither spoof nor bona-fide"] if skipped else []
    return Manifest(items, meta.parent, notes)


# --- PartialSpoof -------------------------------------------------------------------------------------------

_SEGLAB_DICT = re.compile(r"_seglab_")


def _spoof_spans(labels: Any, step: float) -> tuple[list[list[float]], float]:
    """Merged spoofed spans (seconds) of a PartialSpoof label vector, and the spoofed fraction. The vector
    holds one value per `step` seconds, 1 = bona fide and 0 = spoof (their convention); values may be the
    strings '0'/'1'."""
    values = np.asarray(labels)
    if values.dtype.kind in "USO":
        values = values.astype(str).astype(float)
    spoof = values.reshape(-1) < 0.5
    spans, start = [], None
    for i, s in enumerate([*spoof.tolist(), False]):
        if s and start is None:
            start = i
        elif not s and start is not None:
            spans.append([round(start * step, 6), round(i * step, 6)])
            start = None
    return spans, float(spoof.mean()) if spoof.size else 0.0


def _load_npy(path: Path) -> Any:
    try:
        data = np.load(path, allow_pickle=True)
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path}: cannot read the segment labels ({exc})") from None
    return data.item() if data.dtype == object and data.shape == () else data


def _partialspoof_labels(base: Path, split: str, resolution: str) -> dict[str, Any]:
    """{utterance: label vector} for a split: the '<split>_seglab_<res>.npy' dict, else (lazily) one
    '<utterance>.npy' per utterance under a segment_labels folder."""
    folders = [d for d in sorted(base.glob("segment_labels*")) if d.is_dir()]
    name = f"{split}_seglab_{resolution}.npy"
    for folder in folders:
        for found in (folder / name, *sorted(folder.glob(f"*/{name}"))):
            if found.is_file():
                data = _load_npy(found)
                if not isinstance(data, dict):
                    raise ManifestError(f"{found}: expected a dict utterance -> label vector")
                return data
    return {p.stem: p for f in folders for p in f.rglob("*.npy") if not _SEGLAB_DICT.search(p.name)}


@adapter(
    "partialspoof",
    "audio",
    "PartialSpoof: protocols/PartialSpoof_LA_cm_protocols/PartialSpoof.LA.cm.<split>.trl.txt + "
    "<split>/con_wav/*.wav + segment_labels/<split>_seglab_<res>.npy (in ROOT or ROOT/database)",
    "nii-yamagishilab/PartialSpoof (Zhang et al. 2021, 2023), database v1.2 on Zenodo 5766198",
)
def partialspoof(root: Path, *, resolution: str = "0.16") -> Manifest:
    """Protocol lines in the ASVspoof format ('LA_0079 CON_T_0000029 - CON spoof'): bonafide -> real, spoof
    -> fake; group = speaker (the ASVspoof 2019 LA speakers, disjoint between splits). Spoofed spans come from
    the segment labels at `resolution` seconds (0.01 ... 0.64 in v1.2; the vectors hold 1 for a bona fide and
    0 for a spoofed segment, the convention of the release's 03multireso/model.py): runs of 0 -> `segments`
    in seconds, so a span is only as exact as the resolution (that model.py reduces finer labels by their
    minimum: a coarse segment with any spoofed audio is spoofed), and the last span may run up to one segment
    past the end of the file. The protocol's system column (CON) is the
    generator; the segment labels are a pickled numpy dict, loaded with allow_pickle: read only a release
    you trust."""
    try:
        step = float(resolution)
    except ValueError:
        raise ManifestError(
            f"partialspoof: resolution must be a number of seconds, not {resolution!r}"
        ) from None
    base = root / "database" if (root / "database").is_dir() else root
    protocols = sorted(
        p
        for pattern in ("protocols/*/*.txt", "protocols/*.txt", "*.txt")
        for p in base.glob(pattern)
        if _PROTOCOL_SPLIT.search(p.name) and "partialspoof" in p.name.lower()
    )
    if not protocols:
        raise ManifestError(
            f"{root}: no PartialSpoof protocol (protocols/PartialSpoof_LA_cm_protocols/"
            "PartialSpoof.LA.cm.<split>.trl.txt) here or in database/"
        )
    items, bad, unlabelled, disagree = [], 0, 0, 0
    for protocol in protocols:
        split = _PROTOCOL_SPLIT.search(protocol.name).group(1).lower()
        labels = _partialspoof_labels(base, split, resolution)
        for line in protocol.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) < 5 or parts[-1] not in ("bonafide", "spoof"):
                bad += bool(line.strip())
                continue
            speaker, utt, key = parts[0], parts[1], parts[-1]
            attrs: dict[str, Any] = {"speaker": speaker}
            if key == "spoof":
                attrs["generator"] = parts[3] if parts[3] != "-" else "unknown"
            segments = None
            vector = labels.get(utt)
            if vector is None:
                unlabelled += 1
            else:
                if isinstance(vector, Path):
                    vector = _load_npy(vector)
                segments, fraction = _spoof_spans(vector, step)
                attrs["spoof_fraction"] = round(fraction, 4)
                disagree += bool(segments) != (key == "spoof")
            items.append(_asv_item(rel(base / split / "con_wav" / f"{utt}.wav", root), key, speaker, split, attrs,
                                   segments or None))
    notes = [f"{bad} protocol line(s) could not be parsed"] if bad else []
    if unlabelled:
        notes.append(f"{unlabelled} utterance(s) have no segment labels at resolution {resolution} s")
    if disagree:
        notes.append(f"{disagree} utterance(s) whose segment labels disagree with the protocol key")
    return Manifest(items, root, notes)

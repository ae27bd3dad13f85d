"""Training of the speech detectors' array models (`modality: audio` configs), run by `unmask train`.

Each `data.train` entry is a manifest spec (adapter/root, group_split, labels, limit: as the image sources
take them). Every clip is decoded once to 16 kHz mono (its first `max_s` seconds), and once more for each
perturbation chain in `augment.chains` (unmask.perturb: codecs, telephone band, noise), seeded by the clip's
position so a run repeats exactly. The architecture's fitter (ARCHS) turns the clips into a frame model;
its calibration comes from out-of-fold scores of a grouped split of the training clips, never from the test
clips, which are scored once at the end (EER by the ASVspoof recipe and AUC, docs/metrics.md) for the model card.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .sources import Context
from .sources.manifest import read_items

MAX_S = 30.0


@dataclass
class Clip:
    """One decoded training clip: 16 kHz mono samples, label (1 = synthetic), group (must not cross folds)."""

    audio: np.ndarray
    label: int
    group: str
    name: str
    chain: str = "none"
    memo: dict = field(default_factory=dict, repr=False)  # per-clip features a fitter computed once


def decode(data: bytes) -> np.ndarray:
    from ..audio.signal import load as load_audio
    from ..media import load

    return load_audio(load(data), MAX_S)


def read_clips(specs: list[dict[str, Any]], ctx: Context, chains: list[str], echo: Callable[[str], None]
               ) -> list[Clip]:
    """Every selected file under every chain ("none" = as it is); unreadable files are skipped and counted."""
    from ..perturb import parse

    clips, bad = [], 0
    for spec in specs:
        items, manifest = read_items(spec, ctx)
        for i, item in enumerate(items):
            path = manifest.resolve(item.path)
            data = path.read_bytes()
            for chain in chains:
                try:
                    raw = data if chain == "none" else parse(chain).apply(data, seed=i)
                    audio = decode(raw)
                except Exception as exc:  # a bad file never stops a run; it is counted and named
                    bad += 1
                    echo(f"skipped {item.path} ({chain}): {exc}")
                    continue
                group = item.group or item.attrs.get("source_repo") or item.path
                clips.append(Clip(audio, int(item.label == "fake"), str(group), str(item.path), chain))
    if bad:
        echo(f"{bad} clip(s) could not be read and were skipped")
    return clips


def fold_of(groups: list[str], folds: int, seed: int) -> np.ndarray:
    from ..datasets.split import fold_of as fold

    return np.array([fold(g, folds, seed) for g in groups])


def _track(model: Any, clip: Clip) -> Any:
    """The detectors' own scoring of the clip (unmask.audio.windows), from the frames the fitter cached in
    `clip.memo` under the model's `feature_key` when there are some."""
    from ..audio.vad import SileroSpeech
    from ..audio.windows import score_track

    cached = clip.memo.get(getattr(model, "feature_key", None))
    return score_track(iter([clip.audio]), model, features=cached, speech=SileroSpeech())


def window_logits(model: Any, clip: Clip) -> np.ndarray:
    """The model's logits of the clip's windows with speech."""
    track = _track(model, clip)
    return track.logits[track.scored]


def clip_scores(model: Any, clips: list[Clip]) -> np.ndarray:
    """Each clip's score as the detector gives it (ScoreTrack.clip_probability; NaN when nothing scored)."""
    return np.array([_track(model, clip).clip_probability() for clip in clips])


def fit_lfcc_gmm(clips: list[Clip], kwargs: dict[str, Any], seed: int, echo: Callable[[str], None]) -> Any:
    """Bona fide and spoof GMMs on the clips' frames with speech, calibrated on out-of-fold window scores."""
    from ..audio.gmm import DiagGmm, LfccGmm
    from ..audio.lfcc import lfcc
    from ..audio.vad import SileroSpeech

    k, per_clip = int(kwargs.get("components", 32)), int(kwargs.get("frames_per_clip", 200))
    iters = int(kwargs.get("max_iter", 30))
    rng = np.random.default_rng(seed)
    frames = []
    for clip in clips:
        f = clip.memo.get("lfcc_speech")  # kept: a benchmark refits on the same clips many times
        if f is None:
            f = lfcc(clip.audio)
            on = SileroSpeech()(clip.audio)[: len(f)]
            f = clip.memo["lfcc_speech"] = f[np.flatnonzero(on)] if on.any() else f
        frames.append(f[rng.permutation(len(f))[:per_clip]])

    def fit(rows: np.ndarray) -> Any:
        bona = np.concatenate([frames[i] for i in rows if clips[i].label == 0])
        spoof = np.concatenate([frames[i] for i in rows if clips[i].label == 1])
        return LfccGmm(DiagGmm.fit(bona, k, seed, iters), DiagGmm.fit(spoof, k, seed, iters))

    return calibrated(fit, clips, int(kwargs.get("calibration_folds", 3)), seed, echo)


def calibrated(fit: Callable[[np.ndarray], Any], clips: list[Clip], folds: int, seed: int,
               echo: Callable[[str], None], one_fold: bool = False,
               logits: Callable[[Any, Clip], np.ndarray] = window_logits) -> Any:
    """fit(all rows) with scale/offset from a logistic fit (balanced classes) of out-of-fold window logits: of
    every group fold, or with `one_fold` of the first fold that holds both classes on both sides (one refit
    instead of `folds`, for costly models). `logits(model, clip)` scores a clip's windows."""
    from sklearn.linear_model import LogisticRegression

    fold = fold_of([c.group for c in clips], folds, seed)
    chosen = list(range(folds))
    if one_fold:
        labels = np.array([c.label for c in clips])
        chosen = [k for k in chosen if len(set(labels[fold == k])) == 2 and len(set(labels[fold != k])) == 2][:1]
        if not chosen:
            raise ValueError(f"no group fold of {folds} holds both classes on both sides; calibration impossible")
    z, y = [], []
    for k in chosen:
        model = fit(np.flatnonzero(fold != k))
        for i in np.flatnonzero(fold == k):
            w = logits(model, clips[i])
            z.append(w)
            y.append(np.full(w.size, clips[i].label))
        echo(f"calibration fold {k + 1}/{folds} done")
    z, y = np.concatenate(z), np.concatenate(y)
    lr = LogisticRegression(class_weight="balanced").fit(z[:, None], y)
    model = fit(np.arange(len(clips)))
    model.scale, model.offset = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    return model


# architecture -> "module:function" of its fitter, fit(clips, kwargs, seed, echo) -> frame model with arrays()
ARCHS = {"lfcc_gmm": "unmask.train.audio:fit_lfcc_gmm", "whisper_probe": "unmask.train.whisper_probe:fit",
         "aasist": "unmask.train.aasist:fit"}


def fitter(arch: str) -> Callable[..., Any]:
    import importlib

    if arch not in ARCHS:
        raise ValueError(f"unknown audio architecture {arch!r}; known: {', '.join(sorted(ARCHS))}")
    module, name = ARCHS[arch].split(":")
    return getattr(importlib.import_module(module), name)


def heldout(model: Any, clips: list[Clip]) -> dict[str, Any]:
    from ..metrics import binary_summary, eer

    s = clip_scores(model, clips)
    y = np.array([c.label for c in clips])
    keep = ~np.isnan(s)
    if len(set(y[keep])) < 2:
        return {"n": int(keep.sum()), "note": "the test clips hold one class only"}
    row = binary_summary(y[keep], s[keep], 0.5)
    return {**row, "eer": float(eer(1 - y[keep], -s[keep], "asvspoof")), "n": int(keep.sum()), "unscored": int((~keep).sum())}


def train(cfg: Any, out: Path, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Fit the config's model, write model.safetensors and card.json into `out`, return the held-out row."""
    from safetensors.numpy import save_file

    fit = fitter(cfg.arch)
    ctx = Context(Path(cfg.folder), cfg.seed, out)
    chains = list(cfg.augment.get("chains", ["none"]))
    t0 = time.time()
    clips = read_clips(cfg.train, ctx, chains, echo)
    echo(f"{len(clips)} training clips ({sum(c.label for c in clips)} synthetic) in {time.time() - t0:.0f} s")
    model = fit(clips, cfg.arch_kwargs, cfg.seed, echo)
    test = heldout(model, read_clips(cfg.test, ctx, ["none"], echo)) if cfg.test else {}
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.arrays(), str(out / "model.safetensors"))
    (out / "card.json").write_text(json.dumps(card(cfg, model, test, len(clips)), indent=2) + "\n")
    return {"heldout": test, "clips": len(clips), "seconds": round(time.time() - t0, 1)}


def card(cfg: Any, model: Any, test: dict[str, Any], n_clips: int) -> dict[str, Any]:
    import os

    import sklearn

    from ..learned.store import FORMAT

    config = {k: v for k, v in cfg.to_dict().items() if k not in ("source", "folder")}
    source = Path(cfg.source or "CONFIG")
    shown = os.path.relpath(source) if source.is_absolute() or source.exists() else str(source)
    return {"format": FORMAT, "name": cfg.name, "arch": cfg.arch, "arch_kwargs": cfg.arch_kwargs,
            "task": "audio-classification", "params": int(sum(v.size for v in model.arrays().values())),
            "trained": {"config": config, "config_file": Path(cfg.source or "").name, "digest": cfg.digest(),
                        "date": time.strftime("%Y-%m-%d"), "sklearn": sklearn.__version__,
                        "command": f"unmask train {shown} --out DIR", "clips": n_clips},
            "heldout": test}

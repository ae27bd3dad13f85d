"""Fitter of the `aasist` speech detector (ARCHS in unmask.train.audio): AASIST (Jung et al., ICASSP 2022;
unmask.audio.aasist) trained end to end on the dev clips, the peer the other speech detectors are measured
against (issue 16, item 6).

Training, as the paper's recipe where our data allow: Adam (lr 1e-4, betas 0.9/0.999, weight decay 1e-4)
with the public configuration's cosine decay to 5e-6 over all steps; cross-entropy weighted so both classes
weigh the same (the paper weights bona fide 0.9 against spoof 0.1 for ASVspoof's 1:9 classes; here the
weights come from the training clips' own counts); batches of `batch_size` (24, as the paper); a fixed number
of `epochs`, the last one kept (no model selection: there is no development set inside a leave-one-source-out
fold). Each epoch every training clip gives one crop of `window_s` seconds (2 s: the detector's window; the
paper's is 4 s), drawn at random on the 10-ms grid among the starts whose window holds enough sound by the
energy VAD (unmask.audio.windows.MIN_ACTIVE, as the detector skips quiet windows), or anywhere when none
does; a clip shorter than a window is repeated up to it. The batch norms' running statistics (used only
at inference) start from the first batch's instead of PyTorch's (0, 1): the front end's band magnitudes have
a variance of ~1e-5, so the default start takes ~100 steps to fade, and a short run would score with a front
end scaled hundreds of times too small; after two epochs (~200 steps) both starts give the same model.
Everything is drawn from `seed` (numpy for the crops and the order, torch for the initialisation and
dropout), so a run on the same device repeats exactly; on a GPU cuDNN is put in deterministic mode for the
fit. The network's parameters are rounded to float16 at the end, so the model in memory is the one its
arrays store.

Calibration (kwarg `calibration`):
- "folds": unmask.train.audio.calibrated, the other fitters' recipe: one fit per group fold (default 3) for
  out-of-fold window logits, then the fit on all clips, i.e. folds + 1 fits (3 clip-sets' worth of training
  for 3 folds);
- "one_fold" (the config's): the same with only the first group fold that holds both classes: a fit without
  it for its out-of-fold window logits, then the fit on all clips (5/3 clip-sets' worth for 3 folds, ~1.8x
  cheaper). The logistic map is fitted on about a third of the windows instead of all of them. Its window
  logits are computed in batches (the same windows as score_track scores, unmask.audio.windows);
- "none": one fit on all clips, scored by the network's own log-odds (scale 1, offset 0; the loss weighs the
  classes equally, so 0 is the balanced boundary): no calibration fit and no calibration windows to score,
  for a reduced-budget run (configs/train/aasist_light_cpu.yaml) where those would cost more than training.

Cost. Per 2-s window on one CPU core (unmask.audio.aasist; benchmarks/aasist_speed.py), full / light:
forward 0.166 / 0.135 s in batches of 8 and 0.180 / 0.145 s one at a time, a training step (forward, backward,
Adam) 0.52 / 0.39 s, with MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 in the environment (~1.8x
slower without). One leave-one-source-out run (benchmarks/speech_cv.py: 15 refits on 37,632 training clips in
all, i.e. ~2,500 per refit with the four chains; at most 25,712 scored windows of 2 s over all clips) with the
config's one_fold calibration costs, for the full size:
- training: 5/3 x 37,632 crops x 0.52 s = ~9.0 CPU-hours per epoch (light: ~6.8 h), so ~270 h for the
  config's 30 epochs (light ~205 h);
- scoring: the calibration folds' windows, ~1/3 of the training windows of each refit, ~120,000 in all,
  batched: ~5.5 h; the held-out clips, 25,712 windows one at a time (score_track): ~1.3 h;
- in all ~275 CPU-hours (light ~210 h); with calibration: folds, 3 x 37,632 crops per epoch (~16 h per epoch)
  and ~360,000 windows scored one at a time for calibration (~18 h): ~505 h.
Not a CPU job: on a GPU (benchmarks/aasist_speed.py --device cuda measures it) the same counts apply.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .audio import Clip, calibrated

DEFAULTS: dict[str, Any] = {"size": "full", "epochs": 30, "batch_size": 24, "lr": 1e-4, "lr_min": 5e-6,
                            "weight_decay": 1e-4, "window_s": 2.0, "calibration": "one_fold",
                            "calibration_folds": 3, "device": "auto"}


def options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The config's kwargs over DEFAULTS; ValueError on an unknown key or calibration."""
    unknown = set(kwargs) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown aasist kwargs {sorted(unknown)}; known: {', '.join(DEFAULTS)}")
    opts = {**DEFAULTS, **kwargs}
    if opts["calibration"] not in ("folds", "one_fold", "none"):
        raise ValueError(f"calibration must be 'folds', 'one_fold' or 'none', got {opts['calibration']!r}")
    return opts


def crop_starts(clip: Clip, n: int) -> np.ndarray:
    """Sample offsets (10-ms grid) where a crop of `n` samples holds enough sound (memoised in clip.memo)."""
    from ..audio.aasist import FRAME
    from ..audio.vad import active
    from ..audio.windows import MIN_ACTIVE

    key = f"aasist_starts_{n}"
    starts = clip.memo.get(key)
    if starts is None:
        x = clip.audio
        if x.size <= n:
            starts = np.zeros(1, np.int64)
        else:
            on = active(x).astype(np.float64)
            width, last = n // FRAME, (x.size - n) // FRAME
            total = np.concatenate([[0.0], np.cumsum(on)])
            i = np.arange(last + 1)
            share = (total[np.minimum(i + width, on.size)] - total[np.minimum(i, on.size)]) / width
            ok = i[share >= MIN_ACTIVE]
            starts = (ok if ok.size else i) * FRAME
        clip.memo[key] = starts
    return starts


def crop(clip: Clip, n: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of `n` samples with sound; a shorter clip repeated up to `n`."""
    starts = crop_starts(clip, n)
    at = int(starts[rng.integers(starts.size)])
    x = np.asarray(clip.audio[at:at + n], np.float32)
    if x.size < n:
        x = np.resize(x, n) if x.size else np.zeros(n, np.float32)
    return x


def _device(name: str) -> Any:
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def train_net(clips: list[Clip], rows: np.ndarray, opts: dict[str, Any], seed: int,
              echo: Callable[[str], None]) -> Any:
    """An AasistModel (uncalibrated) trained on clips[rows] by the recipe in the module docstring."""
    import torch

    from ..audio.aasist import RATE, Aasist, AasistModel, round_to_half

    rows = np.asarray(rows)
    labels = np.array([clips[i].label for i in rows])
    if len(set(labels.tolist())) < 2:
        raise ValueError("AASIST needs training clips of both classes")
    device = _device(opts["device"])
    n = round(float(opts["window_s"]) * RATE)
    epochs, batch = int(opts["epochs"]), int(opts["batch_size"])
    lr, lr_min = float(opts["lr"]), float(opts["lr_min"])
    steps = epochs * math.ceil(len(rows) / batch)
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        net = Aasist(opts["size"]).to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), weight_decay=float(opts["weight_decay"]))
        counts = np.bincount(labels, minlength=2)
        weight = torch.tensor(len(labels) / (2.0 * counts), dtype=torch.float32, device=device)
        loss_of = torch.nn.CrossEntropyLoss(weight=weight)
        norms = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
        step, t0 = 0, time.time()
        for epoch in range(epochs):
            order = rows[rng.permutation(len(rows))]
            losses = []
            for lo in range(0, len(order), batch):
                part = order[lo:lo + batch]
                x = torch.from_numpy(np.stack([crop(clips[i], n, rng) for i in part])).to(device)
                y = torch.tensor([clips[i].label for i in part], dtype=torch.long, device=device)
                for group in opt.param_groups:  # cosine decay from lr to lr_min over every step
                    group["lr"] = lr_min + (lr - lr_min) * 0.5 * (1.0 + math.cos(math.pi * step / steps))
                opt.zero_grad(set_to_none=True)
                for bn in norms:  # running statistics start from the first batch's (see the docstring)
                    bn.momentum = 1.0 if step == 0 else 0.1
                loss = loss_of(net(x), y)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
                step += 1
            echo(f"aasist {opts['size']}: epoch {epoch + 1}/{epochs}, {len(rows)} clips, loss "
                 f"{np.mean(losses):.4f}, {time.time() - t0:.0f} s")
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
    return AasistModel(round_to_half(net).eval(), window_s=float(opts["window_s"]))


class _Windows:
    """A FrameModel that keeps the waveform of every window score_track scores (and scores it 0)."""

    frame_s = 0.01

    def __init__(self, model: Any) -> None:
        self.model, self.waves = model, []

    def features(self, x: np.ndarray) -> np.ndarray:
        return self.model.features(x)

    def logit(self, frames: np.ndarray) -> float:
        self.waves.append(self.model.waveform(frames))
        return 0.0


def window_logits(model: Any, clip: Clip, batch: int = 16) -> np.ndarray:
    """model's calibrated logits of the windows score_track scores in the clip, computed in batches (equal to
    unmask.train.audio.window_logits up to float rounding)."""
    from ..audio.vad import SileroSpeech
    from ..audio.windows import score_track

    keep = _Windows(model)
    score_track(iter([clip.audio]), keep, speech=SileroSpeech())
    out = []
    for lo in range(0, len(keep.waves), batch):
        part = keep.waves[lo:lo + batch]
        same = {w.size for w in part}
        raw = model.raw(np.stack(part)) if len(same) == 1 else np.array([model.raw(w[None])[0] for w in part])
        out.append(model.scale * raw + model.offset)
    return np.concatenate(out) if out else np.zeros(0)


def fit(clips: list[Clip], kwargs: dict[str, Any], seed: int, echo: Callable[[str], None]) -> Any:
    """The calibrated AasistModel of `clips` (kwargs: DEFAULTS)."""
    opts = options(kwargs)
    folds = int(opts["calibration_folds"])

    def fit_rows(rows: np.ndarray) -> Any:
        return train_net(clips, rows, opts, seed, echo)

    if opts["calibration"] == "none":  # the network's own log-odds (scale 1, offset 0): one fit, no scoring
        return _stored(fit_rows(np.arange(len(clips))))
    one_fold = opts["calibration"] == "one_fold"
    return _stored(calibrated(fit_rows, clips, folds, seed, echo, one_fold, window_logits))


def _stored(model: Any) -> Any:
    """The calibration rounded to float32, as AasistModel.arrays stores it (so a round trip is exact)."""
    model.scale, model.offset = float(np.float32(model.scale)), float(np.float32(model.offset))
    return model

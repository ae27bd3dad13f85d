"""Partial spoofs: where in a real recording a spliced synthetic utterance is. Built from the dev clips with
exact boundaries (unmask.audio.splice), scored by a speech detector refitted without the clips' sources.

    python benchmarks/speech_partial.py [--config configs/train/lfcc_gmm.yaml] [--cache runs/speech/clips.pkl]
                                        [--out docs/benchmarks/speech_partial_<detector>.json]

The clean dev clips (benchmarks/speech_cv.py's decoded clips and cache) are split into 4 folds by source (seed 0). For each
fold the config's recipe is refitted on the other folds (all training chains), and every real clip of the
fold of 3 s or more becomes a host: one synthetic utterance of the same fold (its speech part, 1.5-4 s) is
inserted at a random point (seeded), level-matched, with 10 ms fades. The untouched hosts are scored too.
Segments are the detector's own (runs of 2-s windows every 0.5 s at or above 0.5; unmask.detectors.segments).
Reported: segment AP at tIoU 0.5 and mAP over 0.5:0.95 (ActivityNet convention, unmask.metrics.temporal;
each segment ranked by its mean window probability), the spliced clips caught at clip level (the detector's
clip score >= 0.5), hosts with any segment (false alarms on untouched real recordings), and the frame EER
(10-ms frames, each scored by the mean probability of the windows that cover it; ASVspoof EER recipe).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FOLDS = 4
MIN_HOST_S, INSERT_S = 3.0, (1.5, 4.0)


def frame_scores(track, n_frames: int) -> np.ndarray:
    """Mean window probability covering each 10-ms frame (NaN where no scored window does)."""
    total, count = np.zeros(n_frames), np.zeros(n_frames)
    for start, p in zip(track.starts, track.probabilities(), strict=True):
        if np.isnan(p):
            continue
        lo, hi = int(start * 100), min(n_frames, int((start + track.window_s) * 100))
        total[lo:hi] += p
        count[lo:hi] += 1
    with np.errstate(invalid="ignore"):
        return total / count


def detect(model, audio: np.ndarray):
    """(track, the detector's segments, its clip score): the speech detectors' own path
    (unmask.detectors.audio._track.evidence); no segments and a NaN score when no window holds speech."""
    from unmask.audio.vad import SileroSpeech
    from unmask.audio.windows import score_track
    from unmask.detectors.audio._track import evidence

    track = score_track(iter([audio]), model, speech=SileroSpeech())
    if not track.scored.any():
        return track, [], float("nan")
    found = evidence(track, "synthetic speech")
    return track, found.segments, found.score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/train/lfcc_gmm.yaml")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs/speech/clips.pkl")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    os.environ.setdefault("UNMASK_DATA", str(args.data))
    from speech_cv import clips

    from unmask.audio.signal import RATE
    from unmask.audio.splice import speech_span, splice
    from unmask.datasets.split import fold_of
    from unmask.metrics import activitynet_ap, eer, wilson
    from unmask.train.audio import fitter
    from unmask.train.config import load_config

    args.config = args.config.resolve()
    cfg = load_config(args.config)
    every = clips(cfg, args.cache)
    fold = np.array([fold_of(c.group, FOLDS, 0) for c in every])
    rng = np.random.default_rng(0)
    preds, truth, caught, host_alarms, frames_y, frames_s = {}, {}, [], [], [], []
    t0 = time.time()
    for k in range(FOLDS):
        clean = [c for c, f in zip(every, fold, strict=True) if f == k and c.chain == "none"]
        hosts = [c for c in clean if c.label == 0 and c.audio.size >= MIN_HOST_S * RATE]
        inserts = [c for c in clean if c.label == 1]
        if not hosts or not inserts:
            print(f"fold {k}: {len(hosts)} hosts, {len(inserts)} synthetic clips: skipped", file=sys.stderr)
            continue
        model = fitter(cfg.arch)([c for c, f in zip(every, fold, strict=True) if f != k], cfg.arch_kwargs,
                                 cfg.seed, lambda s: None)
        for h in hosts:
            piece = speech_span(inserts[rng.integers(len(inserts))].audio,
                                int(rng.uniform(*INSERT_S) * RATE))
            audio, (a, b) = splice(h.audio, piece, int(rng.uniform(0.5, h.audio.size / RATE - 0.5) * RATE))
            track, found, score = detect(model, audio)
            key = f"{h.name}+spliced"
            preds[key] = np.array([[s.score, s.start_s, s.end_s] for s in found]).reshape(-1, 3)
            truth[key] = np.array([[a / RATE, b / RATE]])
            caught.append(score >= 0.5)
            n = int(audio.size / RATE * 100)
            y = np.zeros(n)
            y[int(a / RATE * 100):int(b / RATE * 100)] = 1
            frames_y.append(y)
            frames_s.append(frame_scores(track, n))
            _, host_found, _ = detect(model, h.audio)
            preds[h.name], truth[h.name] = (np.array([[s.score, s.start_s, s.end_s] for s in host_found])
                                            .reshape(-1, 3), np.zeros((0, 2)))
            host_alarms.append(bool(host_found))
        print(f"fold {k}: {len(hosts)} spliced clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    ys, ss = np.concatenate(frames_y), np.concatenate(frames_s)
    keep = ~np.isnan(ss)
    ap50 = activitynet_ap(preds, truth, (0.5,))[0.5]
    result = {"config": str(args.config.relative_to(ROOT)), "detector": cfg.name, "spliced": len(caught),
              "segment_ap_at_0.5": ap50,
              "segment_map_0.5_0.95": float(np.mean(list(activitynet_ap(preds, truth).values()))),
              "clip_caught": {"k": int(sum(caught)), "n": len(caught), "ci": wilson(int(sum(caught)), len(caught))},
              "hosts_with_a_segment": {"k": int(sum(host_alarms)), "n": len(host_alarms),
                                       "ci": wilson(int(sum(host_alarms)), len(host_alarms))},
              "frame_eer": float(eer(1 - ys[keep], -ss[keep], "asvspoof")), "seconds": round(time.time() - t0)}
    out = args.out or ROOT / f"docs/benchmarks/speech_partial_{cfg.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

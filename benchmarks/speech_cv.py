"""Speech detectors on the dev clips, leave-one-source-out: each source (a demo page or source repository) is
held out in turn, the detector's recipe is refitted on all the others, and the held-out clips are scored.

    python benchmarks/speech_cv.py [--config configs/train/lfcc_gmm.yaml] [--data DIR]
                                   [--out docs/benchmarks/speech_cv.json] [--cache runs/speech/clips.pkl]

The recipe is the config's own (its fitter, settings and training chains; unmask.train.audio), so each fold's
model is made exactly as the shipped one but without the held-out source. The held-out clips are scored as
they are and after each codec chain of the config (MP3 64 kbps, telephone band, Opus 24 kbps): the same
perturbations the model trains on, on clips it never saw. Scores are the detector's (ScoreTrack.clip_probability:
the mean window probability, or a flagged 2-s stretch's mean when higher; 2-s windows every 0.5 s).
Reported per chain, pooled over all held-out clips:
EER (ASVspoof recipe, docs/metrics.md) with a 95% stratified-bootstrap interval, AUC, and at the threshold
0.5 fixed in advance the share of real clips called synthetic (false alarms) and of synthetic clips caught,
with Wilson intervals; and per source the same rates on clean clips.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def clips(cfg, cache: Path) -> list:
    """The config's decoded training clips under each of its chains, kept in `cache` with what they were read
    from (data specs and chains), so that a config reading other data or chains decodes afresh."""
    from unmask.train.audio import read_clips
    from unmask.train.sources import Context

    chains = list(cfg.augment.get("chains", ["none"]))
    key = json.dumps({"train": cfg.train, "chains": chains}, sort_keys=True, default=str)
    if cache.is_file():
        kept = pickle.loads(cache.read_bytes())
        if isinstance(kept, dict) and kept.get("key") == key:
            return kept["clips"]
    found = read_clips(cfg.train, Context(Path(cfg.folder), cfg.seed), chains, lambda s: print(s, file=sys.stderr))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps({"key": key, "clips": found}))
    return found


def eer(y: np.ndarray, s: np.ndarray) -> float:
    from unmask.metrics import eer as eer_of

    return float(eer_of(1 - y, -s, "asvspoof"))


def rates(y: np.ndarray, s: np.ndarray) -> dict:
    from unmask.metrics import wilson

    out = {}
    for name, cls, called in (("false_alarms", 0, s >= 0.5), ("caught", 1, s >= 0.5)):
        k, n = int(called[y == cls].sum()), int((y == cls).sum())
        out[name] = {"k": k, "n": n, "rate": k / n if n else None, "ci": wilson(k, n) if n else None}
    return out


def pooled(y: np.ndarray, s: np.ndarray) -> dict:
    from unmask.metrics import bootstrap_interval, roc_auc

    keep = ~np.isnan(s)
    y, s = y[keep], s[keep]
    return {"n": int(y.size), "n_fake": int(y.sum()), "unscored": int((~keep).sum()), "eer": eer(y, s),
            "eer_ci": bootstrap_interval(y, s, eer, n=1000), "auc": float(roc_auc(y, s)), **rates(y, s)}


def _pct(row: dict | None) -> str:
    if not row or row.get("rate") is None:
        return "–"
    lo, hi = row["ci"]
    return f"{100 * row['rate']:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}] ({row['k']}/{row['n']})"


def markdown() -> str:
    """docs/benchmarks/speech.md's tables from every docs/benchmarks/speech_cv_*.json and speech_partial_*.json."""
    lines = ["| detector | chain | clips (synthetic) | EER % [95% CI] | AUC | real clips called synthetic at 0.5 "
             "| synthetic clips caught at 0.5 |", "|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "docs/benchmarks").glob("speech_cv_*.json")):
        r = json.loads(path.read_text())
        for chain, row in r["per_chain"].items():
            lo, hi = row["eer_ci"]
            lines.append(f"| {r['detector']} | {chain} | {row['n']} ({row['n_fake']}) | {100 * row['eer']:.1f} "
                         f"[{100 * lo:.1f}, {100 * hi:.1f}] | {row['auc']:.3f} | {_pct(row['false_alarms'])} "
                         f"| {_pct(row['caught'])} |")
    lines += ["", "| detector | spliced clips | segment AP@0.5 | segment mAP 0.5:0.95 | frame EER % "
              "| spliced clips caught | untouched hosts with a segment |", "|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "docs/benchmarks").glob("speech_partial_*.json")):
        r = json.loads(path.read_text())
        caught = {**r["clip_caught"], "rate": r["clip_caught"]["k"] / max(r["clip_caught"]["n"], 1)}
        hosts = {**r["hosts_with_a_segment"],
                 "rate": r["hosts_with_a_segment"]["k"] / max(r["hosts_with_a_segment"]["n"], 1)}
        lines.append(f"| {r['detector']} | {r['spliced']} | {r['segment_ap_at_0.5']:.3f} "
                     f"| {r['segment_map_0.5_0.95']:.3f} | {100 * r['frame_eer']:.1f} | {_pct(caught)} "
                     f"| {_pct(hosts)} |")
    return "\n".join(lines) + "\n"


def shortcuts(every: list) -> dict:
    """AUC (the better of the two directions) with which one trivial property of the clean clips alone separates
    real from synthetic: what a detector could learn instead of synthesis traces."""
    from unmask.metrics import roc_auc

    clean = [c for c in every if c.chain == "none"]
    y = np.array([c.label for c in clean])

    def high_band(x: np.ndarray) -> float:  # share of power above 7 kHz, log10
        power = np.abs(np.fft.rfft(x[: 8 * 16000])) ** 2
        freq = np.fft.rfftfreq(min(x.size, 8 * 16000), 1 / 16000)
        return float(np.log10(power[freq > 7000].sum() / max(power.sum(), 1e-20) + 1e-12))

    props = {"duration": lambda x: x.size, "level (RMS dB)": lambda x: 20 * np.log10(np.sqrt(np.mean(x ** 2)) + 1e-9),
             "peak": lambda x: float(np.abs(x).max()), "power above 7 kHz": high_band}
    out = {}
    for name, fn in props.items():
        auc = roc_auc(y, np.array([fn(c.audio) for c in clean]))
        out[name] = round(max(auc, 1 - auc), 3)
    return out


def fill_card(card_path: Path) -> None:
    """Put the saved leave-one-source-out result of the card's detector into its card."""
    card = json.loads(card_path.read_text())
    result = json.loads((ROOT / f"docs/benchmarks/speech_cv_{card['name']}.json").read_text())
    clean = result["per_chain"]["none"]
    card["heldout"] = {"how": f"leave-one-source-out refits of the config's recipe over {result['sources']} "
                              "sources, pooled (benchmarks/speech_cv.py)", "eer": clean["eer"],
                       "eer_ci": clean["eer_ci"], "auc": clean["auc"], "n": clean["n"], "n_fake": clean["n_fake"],
                       "false_alarm_rate": clean["false_alarms"]["rate"], "caught_rate": clean["caught"]["rate"]}
    card["benchmarks"] = [{"data": f"speech dev clips, leave-one-source-out, {chain}",
                           "result": f"EER {100 * row['eer']:.1f}%, AUC {row['auc']:.3f}, real called synthetic "
                                     f"{100 * row['false_alarms']['rate']:.1f}%",
                           "source": "docs/benchmarks/speech.md"} for chain, row in result["per_chain"].items()]
    card_path.write_text(json.dumps(card, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/train/lfcc_gmm.yaml")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=ROOT / "runs/speech/clips.pkl")
    ap.add_argument("--scores", type=Path, default=None,
                    help="each clip's out-of-fold score as JSON (default runs/speech/oof_<detector>.json), "
                         "what benchmarks/speech_fusion.py fits the audio verdict model on")
    ap.add_argument("--card", type=Path, default=None,
                    help="a shipped model card (src/unmask/learned/weights/<name>.json) to fill from the saved "
                         "result: heldout = the clean leave-one-source-out row, benchmarks = every chain's row")
    ap.add_argument("--table", action="store_true", help="only print the markdown tables of the saved results")
    args = ap.parse_args()
    if args.table:
        print(markdown(), end="")
        return
    if args.card:
        fill_card(args.card)
        return
    os.environ.setdefault("UNMASK_DATA", str(args.data))
    from unmask.train.audio import clip_scores, fitter
    from unmask.train.config import load_config

    args.config = args.config.resolve()
    cfg = load_config(args.config)
    every = clips(cfg, args.cache)
    groups = sorted({c.group for c in every})
    chains = list(dict.fromkeys(c.chain for c in every))
    scores = np.full(len(every), np.nan)
    t0 = time.time()
    for g in groups:
        train = [c for c in every if c.group != g]
        model = fitter(cfg.arch)(train, cfg.arch_kwargs, cfg.seed, lambda s: None)
        held = [i for i, c in enumerate(every) if c.group == g]
        scores[held] = clip_scores(model, [every[i] for i in held])
        print(f"{g}: {len(held)} clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    y = np.array([c.label for c in every])
    chain = np.array([c.chain for c in every])
    group = np.array([c.group for c in every])
    result = {"config": str(args.config.relative_to(ROOT)), "detector": cfg.name, "sources": len(groups),
              "shortcut_auc": shortcuts(every),
              "per_chain": {ch: pooled(y[chain == ch], scores[chain == ch]) for ch in chains},
              "per_source_clean": {g: {"n": int(((group == g) & (chain == "none")).sum()),
                                       **rates(y[(group == g) & (chain == "none")],
                                               scores[(group == g) & (chain == "none")])} for g in groups},
              "seconds": round(time.time() - t0)}
    rows = [{"name": c.name, "chain": c.chain, "group": c.group, "label": c.label, "score": float(x)}
            for c, x in zip(every, scores, strict=True)]
    (args.scores or ROOT / f"runs/speech/oof_{cfg.name}.json").write_text(json.dumps(rows) + "\n")
    out = args.out or ROOT / f"docs/benchmarks/speech_cv_{cfg.name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["per_chain"], indent=1))


if __name__ == "__main__":
    main()

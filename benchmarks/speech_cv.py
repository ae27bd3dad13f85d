"""Speech detectors on the dev clips, leave-one-source-out: each source (a demo page or source repository) is
held out in turn, the detector's recipe is refitted on all the others, and the held-out clips are scored.

    python benchmarks/speech_cv.py [--config configs/train/lfcc_gmm.yaml] [--data DIR]
                                   [--split source|system|source-folds] [--folds 5] [--chains none ...]
                                   [--out docs/benchmarks/speech_cv.json] [--cache runs/speech/clips.pkl]

Splits: `source` (the default, leave-one-source-out, above); `system` (leave-one-system-out: one fold per
synthesis family of FAMILIES, the family's synthetic clips held out with the real clips of the speaker groups
assigned to that fold, so no real speaker is on both sides; writes docs/benchmarks/speech_system_<detector>.json);
`source-folds` (sources in --folds folds balanced by clip count, for a costly peer; speech_source<N>_...json).
Every split pools the out-of-fold scores: each clip is scored once, by the model of the fold that held it out.
Each finished fold is kept in runs/speech/ckpt/, so a stopped run resumes at its next fold.

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
import re
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
        had = json.loads(kept["key"]) if isinstance(kept, dict) and "key" in kept else {}
        if (json.dumps(had.get("train"), sort_keys=True, default=str) == json.dumps(cfg.train, sort_keys=True, default=str)
                and set(chains) <= set(had.get("chains", []))):  # the same data under more chains: a subset
            return [c for c in kept["clips"] if c.chain in chains]
    found = read_clips(cfg.train, Context(Path(cfg.folder), cfg.seed), chains, lambda s: print(s, file=sys.stderr))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps({"key": key, "clips": found}))
    return found


# Leave-one-system-out: the dev data's `system` labels (speech_demos, speech_more) by the family of the network
# or algorithm that makes the waveform (the vocoder, or the whole system when it is end to end), which is what
# a detector of synthesis traces reads; the acoustic model in front of it is not what is held out. Why each
# grouping: docs/benchmarks/speech.md ("Leave-one-system-out").
FAMILIES: dict[str, tuple[str, ...]] = {
    "HiFi-GAN": ("HGAN_V1", "HGAN_V1_FT", "HGAN_V2", "HGAN_V2_FT", "HGAN_V3", "HGAN_V3_FT", "V1_500", "baseline",
                 "pr", "wo_L1", "wo_MPD", "wo_MRF", "wo_MSD", "Glow-TTS+HiFi-GAN", "Glow-TTS+HiFi-GAN (fine-tuned)",
                 "Tacotron2+HiFi-GAN", "Tacotron2+HiFi-GAN (fine-tuned)", "HiFi-GAN", "Grad-TTS"),
    "MelGAN": ("MG", "MG_MPD", "Full-band MelGAN", "Multi-band MelGAN", "MelGAN + STFT loss"),
    "StyleMelGAN": ("StyleMelGAN",),
    "Parallel WaveGAN": ("Parallel WaveGAN", "Parallel WaveGAN (official samples)"),
    "UnivNet": ("UnivNet (maum-ai implementation)", "UnivNet (official samples)", "Tortoise"),
    "WaveGlow": ("WG", "WG_FT", "WaveGlow (copy-synthesis of GT mel)", "mandarin-tts FastSpeech2-style + WaveGlow"),
    "WaveNet": ("WN", "ESPnet FastSpeech + WaveNet vocoder", "ESPnet Tacotron2 + WaveNet vocoder",
                "ESPnet Transformer-TTS + WaveNet vocoder"),
    "WaveRNN": ("ForwardTacotron + WaveRNN",),
    "WaveGrad": ("WaveGrad",),
    "Griffin-Lim": ("Centaur + Griffin-Lim (OpenSeq2Seq)", "Tacotron2 + Griffin-Lim (OpenSeq2Seq)",
                    "ForwardTacotron + Griffin-Lim", "ESPnet FastSpeech + Griffin-Lim", "ESPnet Tacotron2 + Griffin-Lim",
                    "ESPnet Transformer-TTS + Griffin-Lim"),
    "VITS-like end to end": ("VITS", "VITS multi-speaker", "VITS w/ deterministic duration predictor",
                             "ablation: mel posterior", "ablation: no flow", "voice conversion", "NaturalSpeech"),
    "vocoder not stated": ("mandarin-tts (AISHELL-3 multi-speaker)", "mandarin-tts (Biaobei)", "Tacotron2",
                           "YouTube user voice clones (unknown TTS/VC)"),
}
FAMILY_OF = {system: family for family, systems in FAMILIES.items() for system in systems}
SPLITS = ("source", "system", "source-folds")


def clip_key(c) -> tuple[str, str]:
    """A clip's identity across its codec chains: (group, path in its manifest)."""
    return c.group, c.name


def manifest_attrs(cfg) -> dict[tuple[str, str], dict]:
    """(group, path) -> the manifest row's attrs (system, speaker, corpus, ...) of every clip of the config."""
    from unmask.train.sources import Context
    from unmask.train.sources.manifest import read_items

    out = {}
    for spec in cfg.train:
        items, _ = read_items(spec, Context(Path(cfg.folder), cfg.seed))
        for item in items:
            group = item.group or item.attrs.get("source_repo") or item.path
            out[str(group), str(item.path)] = {**item.attrs, "label": item.label}
    return out


def real_speaker(group: str, name: str, attrs: dict) -> str:
    """The speaker group of a real clip, the same across sources: LJSpeech is one speaker; every VCTK clip is one
    group (the demo pages' VCTK speakers are not named, so any of them may be one that speech_more names);
    LibriSpeech and LibriTTS share speaker ids; other speakers are named within their source."""
    corpus, speaker = str(attrs.get("corpus") or ""), str(attrs.get("speaker") or "")
    if not speaker and name.startswith(("vits_demo/", "hifigan_demo/")):  # speech_demos: ms = VCTK, else LJSpeech
        return "VCTK" if re.search(r"(^|/)ms[_/]", name) else "LJSpeech"
    if "VCTK" in corpus:
        return "VCTK"
    if "LJSpeech" in corpus or speaker.lower() == "lj":
        return "LJSpeech"
    if corpus.startswith("Libri"):
        return f"Libri:{speaker}"
    return f"{group}:{speaker or name}"


def balanced_folds(sizes: dict[str, int], folds: int) -> dict[str, int]:
    """Each named group's fold: the largest group first, each to the fold with the fewest so far (ties: the
    lowest fold), so folds come out about equal in size and the assignment depends on the sizes only."""
    load, out = [0] * folds, {}
    for name in sorted(sizes, key=lambda g: (-sizes[g], g)):
        k = min(range(folds), key=lambda i: (load[i], i))
        out[name], load[k] = k, load[k] + sizes[name]
    return out


def system_folds(every: list, attrs: dict) -> tuple[list[str], dict]:
    """Leave-one-system-out: each clip's fold (one fold per family of FAMILIES: its synthetic clips, and real
    clips of speaker groups assigned to it by balanced_folds) and a description of the folds."""
    keys = list(dict.fromkeys(clip_key(c) for c in every))
    fakes = {k: attrs[k]["system"] for k in keys if attrs[k]["label"] == "fake"}
    unmapped = sorted({s for s in fakes.values() if s not in FAMILY_OF})
    if unmapped:
        raise SystemExit(f"systems without a family in FAMILIES: {unmapped}")
    families = sorted({FAMILY_OF[s] for s in fakes.values()})
    speakers = {k: real_speaker(k[0], k[1], attrs[k]) for k in keys if k not in fakes}
    sizes: dict[str, int] = {}
    for sp in speakers.values():
        sizes[sp] = sizes.get(sp, 0) + 1
    fold_of_speaker = balanced_folds(sizes, len(families))
    fold = {k: FAMILY_OF[s] for k, s in fakes.items()} | {k: families[fold_of_speaker[sp]] for k, sp in speakers.items()}
    about = {f: {"systems": sorted({s for s in fakes.values() if FAMILY_OF[s] == f}),
                 "synthetic_clips": sum(FAMILY_OF[s] == f for s in fakes.values()),
                 "real_speaker_groups": sorted(sp for sp, k in fold_of_speaker.items() if families[k] == f),
                 "real_clips": sum(families[fold_of_speaker[sp]] == f for sp in speakers.values())} for f in families}
    return [fold[clip_key(c)] for c in every], about


def source_folds(every: list, folds: int) -> tuple[list[str], dict]:
    """Sources (groups) in `folds` folds balanced by clip count: each clip's fold and the folds' sources."""
    sizes: dict[str, int] = {}
    for key in dict.fromkeys(clip_key(c) for c in every):
        sizes[key[0]] = sizes.get(key[0], 0) + 1
    where = balanced_folds(sizes, folds)
    names = [f"fold {k + 1}" for k in range(folds)]
    about = {names[k]: {"sources": sorted(g for g in where if where[g] == k),
                        "clips": sum(sizes[g] for g in where if where[g] == k)} for k in range(folds)}
    return [names[where[c.group]] for c in every], about


def check_speakers(every: list, fold: list[str], attrs: dict) -> None:
    """SystemExit when a real speaker group has clips in two folds (it would be in a fold's train and test)."""
    seen: dict[str, set[str]] = {}
    for c, f in zip(every, fold, strict=True):
        if c.label == 0:
            seen.setdefault(real_speaker(c.group, c.name, attrs[clip_key(c)]), set()).add(f)
    split = {sp: sorted(fs) for sp, fs in seen.items() if len(fs) > 1}
    if split:
        raise SystemExit(f"real speakers in more than one fold: {split}")


def folds_of(split: str, every: list, cfg, folds: int) -> tuple[list[str], dict]:
    """Each clip's fold under `split` and a description of the folds."""
    if split == "source":
        return [c.group for c in every], {}
    if split == "source-folds":
        fold, about = source_folds(every, folds)
        return fold, about
    attrs = manifest_attrs(cfg)
    fold, about = system_folds(every, attrs)
    check_speakers(every, fold, attrs)
    return fold, about


def finished(key: str, paths: list[Path]) -> dict[str, list]:
    """The folds finished by runs of the same benchmark (`key`) kept in any of `paths`."""
    done: dict[str, list] = {}
    for path in paths:
        if path.is_file():
            kept = json.loads(path.read_text())
            if kept.get("key") == key:
                done.update(kept["folds"])
    return done


def run_folds(cfg, every: list, fold: list[str], checkpoint: Path, reverse: bool = False,
              base: Path | None = None) -> np.ndarray:
    """Out-of-fold scores: for each fold the recipe refitted on the other folds' clips scores the fold's
    clips. Each finished fold's scores go to `checkpoint`, so a run that stops resumes at the next fold; folds
    that another run of the same benchmark has finished in a checkpoint beside it (`base`'s name, by default
    `checkpoint`'s, plus any suffix) are taken from there, so a second run with `reverse` and its own checkpoint
    shares the work."""
    from unmask.train.audio import clip_scores, fitter

    key = json.dumps({"config": cfg.digest(), "clips": [[c.group, c.name, c.chain] for c in every], "fold": fold})
    base = base or checkpoint
    siblings = sorted(base.parent.glob(f"{base.stem}*.json"))
    mine = finished(key, [checkpoint])
    scores = np.full(len(every), np.nan)
    t0 = time.time()
    for g in sorted(set(fold), reverse=reverse):
        held = [i for i, f in enumerate(fold) if f == g]
        done = finished(key, [*siblings, checkpoint]) | mine
        if g in done:
            scores[held] = np.array([np.nan if x is None else x for x in done[g]], dtype=float)
            continue
        train = [c for c, f in zip(every, fold, strict=True) if f != g]
        model = fitter(cfg.arch)(train, cfg.arch_kwargs, cfg.seed, lambda s: print(s, file=sys.stderr, flush=True))
        scores[held] = clip_scores(model, [every[i] for i in held])
        mine[g] = [None if np.isnan(x) else float(x) for x in scores[held]]
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        checkpoint.write_text(json.dumps({"key": key, "folds": mine}))
        print(f"{g}: {len(held)} clips, {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    return scores


def per_fold(y: np.ndarray, s: np.ndarray, fold: np.ndarray, chain: np.ndarray) -> dict:
    """Per fold, clean clips: counts, rates at 0.5, and the fold's own EER where it holds both classes."""
    out = {}
    for g in sorted(set(fold.tolist())):
        m = (fold == g) & (chain == "none") & ~np.isnan(s)
        row = {"n": int(m.sum()), "n_fake": int(y[m].sum()), **rates(y[m], s[m])}
        if len(set(y[m].tolist())) == 2:
            row["eer"] = eer(y[m], s[m])
        out[g] = row
    return out


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


def _chain_rows(pattern: str) -> list[str]:
    """The pooled rows (one per detector and chain) of every docs/benchmarks/<pattern> result."""
    lines = ["| detector | chain | clips (synthetic) | EER % [95% CI] | AUC | real clips called synthetic at 0.5 "
             "| synthetic clips caught at 0.5 |", "|---|---|---|---|---|---|---|"]
    for path in sorted((ROOT / "docs/benchmarks").glob(pattern)):
        r = json.loads(path.read_text())
        for chain, row in r["per_chain"].items():
            lo, hi = row["eer_ci"]
            lines.append(f"| {r['detector']} | {chain} | {row['n']} ({row['n_fake']}) | {100 * row['eer']:.1f} "
                         f"[{100 * lo:.1f}, {100 * hi:.1f}] | {row['auc']:.3f} | {_pct(row['false_alarms'])} "
                         f"| {_pct(row['caught'])} |")
    return lines


def _family_rows() -> list[str]:
    """Leave-one-system-out, per held-out family (clean clips): its synthetic clips caught at 0.5 by each
    detector, and the fold's EER against its own real clips."""
    found = [json.loads(p.read_text()) for p in sorted((ROOT / "docs/benchmarks").glob("speech_system_*.json"))]
    if not found:
        return []
    names = [r["detector"] for r in found]
    lines = ["| held-out family | synthetic (real) clips | " + " | ".join(
        f"{n}: caught at 0.5 / fold EER %" for n in names) + " |", "|---|---|" + "---|" * len(names)]
    for family, about in found[0]["fold_contents"].items():
        cells = []
        for r in found:
            row = r["per_fold_clean"][family]
            fold_eer = f"{100 * row['eer']:.1f}" if "eer" in row else "–"
            cells.append(f"{row['caught']['k']}/{row['caught']['n']} / {fold_eer}")
        lines.append(f"| {family} | {about['synthetic_clips']} ({about['real_clips']}) | " + " | ".join(cells) + " |")
    return lines


def markdown() -> str:
    """docs/benchmarks/speech.md's tables from the saved results: leave-one-source-out (speech_cv_*.json),
    leave-one-system-out (speech_system_*.json, pooled and per family), the 5-fold peer comparison
    (speech_source5*_*.json) and the partial spoofs (speech_partial_*.json)."""
    lines = _chain_rows("speech_cv_*.json")
    lines += ["", *_chain_rows("speech_system_*.json"), "", *_family_rows()]
    lines += ["", *_chain_rows("speech_source5*_*.json")]
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


def outputs(split: str, folds: int, chains: list[str] | None, name: str) -> tuple[Path, Path, Path]:
    """(result JSON, per-clip scores, checkpoint) of a run: leave-one-source-out keeps its historical names."""
    tag = {"source": "cv", "system": "system", "source-folds": f"source{folds}"}[split]
    if chains:
        tag += "_" + "+".join(chains)
    oof = ROOT / ("runs/speech/oof_" + (name if tag == "cv" else f"{tag}_{name}") + ".json")
    return ROOT / f"docs/benchmarks/speech_{tag}_{name}.json", oof, ROOT / f"runs/speech/ckpt/{tag}_{name}.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/train/lfcc_gmm.yaml")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    ap.add_argument("--split", choices=SPLITS, default="source",
                    help="source: leave-one-source-out (each source held out in turn); system: "
                         "leave-one-system-out (each synthesis family of FAMILIES held out with the real speakers "
                         "of its fold); source-folds: sources in --folds folds balanced by clip count")
    ap.add_argument("--folds", type=int, default=5, help="folds of --split source-folds")
    ap.add_argument("--chains", nargs="+", default=None,
                    help="only these chains of the config's clips, in training and in scoring (e.g. none)")
    ap.add_argument("--checkpoint", type=Path, default=None,
                    help="where this run keeps its finished folds (default runs/speech/ckpt/<split>_<detector>"
                         ".json); folds finished in <default name>*.json beside it are reused")
    ap.add_argument("--reverse", action="store_true",
                    help="folds in reverse order: a second run with --reverse and --checkpoint <default>_2.json "
                         "works from the other end and shares the folds")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--cache", type=Path, default=ROOT / "runs/speech/clips.pkl")
    ap.add_argument("--scores", type=Path, default=None,
                    help="each clip's out-of-fold score as JSON (default runs/speech/oof_<detector>.json for "
                         "--split source), what benchmarks/speech_fusion.py fits the audio verdict model on")
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
    from unmask.train.config import load_config

    args.config = args.config.resolve()
    cfg = load_config(args.config)
    every = clips(cfg, args.cache)
    if args.chains:
        every = [c for c in every if c.chain in args.chains]
    fold, about = folds_of(args.split, every, cfg, args.folds)
    out, oof, checkpoint = outputs(args.split, args.folds, args.chains, cfg.name)
    t0 = time.time()
    if args.checkpoint:
        args.checkpoint = args.checkpoint.resolve()
        if not args.checkpoint.stem.startswith(checkpoint.stem) or args.checkpoint.parent != checkpoint.parent:
            raise SystemExit(f"--checkpoint must be {checkpoint.parent}/{checkpoint.stem}*.json")
    scores = run_folds(cfg, every, fold, args.checkpoint or checkpoint, args.reverse, base=checkpoint)
    y = np.array([c.label for c in every])
    chain = np.array([c.chain for c in every])
    group = np.array([c.group for c in every])
    folds = np.array(fold)
    sources = sorted(set(group.tolist()))
    chains = list(dict.fromkeys(chain.tolist()))
    result = {"config": str(args.config.relative_to(ROOT)), "detector": cfg.name, "split": args.split,
              "sources": len(sources), "folds": len(set(fold)), "fold_contents": about,
              "pooling": "out-of-fold scores pooled over all folds (every clip scored once, by the model of the "
                         "fold that held it out)",
              "shortcut_auc": shortcuts(every),
              "per_chain": {ch: pooled(y[chain == ch], scores[chain == ch]) for ch in chains},
              "per_source_clean": {g: {"n": int(((group == g) & (chain == "none")).sum()),
                                       **rates(y[(group == g) & (chain == "none")],
                                               scores[(group == g) & (chain == "none")])} for g in sources},
              "seconds": round(time.time() - t0)}
    if args.split != "source":
        result["per_fold_clean"] = per_fold(y, scores, folds, chain)
    rows = [{"name": c.name, "chain": c.chain, "group": c.group, "fold": f, "label": c.label, "score": float(x)}
            for c, f, x in zip(every, fold, scores, strict=True)]
    (args.scores or oof).write_text(json.dumps(rows) + "\n")
    out = args.out or out
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["per_chain"], indent=1))


if __name__ == "__main__":
    main()

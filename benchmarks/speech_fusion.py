"""The audio verdict models: a logistic combination of the speech detectors' leave-one-source-out scores.

    python benchmarks/speech_fusion.py [--scores runs/speech] [--write]

Reads runs/speech/oof_<detector>.json (benchmarks/speech_cv.py: every dev clip and codec chain scored by a
model that never saw its source) and fits `unmask.verdict.fit.fit_verdict` with modality "audio" and groups
= source, so its own operating point and quality come from group-fold out-of-fold probabilities on top of
scores that were already out of source. One model per profile over the detectors that profile runs: fast =
lfcc_gmm alone, default (and so thorough) = lfcc_gmm + whisper_probe when its scores exist. `--write`
stores them as src/unmask/verdict/data/audio-<profile>.json (the packaged models); without it they are only
printed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROFILES = {"fast": ("lfcc_gmm",), "default": ("lfcc_gmm", "whisper_probe")}


def table(folder: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """(scores n x detectors, labels, groups, detectors found) over the clips every found detector scored."""
    found = [n for n in names if (folder / f"oof_{n}.json").is_file()]
    rows = {n: {(r["name"], r["chain"]): r for r in json.loads((folder / f"oof_{n}.json").read_text())}
            for n in found}
    keys = sorted(set.intersection(*(set(r) for r in rows.values())))
    first = rows[found[0]]
    scores = np.array([[rows[n][k]["score"] for n in found] for k in keys], dtype=float)
    return scores, np.array([first[k]["label"] for k in keys]), [first[k]["group"] for k in keys], found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scores", type=Path, default=ROOT / "runs/speech")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    from unmask.detectors.registry import Registry
    from unmask.verdict.fit import fit_verdict

    known = Registry.default(plugins=False)
    for profile, names in PROFILES.items():
        scores, y, groups, found = table(args.scores, names)
        detectors = {n: known.get(n).version for n in found}
        model = fit_verdict(scores, y, groups, detectors, f"audio-{profile}", modality="audio",
                            fitted_on={"data": "speech_demos + speech_more, every clip as it is and after MP3 64 "
                                               "kbps, telephone band, Opus 24 kbps; scores out of source "
                                               "(benchmarks/speech_cv.py)",
                                       "command": "python benchmarks/speech_fusion.py --write"})
        print(profile, json.dumps({"detectors": found, "evaluation": model.evaluation,
                                   "thresholds": model.thresholds}, indent=1))
        if args.write:
            model.save(ROOT / f"src/unmask/verdict/data/audio-{profile}.json")


if __name__ == "__main__":
    main()

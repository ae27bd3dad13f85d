"""The audio verdict models: a logistic combination of the speech detectors' leave-one-source-out scores.

    python benchmarks/speech_fusion.py [--scores runs/speech] [--write]

Reads runs/speech/oof_<detector>.json (benchmarks/speech_cv.py: every dev clip and codec chain scored by a
model that never saw its source) and fits `unmask.verdict.fit.fit_verdict` with modality "audio" and groups
= source, so its own operating point and quality come from group-fold out-of-fold probabilities on top of
scores that were already out of source. One model over every speech detector with scores (the fit drops a
detector whose weight comes out negative); every profile uses it (unmask.verdict.model.packaged falls back to
the modality's -default model), and a profile that does not run one of its detectors falls back to the
rule. `--write` stores it as src/unmask/verdict/data/audio-default.json; without it it is only printed.

Cross-fitted check (`docs/benchmarks/speech_verdicts.json`): the sources are split into 5 folds (seed 0); for
each, the whole fit (model and operating point) is redone on the other folds and the held-out clips are
labelled, so no clip's verdict comes from a model or threshold that saw its source. Reported per chain: the
share of real clips called synthetic (manipulated or ai-generated), called authentic, and of synthetic clips
caught and called authentic, with Wilson intervals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DETECTORS = ("lfcc_gmm", "whisper_probe")


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
    scores, y, groups, found = table(args.scores, DETECTORS)
    model = fit_verdict(scores, y, groups, {n: known.get(n).version for n in found}, "audio-default",
                        modality="audio",
                        fitted_on={"data": "speech_demos + speech_more, every clip as it is and after MP3 64 kbps, "
                                           "telephone band, Opus 24 kbps; scores out of source "
                                           "(benchmarks/speech_cv.py)",
                                   "command": "python benchmarks/speech_fusion.py --write"})
    print(json.dumps({"offered": found, "combined": list(model.detectors), "evaluation": model.evaluation,
                      "thresholds": model.thresholds}, indent=1))
    if args.write:
        model.save(ROOT / "src/unmask/verdict/data/audio-default.json")
    crossfit = crossfitted(scores, y, groups, found, args.scores)
    (ROOT / "docs/benchmarks/speech_verdicts.json").write_text(json.dumps(crossfit, indent=2) + "\n")
    print(json.dumps(crossfit, indent=1))


def crossfitted(scores: np.ndarray, y: np.ndarray, groups: list[str], found: list[str], folder: Path) -> dict:
    """Verdicts of every clip from a model and operating point fitted without its source's fold, per chain."""
    from unmask.datasets.split import fold_of
    from unmask.metrics import wilson
    from unmask.verdict.fit import fit_verdict

    fold = np.array([fold_of(g, 5, 0) for g in groups])
    labels = np.empty(y.size, dtype=object)
    for k in range(5):
        train, test = fold != k, fold == k
        model = fit_verdict(scores[train], y[train], [g for g, t in zip(groups, train, strict=True) if t],
                            dict.fromkeys(found, "oof"), "cv", modality="audio")
        labels[test] = model.label(model.predict(scores[test], found))
    rows = json.loads((folder / f"oof_{found[0]}.json").read_text())
    chain = np.array([r["chain"] for r in sorted(rows, key=lambda r: (r["name"], r["chain"]))])

    def rate(mask: np.ndarray, what: str) -> dict:
        k, n = int((labels[mask] == what).sum()), int(mask.sum())
        return {"k": k, "n": n, "rate": k / n if n else None, "ci": wilson(k, n) if n else None}

    return {ch: {"real_called_synthetic": rate((chain == ch) & (y == 0), "manipulated"),
                 "real_called_authentic": rate((chain == ch) & (y == 0), "authentic"),
                 "synthetic_caught": rate((chain == ch) & (y == 1), "manipulated"),
                 "synthetic_called_authentic": rate((chain == ch) & (y == 1), "authentic")}
            for ch in dict.fromkeys(chain)}


if __name__ == "__main__":
    main()

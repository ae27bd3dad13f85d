"""Golden outputs of the shipped text models (pyIFD-style): fixed texts through each text detector. Run
`python tests/assets/make_text_golden.py` after retraining a model, and say why in the commit;
tests/test_text_detectors.py compares against text_golden.json."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).with_name("text_golden.json")
MODELS = ("tfidf_lr", "text_encoder")

# written for these tests (not from any dataset): a claim, a rumour-style post, a Chinese post, a post with
# LIAR-style context fields
TEXTS = {
    "claim": "Says the governor cut school funding by 40 percent while raising his own salary.",
    "tweet": "BREAKING!!! Shark swimming on the flooded highway after the hurricane, share before they delete it",
    "chinese": "今天下午市中心一座大楼突然倒塌，网友称已有多人遇难，有关部门尚未回应。",
    "post": json.dumps({"text": "The unemployment rate fell to its lowest level in 50 years last month.",
                        "speaker": "jane-doe", "party": "independent", "credit_history": [2, 1, 5, 6, 0]}),
}


def run(name: str, key: str) -> dict:
    from unmask.detectors.registry import Registry
    from unmask.media import load

    detector = Registry.default(plugins=False).get(name)()
    evidence = detector.analyze(load(TEXTS[key].encode()))
    return {"score": round(float(evidence.score), 6),
            "tokens": [[t.start, t.end, round(float(t.score), 4)] for t in evidence.tokens]}


def main() -> None:
    from unmask.detectors.registry import Registry

    known = Registry.default(plugins=False)
    out = {}
    for name in MODELS:
        if known.get(name).installed():
            try:
                out[name] = {key: run(name, key) for key in TEXTS}
            except Exception as exc:  # a model not shipped yet: left out, said here
                print(f"{name}: {exc}")
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

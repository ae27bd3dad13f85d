"""Networks built on a pretrained encoder (unmask.learned.backbones) whose first layers stay frozen.

Fine-tuning a whole ImageNet encoder on two CPU cores is slow, and on a few thousand images it overfits; the
usual compromise keeps the early layers (edges, textures) as ImageNet made them and trains the later ones.
`PretrainedNet` splits `forward` into `trunk(x)`, the frozen part (stem and the first `frozen_blocks` blocks,
run without gradient and with batch-norm statistics fixed), and `rest(h, size)`, what trains. Because the
trunk never changes, the training loop can compute it once per augmented pass over the data and reuse it
(`trunk_passes` in a training config, unmask.train.loop), which is what makes training on a CPU practical.

ImageNet weights are loaded only at training time (`load_pretrained`, called by the loop when the config says
`pretrained: true`); a shipped model carries every weight, trunk included, in its own safetensors file.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .backbones import Backbone, backbone_spec, load_backbone
from .net import ForensicNet


class PretrainedNet(ForensicNet):
    """Base class: an encoder `self.encoder` (a Backbone without its ImageNet classifier) with its stem and
    first `frozen_blocks` blocks frozen; subclasses implement `rest(h, size) -> {"logit", ["mask_logits"]}`."""

    multiple = 32

    def __init__(self, backbone: str, frozen_blocks: int) -> None:
        super().__init__()
        spec = backbone_spec(backbone)
        if not 0 <= frozen_blocks <= len(spec.blocks):
            raise ValueError(f"frozen_blocks must lie in 0..{len(spec.blocks)} for {backbone}, got {frozen_blocks}")
        self.backbone, self.frozen_blocks = backbone, frozen_blocks
        self.encoder = Backbone(spec, classifier=False)
        for module in self.trunk_modules():
            module.requires_grad_(False)

    def trunk_modules(self) -> list[nn.Module]:
        return [self.encoder.stem, *self.encoder.blocks[:self.frozen_blocks]]

    def load_pretrained(self) -> None:
        """Copy the ImageNet weights (from the installed weights package) into the encoder."""
        self.encoder.load_state_dict(load_backbone(self.backbone, classifier=False).state_dict())

    def train(self, mode: bool = True) -> PretrainedNet:
        """As nn.Module.train, but the frozen trunk stays in eval mode (its batch-norm statistics fixed)."""
        super().train(mode)
        for module in self.trunk_modules():
            module.eval()
        return self

    def trunk(self, x: Tensor) -> Any:
        """The frozen part's output for RGB in [0, 1] (B, 3, H, W), without gradient."""
        with torch.no_grad():
            h = self.encoder.stem(self.encoder.normalise(x))
            for block in self.encoder.blocks[:self.frozen_blocks]:
                h = block(h)
        return h

    def rest(self, h: Any, size: tuple[int, int]) -> dict[str, Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        return self.rest(self.trunk(x), (x.shape[2], x.shape[3]))

"""AI-generated image detection from neighbouring-pixel residuals: the shipped `npr` network.

Tan et al. (CVPR 2024): the up-sampling layers of generator decoders correlate neighbouring pixels, and the
image minus its 2x nearest down-up copy (NPR) exposes it for GANs and diffusion models alike. The network
(unmask.learned.archs.npr) was trained by `unmask train configs/train/npr.yaml` on real photos and on fakes
simulated from them by random up-sampling decoders, never on AI images; docs/benchmarks/ai_images.md has its
scores on real AI images. It runs at the image's own resolution: resizing would erase the trace it reads.
"""

from __future__ import annotations

from ..network import AIImageDetector


class NPRDetector(AIImageDetector):
    name = "npr"
    version = "1"
    model_name = "npr"
    paper = "Tan et al. CVPR 2024, 'Rethinking the Up-Sampling Operations in CNN-based Generative Network'"
    description = ("Learned AI-generated image detector on neighbouring-pixel residuals (NPR), trained only on "
                   "simulated up-sampling fakes; weak on real AI images: AUC 0.59 on aigi_photos (dev), below "
                   "the 0.85 target (docs/benchmarks/ai_images.md).")
    model_label = "the NPR model"
    reads = "pixel-neighbour patterns"

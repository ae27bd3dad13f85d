"""AI-generated image detection from the spectrum of the noise residual: the shipped `spectral` network.

Up-sampling in generator decoders leaves periodic peaks and a distorted fall-off in the spectrum of the
high-frequency residual (Zhang, Karaman & Chang, WIFS 2019; Frank et al., ICML 2020; Durall et al., CVPR 2020).
The network (unmask.learned.archs.spectral) averages the power spectra of fixed tiles of the Laplacian of the
luma, summarises them (azimuthal profile, peak-to-neighbourhood ratios at multiples of N/8) and scores them
with a small MLP trained by `unmask train configs/train/spectral.yaml` on simulated up-sampling fakes of real
photos, never on AI images; docs/benchmarks/ai_images.md has its scores on real AI images.
"""

from __future__ import annotations

from ..network import AIImageDetector


class SpectralResidualDetector(AIImageDetector):
    name = "spectral_residual"
    version = "1"
    model_name = "spectral"
    paper = "Zhang et al. WIFS 2019 (AutoGAN); Frank et al. ICML 2020; Durall et al. CVPR 2020"
    description = ("Learned AI-generated image detector on the residual's spectrum (azimuthal profile and "
                   "up-sampling peaks), trained only on simulated up-sampling fakes; weak on real AI images: AUC "
                   "0.59 on aigi_photos (dev), below the 0.85 target (docs/benchmarks/ai_images.md).")
    model_label = "the spectral model"
    reads = "frequency spectrum"

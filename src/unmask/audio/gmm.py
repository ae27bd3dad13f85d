"""The LFCC-GMM back end of the ASVspoof baseline: one diagonal Gaussian mixture for bona fide speech and one
for spoofed speech, a frame's score being the log-likelihood ratio log p(x|spoof) - log p(x|bona fide)
(Todisco et al., Interspeech 2019; Sahidullah et al. 2015). A window's logit is an affine map of its frames'
mean ratio, the map fitted on out-of-fold scores so that it is a calibrated probability, not a raw ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lfcc import lfcc

LOG_2PI = float(np.log(2 * np.pi))


@dataclass
class DiagGmm:
    """A diagonal-covariance Gaussian mixture: weights (K,), means (K, D), variances (K, D)."""

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def log_likelihood(self, x: np.ndarray) -> np.ndarray:
        """log p(x) of each row of x (N, D), by log-sum-exp over the components."""
        x = np.asarray(x, np.float64)
        prec = 1.0 / self.variances
        quad = (x * x) @ prec.T - 2.0 * x @ (self.means * prec).T + np.sum(self.means ** 2 * prec, axis=1)
        comp = np.log(self.weights) - 0.5 * (np.sum(np.log(self.variances), axis=1) + x.shape[1] * LOG_2PI + quad)
        top = comp.max(axis=1, keepdims=True)
        return (top + np.log(np.exp(comp - top).sum(axis=1, keepdims=True)))[:, 0]

    @classmethod
    def fit(cls, x: np.ndarray, components: int, seed: int, max_iter: int = 100) -> DiagGmm:
        """EM from k-means++ seeds, stopped after `max_iter` iterations whether or not it has converged (a
        fixed budget, as the config says; sklearn's warning about it is silenced)."""
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            g = GaussianMixture(components, covariance_type="diag", max_iter=max_iter, random_state=seed,
                                reg_covar=1e-3, init_params="k-means++").fit(x)
        return cls(g.weights_, g.means_, g.covariances_)


@dataclass
class LfccGmm:
    """The frame model (unmask.audio.windows.FrameModel) of the lfcc_gmm detector."""

    bona: DiagGmm
    spoof: DiagGmm
    scale: float = 1.0
    offset: float = 0.0
    frame_s: float = 0.01

    def features(self, x: np.ndarray) -> np.ndarray:
        return lfcc(x)

    def ratios(self, frames: np.ndarray) -> np.ndarray:
        return self.spoof.log_likelihood(frames) - self.bona.log_likelihood(frames)

    def logit(self, frames: np.ndarray) -> float:
        return float(self.scale * np.mean(self.ratios(frames)) + self.offset)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {f"{side}.{k}": getattr(getattr(self, side), k).astype(np.float32)
               for side in ("bona", "spoof") for k in ("weights", "means", "variances")}
        out["calibration"] = np.array([self.scale, self.offset], np.float32)
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> LfccGmm:
        gmm = {side: DiagGmm(*(a[f"{side}.{k}"].astype(np.float64) for k in ("weights", "means", "variances")))
               for side in ("bona", "spoof")}
        scale, offset = (float(v) for v in a["calibration"])
        return cls(gmm["bona"], gmm["spoof"], scale, offset)

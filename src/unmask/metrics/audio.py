"""ASVspoof tandem detection cost function (min t-DCF), legacy 2019 (M.6) and revised 2021 (M.7), numpy.

The t-DCF scores a spoofing countermeasure (CM) in tandem with a fixed speaker-verification (ASV) system
(Kinnunen et al., Odyssey 2018; revised in IEEE/ACM TASLP 2020). CM scores are higher = more bona fide. The
ASV operates at its EER threshold from target vs non-target scores (M.4, `binary.asvspoof_eer`); the CM's
miss / false-alarm rates are taken at every distinct CM score, accepting a trial iff score >= threshold
(`binary.binary_clf_curve`). The references walk every sorted trial, but the extra points inside a group of
tied scores never lower the cost (its weights are >= 0), so the minimum is the same.

Both versions abort (ValueError here, `sys.exit` there) on NaN/inf scores, fewer than 3 distinct CM scores
(hard decisions), no spoof trials for the ASV, or a negative weight. C1 and C2 coincide in the two versions;
2021 adds the constant C0 = cost of the ASV's own errors. Where the normalising term is 0 the references print
NaN or inf; here that raises too.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .binary import ArrayLike, asvspoof_eer, binary_clf_curve

P_SPOOF = 0.05
P_TAR = (1 - P_SPOOF) * 0.99
P_NON = (1 - P_SPOOF) * 0.01
C_MISS, C_FA, C_FA_SPOOF = 1.0, 10.0, 10.0  # 2019: Cmiss_asv = Cmiss_cm = 1, Cfa_asv = Cfa_cm = 10

TDCFVersion = Literal["2019", "2021"]


@dataclass(frozen=True)
class AsvRates:
    """ASV error rates at its EER threshold: accept iff score >= threshold (`obtain_asv_error_rates`)."""

    threshold: float
    pfa: float  # non-targets accepted
    pmiss: float  # targets rejected
    pmiss_spoof: float  # spoofs rejected
    pfa_spoof: float  # spoofs accepted


def _scores(x: ArrayLike, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return a


def asv_rates(tar_asv: ArrayLike, non_asv: ArrayLike, spoof_asv: ArrayLike) -> AsvRates:
    """ASV error rates at the M.4 EER threshold of target vs non-target scores (ASVspoof's convention)."""
    tar, non = _scores(tar_asv, "tar_asv"), _scores(non_asv, "non_asv")
    spoof = _scores(spoof_asv, "spoof_asv (the t-DCF needs spoof trials scored by the ASV)")
    threshold = asvspoof_eer(tar, non)[1]
    miss_spoof = float(np.mean(spoof < threshold))
    return AsvRates(
        threshold=threshold,
        pfa=float(np.mean(non >= threshold)),
        pmiss=float(np.mean(tar < threshold)),
        pmiss_spoof=miss_spoof,
        pfa_spoof=float(np.mean(spoof >= threshold)),
    )


def tdcf_weights(rates: AsvRates, version: TDCFVersion = "2021") -> tuple[float, float, float]:
    """(C0, C1, C2) of the t-DCF; C0 = 0 for the 2019 legacy form, which has no constant term."""
    if version == "2019":
        c0 = 0.0
        c1 = P_TAR * (C_MISS - C_MISS * rates.pmiss) - P_NON * C_FA * rates.pfa
        c2 = C_FA * P_SPOOF * (1 - rates.pmiss_spoof)
    elif version == "2021":
        c0 = P_TAR * C_MISS * rates.pmiss + P_NON * C_FA * rates.pfa
        c1 = P_TAR * C_MISS - c0
        c2 = P_SPOOF * C_FA_SPOOF * rates.pfa_spoof
    else:
        raise ValueError(f"unknown t-DCF version {version!r}; use '2019' or '2021'")
    return float(c0), float(c1), float(c2)


def _cm_rates(bonafide_cm: ArrayLike, spoof_cm: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(Pmiss_cm, Pfa_cm) at every distinct CM threshold plus the reject-all point, after the abort checks."""
    bona, spoof = _scores(bonafide_cm, "bonafide_cm"), _scores(spoof_cm, "spoof_cm")
    scores = np.r_[bona, spoof]
    if np.unique(scores).size < 3:
        raise ValueError("the t-DCF needs soft CM scores (at least 3 distinct values), not hard decisions")
    fps, tps, _ = binary_clf_curve(np.r_[np.ones(bona.size), np.zeros(spoof.size)], scores)
    pmiss = np.r_[(bona.size - tps) / bona.size, 1.0]
    pfa = np.r_[fps / spoof.size, 0.0]
    return pmiss, pfa


def min_tdcf_from_weights(
    bonafide_cm: ArrayLike, spoof_cm: ArrayLike, c0: float, c1: float, c2: float
) -> float:
    """min over CM thresholds of (C0 + C1 Pmiss_cm + C2 Pfa_cm) / (C0 + min(C1, C2)).

    Use it with the organisers' precomputed C0/C1/C2 (ASVspoof 2021 package) or `tdcf_weights`; C0 = 0 gives
    the 2019 legacy normalisation by min(C1, C2).
    """
    if min(c0, c1, c2) < 0:
        raise ValueError(f"t-DCF weights must be >= 0, got C0={c0:g} C1={c1:g} C2={c2:g} (check ASV rates)")
    norm = c0 + min(c1, c2)
    if norm <= 0:
        raise ValueError("t-DCF normalisation C0 + min(C1, C2) is 0; the normalised cost is undefined")
    pmiss, pfa = _cm_rates(bonafide_cm, spoof_cm)
    return float(np.min((c0 + c1 * pmiss + c2 * pfa) / norm))


def min_tdcf(
    bonafide_cm: ArrayLike,
    spoof_cm: ArrayLike,
    tar_asv: ArrayLike,
    non_asv: ArrayLike,
    spoof_asv: ArrayLike,
    version: TDCFVersion = "2021",
    check_swap: bool = False,
) -> float:
    """Normalised min t-DCF of CM scores (higher = bona fide) with the given ASV scores (M.6 / M.7).

    "2019": AASIST `evaluation.py` legacy form; "2021": the ASVspoof 2021 eval package's revised form. With
    `check_swap` the negated CM scores are scored too and a warning is raised when they do better (labels
    probably swapped) or equally well, as the 2021 scoring script prints.
    """
    weights = tdcf_weights(asv_rates(tar_asv, non_asv, spoof_asv), version)
    value = min_tdcf_from_weights(bonafide_cm, spoof_cm, *weights)
    if check_swap:
        negated = min_tdcf_from_weights(-np.asarray(bonafide_cm), -np.asarray(spoof_cm), *weights)
        if negated <= value:
            how = "lower" if negated < value else "the same"
            warnings.warn(
                f"negated CM scores give {how} min t-DCF ({negated:.4f} vs {value:.4f}): "
                "are the labels swapped or the scores constant?",
                stacklevel=2,
            )
    return value

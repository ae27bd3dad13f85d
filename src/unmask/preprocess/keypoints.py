"""Keypoints matched inside one image, and the geometry that links them: the core of keypoint copy-move search.

SIFT keypoints (Lowe 2004) are matched against the same image's own keypoints with the generalised 2-nearest-
neighbour test of Amerini et al. 2011 ("A SIFT-based forensic method for copy-move attack detection and
transformation recovery", IEEE TIFS): for each keypoint the sorted descriptor distances d1 <= d2 <= ... to the
other keypoints are scanned for the first large gap d_k / d_{k+1} < T, and the k neighbours before the gap are
all matches, so a region pasted several times yields several matches (with k = 1 this is Lowe's ratio test).
Neighbours closer than a minimum spatial distance (the keypoint itself, its other orientations, its immediate
surroundings) are never candidates. Descriptors are compared as RootSIFT (Arandjelovic & Zisserman 2012:
square root of the L1-normalised histogram, i.e. the Hellinger kernel), which matches more reliably.

Match pairs are clustered in the joint (point, partner) space and every cluster is fitted with an affine map by
RANSAC (Fischler & Bolles 1981). A copied region maps its source to its target, but a match pair has no
direction, so hypotheses are tested in both directions. Everything here is computed on a downscaled luma (at
most `target_pixels`) because OpenCV's SIFT doubles its input first; coordinates are returned in input pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media import ImageMedia
from .image import gray


@dataclass
class Keypoints:
    """SIFT keypoints of one image: positions (x, y) and scale in input pixels, angle in degrees, RootSIFT."""

    xy: np.ndarray
    size: np.ndarray
    angle: np.ndarray
    desc: np.ndarray
    scale: float

    def __len__(self) -> int:
        return len(self.xy)


def working_luma(media: ImageMedia, target_pixels: int) -> tuple[np.ndarray, float]:
    """Luma as uint8, downscaled (area averaging) to at most `target_pixels`, and the scale factor used."""

    def compute() -> tuple[np.ndarray, float]:
        import cv2

        g = np.clip(gray(media) + 0.5, 0, 255).astype(np.uint8)
        h, w = g.shape
        s = min(1.0, float(np.sqrt(target_pixels / (h * w))))
        if s < 1.0:
            g = cv2.resize(g, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        return g, s

    return media.shared(f"luma_u8_{target_pixels}", compute)


def sift_keypoints(media: ImageMedia, target_pixels: int = 250_000, max_keypoints: int = 3000,
                   contrast: float = 0.04) -> Keypoints:
    """SIFT on the working luma, strongest `max_keypoints` kept; descriptors mapped to RootSIFT (Hellinger).

    A `contrast` threshold below SIFT's usual 0.04 keeps keypoints on weaker texture, where copies hide.
    """

    def compute() -> Keypoints:
        import cv2

        g, s = working_luma(media, target_pixels)
        kps, desc = cv2.SIFT_create(nfeatures=max_keypoints, contrastThreshold=contrast).detectAndCompute(g, None)
        if desc is None or not kps:
            empty = np.zeros((0,), np.float32)
            return Keypoints(np.zeros((0, 2), np.float32), empty, empty, np.zeros((0, 128), np.float32), s)
        xy = np.array([k.pt for k in kps], np.float32) / s
        size = np.array([k.size for k in kps], np.float32) / s
        angle = np.array([k.angle for k in kps], np.float32)
        d = desc.astype(np.float32)
        d = np.sqrt(d / (d.sum(axis=1, keepdims=True) + 1e-7))
        return Keypoints(xy, size, angle, d, s)

    return media.shared(f"sift_{target_pixels}_{max_keypoints}_{contrast}", compute)


def _near_pairs(xy: np.ndarray, min_dist: float) -> np.ndarray:
    """All ordered pairs (i, j) of keypoints closer than `min_dist` in the image, each point with itself too."""
    from scipy.spatial import cKDTree

    close = cKDTree(xy).query_pairs(min_dist, output_type="ndarray").reshape(-1, 2)
    self_pairs = np.repeat(np.arange(len(xy))[:, None], 2, axis=1)
    return np.concatenate([close, close[:, ::-1], self_pairs])


def _gap_matches(dist2: np.ndarray, rows: np.ndarray, ratio: float, k: int) -> np.ndarray:
    """g2NN on squared distances (candidates already masked with inf): pairs (row, neighbour) before the gap.

    A gap d_j < ratio * d_{j+1} with j <= k needs d_1 < ratio * d_{k+1}, so rows with more than k entries
    below d_1 / ratio cannot match and are skipped before the (costly) partial sort.
    """
    r2 = ratio * ratio
    d1 = dist2.min(axis=1)
    live = np.flatnonzero(np.isfinite(d1) & ((dist2 * r2 < d1[:, None]).sum(axis=1) <= k))
    if len(live) == 0:
        return np.zeros((0, 2), np.int64)
    sub = dist2[live]
    kk = min(k, sub.shape[1] - 1)
    idx = np.argpartition(sub, kk, axis=1)[:, : kk + 1]
    part = np.take_along_axis(sub, idx, axis=1)
    order = np.argsort(part, axis=1)
    idx, part = np.take_along_axis(idx, order, 1), np.take_along_axis(part, order, 1)
    with np.errstate(invalid="ignore"):
        gap = part[:, :-1] < r2 * part[:, 1:]
    first = np.argmax(gap, axis=1)
    keep = gap.any(axis=1)[:, None] & (np.arange(kk)[None, :] <= first[:, None]) & np.isfinite(part[:, :-1])
    src = np.broadcast_to(rows[live][:, None], keep.shape)
    return np.stack([src[keep], idx[:, :-1][keep]], axis=1)


def g2nn_matches(kp: Keypoints, ratio: float = 0.5, k: int = 10, min_dist: float = 10.0,
                 chunk: int = 1024) -> np.ndarray:
    """Pairs (i, j), i < j, that pass the generalised 2NN test; shape (M, 2), unique.

    Keypoints closer than `min_dist` in the image (including each keypoint itself) are never candidates.
    """
    n = len(kp)
    if n < 3:
        return np.zeros((0, 2), np.int64)
    d = kp.desc
    sq = np.einsum("ij,ij->i", d, d)
    near = _near_pairs(kp.xy, min_dist)
    pairs = []
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        dist2 = np.maximum(sq[rows, None] + sq[None, :] - 2.0 * (d[rows] @ d.T), 0.0)
        inside = near[(near[:, 0] >= start) & (near[:, 0] < rows[-1] + 1)]
        dist2[inside[:, 0] - start, inside[:, 1]] = np.inf
        pairs.append(_gap_matches(dist2, rows, ratio, k))
    p = np.sort(np.concatenate(pairs), axis=1)
    return np.unique(p, axis=0) if len(p) else p.astype(np.int64)


def cluster_pairs(a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """Single-linkage labels of match pairs: two pairs link when both ends lie within `radius` (either way).

    Each pair is a point (a, b) in 4-D; a k-d tree over the pairs and their mirrors (b, a) finds the links
    with the Chebyshev metric, so memory stays linear in the number of pairs.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    m = len(a)
    joint = np.concatenate([np.concatenate([a, b], 1), np.concatenate([b, a], 1)])
    links = cKDTree(joint).query_pairs(radius, p=np.inf, output_type="ndarray") % m
    graph = coo_matrix((np.ones(len(links), bool), (links[:, 0], links[:, 1])), shape=(m, m))
    return connected_components(graph, directed=False)[1]


def _similarity(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Batch of 2x3 similarity maps sending p[:,0]->q[:,0] and p[:,1]->q[:,1]; p, q shaped (B, 2, 2)."""
    dp, dq = p[:, 1] - p[:, 0], q[:, 1] - q[:, 0]
    zp, zq = dp[:, 0] + 1j * dp[:, 1], dq[:, 0] + 1j * dq[:, 1]
    z = zq / np.where(np.abs(zp) < 1e-9, 1e-9, zp)
    a, b = z.real, z.imag
    t = q[:, 0] - np.stack([a * p[:, 0, 0] - b * p[:, 0, 1], b * p[:, 0, 0] + a * p[:, 0, 1]], 1)
    return np.stack([np.stack([a, -b, t[:, 0]], 1), np.stack([b, a, t[:, 1]], 1)], 1)


def apply(m: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Apply 2x3 affine map(s) to points; m (2,3) or (B,2,3), p (N,2) -> (N,2) or (B,N,2)."""
    return p @ np.swapaxes(m[..., :2], -1, -2) + m[..., None, :, 2] if m.ndim == 3 else p @ m[:, :2].T + m[:, 2]


def fit_affine(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine map sending p to q (needs 3 or more non-collinear points)."""
    design = np.concatenate([p, np.ones((len(p), 1))], axis=1)
    sol, *_ = np.linalg.lstsq(design, q, rcond=None)
    return sol.T


def _residuals(m: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-pair error of map m read as a->b and as b->a; shapes (..., N)."""
    return np.linalg.norm(apply(m, a) - b, axis=-1), np.linalg.norm(apply(m, b) - a, axis=-1)


@dataclass
class Transform:
    """An affine map from a copied region (source) to where it was pasted (target), and its inlier pairs."""

    matrix: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    pairs: np.ndarray


def ransac_affine(a: np.ndarray, b: np.ndarray, tol: float, iters: int = 300,
                  rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Best affine map for undirected pairs (a_i, b_i): 2-point similarity hypotheses, affine refit on inliers.

    Returns (matrix, oriented) where `oriented` is +1 for pairs read a->b, -1 for b->a, 0 for outliers.
    """
    n = len(a)
    if n < 3:
        return None
    rng = rng or np.random.default_rng(0)
    pick = np.stack([rng.choice(n, 2, replace=False) for _ in range(min(iters, n * (n - 1)))])
    flip = rng.random(len(pick)) < 0.5
    p = np.stack([a[pick[:, 0]], np.where(flip[:, None], b[pick[:, 1]], a[pick[:, 1]])], 1)
    q = np.stack([b[pick[:, 0]], np.where(flip[:, None], a[pick[:, 1]], b[pick[:, 1]])], 1)
    models = _similarity(p, q)
    fwd, bwd = _residuals(models, a, b)
    counts = (np.minimum(fwd, bwd) < tol).sum(1)
    m = models[int(np.argmax(counts))]
    for _ in range(3):
        fwd, bwd = _residuals(m, a, b)
        sign = np.where(fwd <= bwd, 1, -1) * (np.minimum(fwd, bwd) < tol)
        if (sign != 0).sum() < 3:
            return None
        src = np.where(sign[:, None] > 0, a, b)[sign != 0]
        dst = np.where(sign[:, None] > 0, b, a)[sign != 0]
        m = fit_affine(src, dst)
    fwd, bwd = _residuals(m, a, b)
    return m, np.where(fwd <= bwd, 1, -1) * (np.minimum(fwd, bwd) < tol)


def describe(m: np.ndarray) -> dict[str, float]:
    """Rotation (degrees, counter-clockwise on screen), mean scale, anisotropy, mirroring and shift of a 2x3 map."""
    lin = m[:, :2]
    sx, sy = np.linalg.norm(lin[:, 0]), np.linalg.norm(lin[:, 1])
    rot = float(np.degrees(np.arctan2(lin[1, 0] - lin[0, 1], lin[0, 0] + lin[1, 1])))
    return {"rotation_deg": -rot, "scale": float(np.sqrt(abs(np.linalg.det(lin)))),
            "anisotropy": float(max(sx, sy) / max(min(sx, sy), 1e-9)),
            "mirrored": bool(np.linalg.det(lin) < 0),
            "tx": float(m[0, 2]), "ty": float(m[1, 2])}

"""Copy-move (region duplication) detection by keypoint matching inside the image.

Amerini, Ballan, Caldelli, Del Bimbo, Serra 2011, "A SIFT-based forensic method for copy-move attack detection
and transformation recovery" (IEEE TIFS 6(3)): SIFT keypoints are matched against the same image with the
generalised 2NN test, matches are clustered and each cluster's geometric transform is estimated by RANSAC, so
copies that were rotated or scaled are found and the transform is recovered. Matched keypoints only mark
points, so the region is grown as in Pan & Lyu 2010 ("Region duplication detection using image feature
matching", IEEE TIFS 5(4)): the image is warped by the recovered map and by its inverse, and the pixels whose
neighbourhood correlates with the warped image (around the matched keypoints) form the source and the target.

A duplicated area is scored by its inlier count and verified size. Copies whose source and target overlap,
or whose shifts are whole multiples of each other, look like a repeating pattern and get a low score.

Assumptions and limits: the copied region must hold texture (SIFT finds few keypoints on flat or smooth areas;
`copy_move_dense` in the thorough profile covers those); copies smaller than about 32 px or scaled by more than
about 3x are missed; mirrored copies are missed (SIFT is not flip-invariant); genuinely repeated structures
(windows of a facade, tiles, printed patterns) are duplicated regions too and can be reported as copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.keypoints import (
    Transform,
    apply,
    cluster_pairs,
    describe,
    g2nn_matches,
    ransac_affine,
    sift_keypoints,
    working_luma,
)
from .. import wording
from ..base import Detector
from ..evidence import Evidence


@dataclass
class Copy:
    """One duplicated region: its map, verified size, and how much it looks like a repeating pattern instead."""

    transform: Transform
    target_fraction: float = 0.0
    source_fraction: float = 0.0
    overlap: float = 0.0
    periodic: bool = False
    confidence: float = 0.0


@dataclass
class CopyMoveOutput:
    """Native output: the copies found (best first), the verified source+target mask, and a similarity map
    (local correlation with the copy, >= 0.5 exactly on the mask)."""

    copies: list[Copy]
    n_keypoints: int
    n_matches: int
    mask: np.ndarray
    similarity: np.ndarray
    stats: dict[str, float] = field(default_factory=dict)


def _plausible(t: Transform, min_shift: float) -> bool:
    """Reject degenerate or implausible maps: extreme scale or shear, tiny shift, inliers stacked on a point."""
    d = describe(t.matrix)
    if not (0.3 < d["scale"] < 3.3 and d["anisotropy"] < 1.6):
        return False
    if np.median(np.linalg.norm(t.dst - t.src, axis=1)) < min_shift:
        return False
    return len(np.unique(np.round(t.src / 2.0), axis=0)) >= 4 and float(t.src.std(0).max()) > 3.0


def _same_map(t: Transform, u: Transform, tol: float) -> bool:
    """Whether u describes the same copy as t (either direction), judged on t's inlier points."""
    fwd = np.linalg.norm(apply(u.matrix, t.src) - t.dst, axis=1)
    bwd = np.linalg.norm(apply(u.matrix, t.dst) - t.src, axis=1)
    return bool(np.median(np.minimum(fwd, bwd)) < tol)


class CopyMoveSIFT(Detector):
    name = "copy_move"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap", "mask")
    extra = "image"
    requires = ("cv2", "scipy")
    profiles = ("default", "thorough")
    paper = ("Amerini et al. 2011, 'A SIFT-based forensic method for copy-move attack detection and "
             "transformation recovery'; Pan & Lyu 2010, 'Region duplication detection using image feature "
             "matching'")
    description = "Finds parts of the image that appear twice (possibly rotated or scaled) by matching keypoints."

    def __init__(self, target_pixels: int = 250_000, ratio: float = 0.6, min_inliers: int = 5,
                 ncc_threshold: float = 0.55, contrast: float = 0.02, max_keypoints: int = 2000, max_copies: int = 8) -> None:
        self.max_copies = max_copies
        self.target_pixels = target_pixels
        self.max_keypoints = max_keypoints
        self.contrast = contrast
        self.ratio = ratio
        self.min_inliers = min_inliers
        self.ncc_threshold = ncc_threshold

    def predict(self, media: ImageMedia) -> CopyMoveOutput:
        h, w = media.height, media.width
        if min(h, w) < 48:
            raise NotApplicable(f"image is {w}x{h}; copy-move search needs at least 48 px per side")
        side = float(np.sqrt(h * w))
        kp = sift_keypoints(media, self.target_pixels, self.max_keypoints, self.contrast)
        min_shift = max(10.0, 0.015 * side)
        pairs = g2nn_matches(kp, ratio=self.ratio, min_dist=min_shift)
        transforms = self._transforms(kp.xy[pairs[:, 0]], kp.xy[pairs[:, 1]], pairs, side, min_shift, kp.scale)
        luma, s = working_luma(media, self.target_pixels)
        copies = [Copy(t) for t in transforms]
        mask, sim = region_maps(luma, s, copies, self.ncc_threshold)
        mark_periodic(copies)
        for c in copies:
            c.confidence = self._confidence(c)
        copies.sort(key=lambda c: -c.confidence)
        mask, sim = _upscale(mask, h, w, nearest=True), _upscale(sim, h, w, nearest=False)
        heat = np.where(mask, 0.5 + 0.5 * sim, 0.45 * sim).astype(np.float32)
        return CopyMoveOutput(copies, len(kp), len(pairs), mask, heat, {"working_scale": s})

    def _confidence(self, c: Copy) -> float:
        """More inliers and a verified region raise it; overlapping or periodic copies (patterns) lower it."""
        strength = 1.0 - np.exp(-(len(c.transform.pairs) - self.min_inliers + 1) / 6.0)
        support = min(1.0, c.target_fraction / 0.003) ** 0.5
        pattern = 0.3 if c.periodic else 1.0 - 0.7 * min(1.0, c.overlap / 0.5)
        return float(strength * (0.5 + 0.5 * support) * pattern)

    def _transforms(self, a: np.ndarray, b: np.ndarray, pairs: np.ndarray, side: float, min_shift: float,
                    scale: float) -> list[Transform]:
        """RANSAC on each cluster of match pairs, repeatedly, keeping plausible maps and merging duplicates."""
        if len(pairs) < self.min_inliers:
            return []
        tol = max(3.0, 1.5 / scale)
        labels = cluster_pairs(a, b, radius=max(20.0, 0.08 * side))
        found: list[Transform] = []
        rng = np.random.default_rng(0)
        for lab in np.flatnonzero(np.bincount(labels) >= self.min_inliers):
            idx = np.flatnonzero(labels == lab)
            for _ in range(3):
                if len(idx) < self.min_inliers:
                    break
                fit = ransac_affine(a[idx], b[idx], tol, rng=rng)
                if fit is None or (fit[1] != 0).sum() < self.min_inliers:
                    break
                m, sign = fit
                fwd = sign > 0
                sel = sign != 0
                t = Transform(m, np.where(fwd[:, None], a[idx], b[idx])[sel],
                              np.where(fwd[:, None], b[idx], a[idx])[sel], pairs[idx[sel]])
                if _plausible(t, min_shift) and not any(_same_map(t, u, 2 * tol) for u in found):
                    found.append(t)
                idx = idx[~sel]
        return sorted(found, key=lambda t: -len(t.pairs))[: self.max_copies]

    def to_evidence(self, native: CopyMoveOutput, media: ImageMedia) -> Evidence:
        details = {
            "n_keypoints": native.n_keypoints,
            "n_matches": native.n_matches,
            "mask_fraction": float(native.mask.mean()),
            "copies": [_copy_details(c) for c in native.copies],
            **native.stats,
        }
        score = native.copies[0].confidence if native.copies else 0.0
        details.update({"region_share": wording.share(native.mask), "band": wording.band(score)})
        return Evidence(score=score, summary=_summary(native, score), heatmap=native.similarity, mask=native.mask,
                        details=details)


def _copy_details(c: Copy) -> dict:
    """JSON-ready description of one copy: map, rotation, scale, shift, inliers, region sizes, pattern cues."""
    t = c.transform
    return {**describe(t.matrix), "matrix": np.round(t.matrix, 5).tolist(), "inliers": len(t.pairs),
            "target_fraction": c.target_fraction, "source_fraction": c.source_fraction,
            "overlap": c.overlap, "periodic": c.periodic, "confidence": c.confidence,
            "source_center": np.round(t.src.mean(0), 1).tolist(),
            "target_center": np.round(t.dst.mean(0), 1).tolist()}


def _summary(native: CopyMoveOutput, score: float) -> str:
    """One plain sentence about the most convincing copy found (or that none was found), worded for the
    score's band (unmask.detectors.wording); the share it states is the mask's (both copies)."""
    if not native.copies:
        return wording.say(score, none=(f"No part of the image was found to appear twice ({native.n_keypoints} "
                                        "distinctive points were compared with each other)."))
    c = native.copies[0]
    d = describe(c.transform.matrix)
    how = []
    if abs(d["rotation_deg"]) >= 3:
        how.append(f"rotated by about {abs(d['rotation_deg']):.0f} degrees")
    if abs(d["scale"] - 1) >= 0.05:
        how.append(f"scaled by {d['scale']:.2f}x")
    size = f"about {c.target_fraction:.1%} of the picture" if c.target_fraction >= 0.0005 else "a small area"
    how_text = f", {' and '.join(how)}" if how else ""
    marked = f"{len(c.transform.pairs)} matching points; the mask marks both copies, " \
             f"{wording.of_image(wording.share(native.mask))}"
    if c.periodic or c.overlap > 0.25:
        pattern = (f"a region of {size} matches another{how_text}, but the copies overlap or repeat at a regular "
                   f"step, as in a repeating pattern (tiles, windows, fences)")
        return wording.say(score, unclear=f"A weak sign: {pattern}, so this may well be genuine ({marked}).",
                           none=f"No clear sign of a copy: {pattern}, so this may well be genuine ({marked}).")
    more = sum(1 for o in native.copies[1:] if o.confidence >= 0.3)
    extra = f" ({more} more duplicated area{'s' if more > 1 else ''} found)" if more else ""
    return wording.say(
        score,
        clear=f"A region of {size} appears twice{how_text}{extra}, which suggests part of the picture was copied "
              f"and pasted elsewhere in it ({marked}).",
        unclear=f"A region of {size} seems to appear twice{how_text}{extra}, but the match is weak ({marked}): "
                "not enough on its own to point to a copy-paste.",
        none=f"No clear sign of a copy: a region of {size} may appear twice{how_text}, but the match is too weak "
             f"to count ({marked}).",
    )


def _upscale(x: np.ndarray, h: int, w: int, nearest: bool) -> np.ndarray:
    """Resize a working-scale map to the input resolution."""
    import cv2

    if x.shape == (h, w):
        return x
    if nearest:
        return cv2.resize(x.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
    return cv2.resize(x.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def local_ncc(x: np.ndarray, y: np.ndarray, radius: int) -> np.ndarray:
    """Normalised cross-correlation of x and y over (2r+1)^2 windows; ~0 where either window is flat."""
    import cv2

    k = (2 * radius + 1, 2 * radius + 1)

    def mean(z: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(z, cv2.CV_32F, k, borderType=cv2.BORDER_REFLECT)

    mx, my = mean(x), mean(y)
    vx = np.maximum(mean(x * x) - mx * mx, 0.0)
    vy = np.maximum(mean(y * y) - my * my, 0.0)
    return (mean(x * y) - mx * my) / np.sqrt(vx * vy + 4.0)


def _box(points: np.ndarray, margin: int, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """Rows and columns of the points' bounding box grown by `margin`, clipped to the image."""
    x0, y0 = np.floor(points.min(0)).astype(int) - margin - 1
    x1, y1 = np.ceil(points.max(0)).astype(int) + margin + 2
    return slice(max(0, y0), min(shape[0], y1)), slice(max(0, x0), min(shape[1], x1))


def _zone(points: np.ndarray, shape: tuple[int, int], margin: int) -> np.ndarray:
    """Convex hull of the points, dilated by `margin`: where a copied region can plausibly extend."""
    import cv2

    outside = np.ones(shape, np.uint8)
    cv2.fillConvexPoly(outside, cv2.convexHull(np.round(points).astype(np.int32)), 0)
    return cv2.distanceTransform(outside, cv2.DIST_L2, 3) <= margin


def _grow(ncc: np.ndarray, points: np.ndarray, threshold: float, margin: int) -> np.ndarray:
    """Connected areas of high correlation inside the keypoints' zone that touch a matched keypoint.

    `ncc` and `points` are given in the coordinates of a crop around the zone.
    """
    import cv2
    from scipy import ndimage

    cand = (ncc > threshold) & _zone(points, ncc.shape, margin)
    cand = cv2.morphologyEx(cand.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool)
    labels, n = ndimage.label(cand)
    if n == 0:
        return cand
    r, c = np.clip(np.round(points[:, 1]).astype(int), 0, ncc.shape[0] - 1), \
        np.clip(np.round(points[:, 0]).astype(int), 0, ncc.shape[1] - 1)
    hit = np.unique(ndimage.maximum_filter(labels, size=5)[r, c])
    return ndimage.binary_fill_holes(np.isin(labels, hit[hit > 0]))


def _side(ncc: np.ndarray, points: np.ndarray, threshold: float, margin: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """One copy's side (source or target): its grown region and its correlation inside the zone, full size."""
    rows, cols = _box(points, margin, ncc.shape)
    local = points - (cols.start, rows.start)
    region, near = np.zeros(ncc.shape, bool), np.zeros(ncc.shape, np.float32)
    region[rows, cols] = _grow(ncc[rows, cols], local, threshold, margin)
    near[rows, cols] = np.clip(ncc[rows, cols], 0, 1) * _zone(local, region[rows, cols].shape, margin)
    return region, near


def mark_periodic(copies: list[Copy], tol: float = 0.12) -> None:
    """Flag near-translations whose shifts are whole multiples of another's: the signature of a pattern."""
    shifts = [c.transform.matrix[:, 2] if np.abs(c.transform.matrix[:, :2] - np.eye(2)).max() < 0.1 else None
              for c in copies]
    for i, ti in enumerate(shifts):
        for j, tj in enumerate(shifts):
            if i == j or ti is None or tj is None:
                continue
            rho = float(tj @ ti / max(ti @ ti, 1e-9))
            if abs(round(rho)) >= 2 and abs(rho - round(rho)) < 0.15 and \
                    np.linalg.norm(tj - rho * ti) < tol * np.linalg.norm(tj):
                copies[i].periodic = copies[j].periodic = True


def region_maps(luma: np.ndarray, s: float, copies: list[Copy], threshold: float,
                radius: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Source+target mask and correlation map (near the copies) at the working scale of `luma`.

    Also fills each copy's region sizes and the overlap of its source and target.
    """
    import cv2

    g = luma.astype(np.float32)
    h, w = g.shape
    mask, sim = np.zeros((h, w), bool), np.zeros((h, w), np.float32)
    for c in copies:
        m = c.transform.matrix.copy()
        m[:, 2] *= s
        src, dst = c.transform.src * s, c.transform.dst * s
        margin = int(max(4, 0.5 * np.sqrt(max(np.ptp(dst[:, 0]) * np.ptp(dst[:, 1]), 1.0))))
        at_dst = local_ncc(g, cv2.warpAffine(g, m, (w, h), flags=cv2.INTER_LINEAR), radius)
        at_src = local_ncc(g, cv2.warpAffine(g, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP),
                           radius)
        tgt, near_t = _side(at_dst, dst, threshold, margin)
        source, near_s = _side(at_src, src, threshold, margin)
        c.target_fraction, c.source_fraction = float(tgt.mean()), float(source.mean())
        c.overlap = float((tgt & source).sum() / max(1, min(tgt.sum(), source.sum())))
        mask |= tgt | source
        sim = np.maximum(sim, np.maximum(near_t, near_s))
    return mask, sim

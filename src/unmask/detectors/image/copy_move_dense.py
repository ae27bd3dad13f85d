"""Dense-field copy-move detection: every pixel's patch is matched, so copies of weak texture are found too.

Cozzolino, Poggi, Verdoliva 2015, "Efficient dense-field copy-move forgery detection" (IEEE TIFS 10(11)):
  1. each pixel is described by the magnitudes of the Zernike moments of the circular patch around it (orders
     up to 5, 12 numbers), which do not change when the patch is rotated;
  2. a nearest-neighbour field (the best-matching other patch, at least `min_shift` away) is computed with
     PatchMatch (Barnes et al. 2009): guesses improved by propagation from neighbours (with the linear
     extrapolation the paper adds so rotated or scaled copies, whose offsets vary linearly, also propagate)
     and by random search at shrinking radii. Here all pixels are updated at once (numpy) instead of in scan
     order, so propagation uses jump-flooding steps (8, 4, 2, 1 px) and a one-pixel hill climb, and the start
     is the exact nearest neighbour (k-d tree) of a sparse grid of patches instead of pure chance;
  3. the field is median-filtered and a plane is fitted to the offsets around each pixel (dense linear fitting);
     a copy gives a smooth, affine offset field, unrelated matches a chaotic one, so a small fitting error marks
     a copied pixel. Small areas are dropped, the detection is mirrored onto the matched pixels (so both source
     and target are marked) and dilated by the patch radius.
Added checks (ours): an area counts only if its matches point back (reciprocal), its map is near-rigid and not
a mirror image (Zernike magnitudes cannot tell a patch from its mirror, and reflections in water or symmetric
buildings are common), and it is called a repeating pattern, with a low score, when its patches also match
one more step of the same motion on (or a fraction of a pure shift).

Assumptions and limits: copies must hold some texture (patches whose fine detail is below `min_detail` grey
levels are skipped: copies of flat or smoothly shaded areas are invisible to any method); mirrored copies are
not reported; scaling tolerance is about +-20% (Zernike moments are not scale-invariant); motifs printed a few
times across an image (fabric prints, rows of identical houses) look exactly like copies; runtime is one to
two seconds per megapixel (the image is analysed at <= 0.4 MP), so this runs in the thorough profile only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import factorial

import numpy as np

from ...errors import NotApplicable
from ...media import ImageMedia
from ...preprocess.keypoints import apply, describe, fit_affine, working_luma
from .. import wording
from ..base import Detector
from ..evidence import Evidence

ZERNIKE_ORDERS = ((0, 0), (1, 1), (2, 0), (2, 2), (3, 1), (3, 3), (4, 0), (4, 2), (4, 4), (5, 1), (5, 3), (5, 5))


def zernike_kernels(radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Real and imaginary parts of conj(V_nm) on a disk of `radius` px, scaled by (n+1)/pi per unit area."""
    yy, xx = np.mgrid[-radius: radius + 1, -radius: radius + 1] / (radius + 0.5)
    rho, theta = np.hypot(xx, yy), np.arctan2(yy, xx)
    inside = rho <= 1.0
    area = 1.0 / (radius + 0.5) ** 2
    kernels = []
    for n, m in ZERNIKE_ORDERS:
        radial = sum((-1) ** k * factorial(n - k) / (factorial(k) * factorial((n + m) // 2 - k)
                                                    * factorial((n - m) // 2 - k)) * rho ** (n - 2 * k)
                     for k in range((n - m) // 2 + 1))
        w = (n + 1) / np.pi * area * radial * inside
        kernels.append(((w * np.cos(m * theta)).astype(np.float32), (-w * np.sin(m * theta)).astype(np.float32)))
    return kernels


def zernike_features(g: np.ndarray, radius: int) -> np.ndarray:
    """|Z_nm| of the disk around every pixel, shape (H, W, 12): rotation-invariant patch descriptors."""
    import cv2

    feats = []
    for kr, ki in zernike_kernels(radius):
        re = cv2.filter2D(g, cv2.CV_32F, kr, borderType=cv2.BORDER_REFLECT)
        im = cv2.filter2D(g, cv2.CV_32F, ki, borderType=cv2.BORDER_REFLECT) if np.any(ki) else 0.0
        feats.append(np.sqrt(re * re + im * im))
    return np.stack(feats, axis=-1)


class PatchMatch:
    """Parallel PatchMatch over a feature image: every textured pixel (`valid`) gets its most similar patch
    at least `min_shift` away. Offsets live on the full grid (so neighbours can be read by shifting it), costs
    are evaluated only at valid pixels."""

    def __init__(self, feats: np.ndarray, valid: np.ndarray, min_shift: float, border: int,
                 rng: np.random.Generator) -> None:
        self.h, self.w = valid.shape
        self.f = feats.reshape(-1, feats.shape[-1])
        self.py, self.px = np.nonzero(valid)
        self.fv = self.f[self.py * self.w + self.px]
        self.min_shift2 = min_shift**2
        self.lo, self.hi = border, (self.h - 1 - border, self.w - 1 - border)
        self.rng = rng
        self.oy = np.zeros((self.h, self.w), np.int32)
        self.ox = np.zeros((self.h, self.w), np.int32)
        self.cost = np.full(len(self.py), np.inf, np.float32)

    def _cost(self, oy: np.ndarray, ox: np.ndarray) -> np.ndarray:
        """Squared feature distance for offsets (given at the valid pixels); inf where not allowed."""
        ty, tx = self.py + oy, self.px + ox
        ok = (ty >= self.lo) & (ty <= self.hi[0]) & (tx >= self.lo) & (tx <= self.hi[1])
        ok &= oy * oy + ox * ox >= self.min_shift2
        d = np.take(self.f, np.where(ok, ty * self.w + tx, 0), axis=0)
        d -= self.fv
        c = np.einsum("ij,ij->i", d, d)
        c[~ok] = np.inf
        return c

    def offer(self, oy: np.ndarray, ox: np.ndarray) -> None:
        """Offsets (at valid pixels) replace the current ones wherever they match better."""
        if oy.dtype.kind == "f":
            oy, ox = np.rint(oy).astype(np.int32), np.rint(ox).astype(np.int32)
        c = self._cost(oy, ox)
        better = np.flatnonzero(c < self.cost)
        self.cost[better] = c[better]
        self.oy[self.py[better], self.px[better]] = oy[better]
        self.ox[self.py[better], self.px[better]] = ox[better]

    def run(self, seed: tuple[np.ndarray, np.ndarray] | None = None,
            iterations: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """Start from `seed` offsets (else random), then rounds of propagation and random search.

        Returns the offset field (dy, dx) on the full grid; pixels that are not valid keep offset 0.
        """
        n = len(self.py)
        self.offer(self.rng.integers(self.lo, self.hi[0] + 1, n) - self.py,
                   self.rng.integers(self.lo, self.hi[1] + 1, n) - self.px)
        if seed is not None:
            self.offer(seed[0][self.py, self.px], seed[1][self.py, self.px])
        for _ in range(iterations):
            for step in (8, 4, 2, 1):
                self._propagate(step, extrapolate=step <= 2)
            radius = max(self.h, self.w) / 4
            while radius >= 2:
                cy, cx = self.oy[self.py, self.px], self.ox[self.py, self.px]
                self.offer(cy + self.rng.uniform(-radius, radius, n), cx + self.rng.uniform(-radius, radius, n))
                radius /= 3
            self._refine()
        return self.oy, self.ox

    def _refine(self) -> None:
        """Hill-climb: try each offset moved by one pixel up, down, left and right."""
        cy, cx = self.oy[self.py, self.px], self.ox[self.py, self.px]
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            self.offer(cy + dy, cx + dx)

    def _propagate(self, step: int, extrapolate: bool) -> None:
        """Offsets of the neighbours `step` away (jump-flooding steps so a good match spreads far in one round),
        and for short steps also linearly extrapolated, so the varying offsets of rotated or scaled copies
        propagate too."""
        for axis in (0, 1):
            for sign in (1, -1):
                n1y, n1x = (_shift(o, sign * step, axis)[self.py, self.px] for o in (self.oy, self.ox))
                self.offer(n1y, n1x)
                if extrapolate:
                    n2y, n2x = (_shift(o, 2 * sign * step, axis)[self.py, self.px] for o in (self.oy, self.ox))
                    self.offer(2 * n1y - n2y, 2 * n1x - n2x)


def seed_offsets(feats: np.ndarray, valid: np.ndarray, min_shift: float, stride: int = 4,
                 k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Exact nearest neighbours (k-d tree) of a sparse grid of patches, spread to every pixel as a first guess.

    Each grid patch takes its most similar grid patch at least `min_shift` away; a pixel starts from the offset
    of its grid cell. This replaces PatchMatch's purely random start, which rarely hits a small copy.
    """
    from scipy.spatial import cKDTree

    h, w = valid.shape
    gy, gx = np.mgrid[stride // 2: h: stride, stride // 2: w: stride]
    keep = valid[gy, gx]
    oy = np.zeros(gy.shape, np.int32)
    ox = np.zeros(gy.shape, np.int32)
    py, px = gy[keep], gx[keep]
    if len(py) > k:
        _, idx = cKDTree(feats[py, px]).query(feats[py, px], k=k)
        dy, dx = py[idx] - py[:, None], px[idx] - px[:, None]
        far = dy * dy + dx * dx >= min_shift**2
        first = np.argmax(far, axis=1)
        pick = idx[np.arange(len(py)), first]
        oy[keep] = np.where(far.any(1), py[pick] - py, 0)
        ox[keep] = np.where(far.any(1), px[pick] - px, 0)
    up = np.ones((stride, stride), np.int32)
    return np.kron(oy, up)[:h, :w], np.kron(ox, up)[:h, :w]


def detail(g: np.ndarray, radius: int) -> np.ndarray:
    """RMS of the fine detail (image minus a sigma-1 blur) around each pixel: texture, not smooth shading."""
    import cv2

    hp = g - cv2.GaussianBlur(g, (0, 0), 1.0)
    return np.sqrt(np.maximum(cv2.blur(hp * hp, (2 * radius + 1,) * 2), 0.0))


def _shift(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """a moved by k pixels along axis (so out[i] = a[i - k]), edges repeated."""
    n = a.shape[axis]
    idx = np.clip(np.arange(n) - k, 0, n - 1)
    return np.take(a, idx, axis=axis)


def fit_error(oy: np.ndarray, ox: np.ndarray, radius: int) -> np.ndarray:
    """Dense linear fitting: mean squared residual of a plane fitted to each offset component per window.

    On a symmetric window the basis {1, u, v} is orthogonal, so the fit reduces to box sums of o, u*o, v*o.
    """
    import cv2

    k = 2 * radius + 1
    n = float(k * k)
    ramp = np.arange(-radius, radius + 1, dtype=np.float32)
    su2 = float(k * (ramp**2).sum())
    err = np.zeros(oy.shape, np.float32)
    for o in (oy.astype(np.float32), ox.astype(np.float32)):
        box = cv2.boxFilter(o, cv2.CV_32F, (k, k), normalize=False, borderType=cv2.BORDER_REFLECT)
        sq = cv2.boxFilter(o * o, cv2.CV_32F, (k, k), normalize=False, borderType=cv2.BORDER_REFLECT)
        gu = cv2.sepFilter2D(o, cv2.CV_32F, ramp, np.ones(k, np.float32), borderType=cv2.BORDER_REFLECT)
        gv = cv2.sepFilter2D(o, cv2.CV_32F, np.ones(k, np.float32), ramp, borderType=cv2.BORDER_REFLECT)
        err += sq - box * box / n - (gu * gu + gv * gv) / su2
    return np.maximum(err, 0.0) / n


@dataclass
class DenseRegion:
    """One connected detected area: its size and affine map, the share of its matches that point back
    (`reciprocal`), land inside itself (`self_match`), or repeat one step further (`repeats`)."""

    fraction: float
    matrix: np.ndarray
    self_match: float
    reciprocal: float
    repeats: float

    @property
    def pattern(self) -> bool:
        """Whether the area looks like part of a repeating pattern rather than a single pasted copy."""
        return self.self_match >= 0.3 or self.repeats >= 0.3


@dataclass
class OffsetField:
    """The nearest-neighbour field (dy, dx) and the features it matched, with a typical unrelated distance."""

    oy: np.ndarray
    ox: np.ndarray
    feats: np.ndarray
    typical: float

    def targets(self, ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates each (ys, xs) is matched to, clipped to the image."""
        h, w = self.oy.shape
        return (np.clip(np.rint(ys + self.oy[ys, xs]).astype(int), 0, h - 1),
                np.clip(np.rint(xs + self.ox[ys, xs]).astype(int), 0, w - 1))

    def repeats(self, m: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> float:
        """How well the patches also match other steps of the same motion (0..1): high for a pattern.

        A pasted copy sits next to unrelated content; a pattern (tiles, bricks, a checkerboard) goes on
        repeating, so x -> m(m(x)) and x -> m^-1(x) keep matching and, when m is a shift by a multiple of the
        pattern's period, so do fractions of the shift. Steps that leave the image are not counted.
        """
        p0 = np.stack([xs, ys], 1).astype(np.float64)
        one = apply(m, p0)
        inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))[:2]
        tests = [self._similar(one, apply(m, one)), self._similar(p0, apply(inv, p0))]
        if np.abs(m[:, :2] - np.eye(2)).max() < 0.05:
            tests += [self._similar(p0, p0 + f * (one - p0)) for f in (1 / 2, 1 / 3, 1 / 4)]
        shares = [np.nanmean(t) for t in tests if np.isfinite(t).sum() >= 0.2 * len(ys)]
        return float(max(shares, default=0.0))

    def _similar(self, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        """1.0 where the patches at p and q match about as well as a copy, 0.0 where not, nan off the image."""
        h, w = self.oy.shape
        ok = (q[:, 0] >= 0) & (q[:, 0] <= w - 1) & (q[:, 1] >= 0) & (q[:, 1] <= h - 1)
        pi = np.rint(p).astype(int)
        qi = np.rint(q).astype(int)
        a = self.feats[pi[:, 1].clip(0, h - 1), pi[:, 0].clip(0, w - 1)]
        b = self.feats[qi[:, 1].clip(0, h - 1), qi[:, 0].clip(0, w - 1)]
        close = (((a - b) ** 2).sum(1) < 0.05 * self.typical).astype(np.float64)
        return np.where(ok, close, np.nan)


@dataclass
class DenseOutput:
    """Native output: consistency map (exp of minus the fitting error), mask (source and target), regions."""

    consistency: np.ndarray
    mask: np.ndarray
    regions: list[DenseRegion]
    stats: dict[str, float] = field(default_factory=dict)


class CopyMoveDense(Detector):
    name = "copy_move_dense"
    version = "1"
    modalities = ("image",)
    outputs = ("score", "heatmap", "mask")
    extra = "image"
    requires = ("cv2", "scipy")
    profiles = ("thorough",)
    paper = "Cozzolino, Poggi, Verdoliva 2015, 'Efficient dense-field copy-move forgery detection'"
    description = ("Matches every small patch against the rest of the image (rotation-invariant Zernike moments, "
                   "PatchMatch) and marks areas whose matches move together, as a pasted copy does.")

    def __init__(self, target_pixels: int = 400_000, radius: int = 6, fit_radius: int = 4,
                 max_error: float = 3.0, min_detail: float = 1.0, min_area: float = 0.002,
                 min_reciprocal: float = 0.5, iterations: int = 3, seed: int = 0) -> None:
        self.target_pixels = target_pixels
        self.radius = radius
        self.fit_radius = fit_radius
        self.max_error = max_error
        self.min_detail = min_detail
        self.min_area = min_area
        self.min_reciprocal = min_reciprocal
        self.iterations = iterations
        self.seed = seed

    def predict(self, media: ImageMedia) -> DenseOutput:
        if min(media.height, media.width) < 64:
            raise NotApplicable("image is too small for dense copy-move search (needs 64 px per side)")
        luma, s = working_luma(media, self.target_pixels)
        g = luma.astype(np.float32)
        valid = np.zeros(g.shape, bool)
        r = self.radius
        valid[r:-r, r:-r] = True
        valid &= detail(g, r) >= self.min_detail
        min_shift = max(3.0 * r, 0.02 * np.sqrt(g.size))
        nnf = self._offsets(g, valid, min_shift)
        err = fit_error(nnf.oy, nnf.ox, self.fit_radius)
        err[~valid] = np.inf
        mask, regions = self._regions((err < self.max_error) & (nnf.oy**2 + nnf.ox**2 >= min_shift**2), nnf)
        h, w = media.height, media.width
        consistency = np.where(valid, np.exp(-np.minimum(err, 1e3) / self.max_error), 0.0).astype(np.float32)
        return DenseOutput(_resize(consistency, h, w), _resize(mask.astype(np.float32), h, w) > 0.5, regions,
                           {"working_scale": s, "valid_fraction": float(valid.mean())})

    def _offsets(self, g: np.ndarray, valid: np.ndarray, min_shift: float) -> OffsetField:
        """Median-filtered nearest-neighbour field of the Zernike features of every valid patch."""
        import cv2

        feats = zernike_features(g, self.radius)
        rng = np.random.default_rng(self.seed)
        pm = PatchMatch(feats, valid, min_shift, self.radius, rng)
        oy, ox = pm.run(seed_offsets(feats, valid, min_shift), self.iterations)
        flat = feats[valid] if valid.any() else feats.reshape(-1, feats.shape[-1])
        pairs = rng.integers(0, len(flat), (2, 4000))
        typical = float(np.median(((flat[pairs[0]] - flat[pairs[1]]) ** 2).sum(1)))
        return OffsetField(cv2.medianBlur(oy.astype(np.float32), 5), cv2.medianBlur(ox.astype(np.float32), 5),
                           feats, typical)

    def _regions(self, cand: np.ndarray, nnf: OffsetField) -> tuple[np.ndarray, list[DenseRegion]]:
        """Large enough connected candidates, mirrored onto their matches and dilated by the patch radius."""
        import cv2
        from scipy import ndimage

        h, w = cand.shape
        labels, n = ndimage.label(cand)
        sizes = np.bincount(labels.ravel(), minlength=n + 1)
        sizes[0] = 0
        mask = np.zeros((h, w), bool)
        regions = []
        for lab in np.flatnonzero(sizes >= max(64, int(self.min_area * h * w))):
            inside = labels == lab
            ys, xs = np.nonzero(inside)
            region = self._describe(inside, ys, xs, nnf)
            if region is None:
                continue
            ty, tx = nnf.targets(ys, xs)
            mask[ys, xs] = True
            mask[ty, tx] = True
            regions.append(region)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * self.radius + 1,) * 2)
        mask = ndimage.binary_fill_holes(cv2.dilate(mask.astype(np.uint8), kernel).astype(bool))
        return mask, sorted(regions, key=lambda r: -r.fraction)

    def _describe(self, inside: np.ndarray, ys: np.ndarray, xs: np.ndarray, nnf: OffsetField
                  ) -> DenseRegion | None:
        """The region's affine map and match statistics, or None when it cannot be a copy.

        A copy's offsets are reciprocal (the target's best match points back to the source) and describe a
        near-rigid map; smooth shading can also give a coherent field, but a contracting, one-way one.
        Mirror maps are rejected: Zernike magnitudes cannot tell a patch from its mirror image, and mirror
        symmetry (reflections in water, symmetric buildings) is common in genuine photos.
        """
        oy, ox = nnf.oy, nnf.ox
        ty, tx = nnf.targets(ys, xs)
        back = np.hypot(oy[ty, tx] + oy[ys, xs], ox[ty, tx] + ox[ys, xs]) <= 3.0
        src = np.stack([xs, ys], 1).astype(np.float64)
        m = fit_affine(src, src + np.stack([ox[ys, xs], oy[ys, xs]], 1))
        d = describe(m)
        if d["mirrored"] or not (0.65 < d["scale"] < 1.55 and d["anisotropy"] < 1.35) \
                or back.mean() < self.min_reciprocal:
            return None
        return DenseRegion(len(ys) / inside.size, m, float(np.mean(inside[ty, tx])), float(back.mean()),
                           nnf.repeats(m, ys, xs))

    def to_evidence(self, native: DenseOutput, media: ImageMedia) -> Evidence:
        copies = [r for r in native.regions if not r.pattern]
        pattern = [r for r in native.regions if r.pattern]
        area = sum(r.fraction for r in copies)
        score = float(1.0 - np.exp(-area / 0.01)) if copies else 0.0
        score = max(score, 0.3 * (1.0 - np.exp(-sum(r.fraction for r in pattern) / 0.01)))
        details = {"mask_fraction": float(native.mask.mean()),
                   "regions": [{**describe(r.matrix), "fraction": r.fraction, "self_match": r.self_match,
                                "repeats": r.repeats,
                                "reciprocal": r.reciprocal, "matrix": np.round(r.matrix, 4).tolist()}
                               for r in native.regions], **native.stats}
        heat = np.where(native.mask, 0.5 + 0.5 * native.consistency, 0.45 * native.consistency)
        details.update({"region_share": wording.share(native.mask), "band": wording.band(score)})
        return Evidence(score=score, summary=_dense_summary(copies, pattern, score, details["region_share"]),
                        heatmap=heat, mask=native.mask, details=details)


def _dense_summary(copies: list[DenseRegion], pattern: list[DenseRegion], score: float, mask_share: float) -> str:
    """One plain sentence about the largest copy (or repeating pattern) found, worded for the score's band
    (unmask.detectors.wording); the share it states is the mask's."""
    marked = f"the mask marks {wording.of_image(mask_share)}"
    if copies:
        r = copies[0]
        d = describe(r.matrix)
        how = []
        if abs(d["rotation_deg"]) >= 3:
            how.append(f"rotated by about {abs(d['rotation_deg']):.0f} degrees")
        if abs(d["scale"] - 1) >= 0.05:
            how.append(f"scaled by {max(d['scale'], 1 / d['scale']):.2f}x")
        region = f"a region of about {r.fraction:.1%} of the picture"
        how_text = f", {' and '.join(how)}" if how else ""
        return wording.say(
            score,
            clear=f"{region.capitalize()} appears twice{how_text} (it matches another area patch by patch), which "
                  f"suggests it was copied and pasted ({marked}).",
            unclear=f"{region.capitalize()} seems to appear twice{how_text} (it matches another area patch by "
                    f"patch), but it is small: a weak sign, not enough on its own to point to a copy-paste "
                    f"({marked}).",
            none=f"No clear sign of a copy: only {region} matches another area{how_text}, too little to count "
                 f"({marked}).",
        )
    if pattern:
        return wording.say(score, none=("Parts of the image repeat, but like a regular pattern (tiles, bricks, "
                                        f"fabric) rather than a pasted copy ({marked})."))
    return wording.say(score, none="No area of the image was found to be a copy of another area.")


def _resize(x: np.ndarray, h: int, w: int) -> np.ndarray:
    import cv2

    return x if x.shape == (h, w) else cv2.resize(x, (w, h), interpolation=cv2.INTER_LINEAR)

"""Synthetic chest-CT phantoms with planted lesions and exact masks, for training and scoring the
demo models (issue 9). Each slice is 512x512 8-bit in the lung window (W 1500, L -600), built in
Hounsfield units like the bundled slice models/samples/ct1_lung.png: a round field of view, a body
ellipse (skin, fat, muscle, ribs) on a curved table, two lung fields with branching vessels, the
mediastinum (heart, aorta, main bronchi), the spine, and correlated noise of the real slice's size.

Slice classes (index order of the classifier, spec §10.4), with their lesions:
  0 Control           no lesion;
  1 Common Pneumonia  one large lobar consolidation (dense, air bronchograms) in one lung,
                      sometimes a small extra consolidation in the same lung;
  2 COVID-19          2-6 ground-glass opacities (hazy, low contrast, irregular), peripheral and
                      subpleural, in both lungs; sometimes a small consolidation among them.
Masks are merged "lesion" masks, as the authors' `merge` mask type: one instance per connected
lesion (lesions never touch), area > 100 px, box [x1, y1, x2, y2) = regionprops' bbox.

Deterministic: phantom i of a set is drawn from numpy's PCG64 seeded with (seed, i) only, so any
phantom can be regenerated alone; the class of phantom i is i % 3.

    /usr/bin/python3 tools/demo/phantoms.py OUT_DIR --count 300 [--seed 1] [--first 0] [--jobs 2]

writes OUT_DIR/images/<class>_<index>.png, OUT_DIR/masks/<class>_<index>.npz (`masks`: uint8
[K,512,512], `kinds`) and OUT_DIR/labels.json (per phantom: file, class, lesions with box, kind,
area). Needs numpy and Pillow only.
"""
import argparse
import json
import multiprocessing
import os

import numpy as np
from PIL import Image

SIZE = 512
WINDOW_WIDTH, WINDOW_LEVEL = 1500.0, -600.0
CLASSES = ('Control', 'Common Pneumonia', 'COVID-19')
MIN_LESION_AREA = 101           # the authors' dataset drops components of area <= 100

HU_AIR, HU_LUNG, HU_FAT, HU_SOFT, HU_BONE = -990.0, -865.0, -100.0, 40.0, 700.0
NOISE_HU = 22.0                 # ~3.7 grey levels: the real slice's flat-region std
NOISE_CORRELATION = 0.8         # px; gives the real slice's neighbour-difference/std ratio
PSF_SIGMA = 0.7                 # px; scanner blur of the anatomy


# ---------------------------------------------------------------- image helpers

def hu_to_gray(hu):
    """Lung window: HU -> 8-bit grey, as ctinfer's DICOM windowing (W 1500, L -600)."""
    low = WINDOW_LEVEL - WINDOW_WIDTH / 2
    return np.clip(np.rint((hu - low) / WINDOW_WIDTH * 255.0), 0, 255).astype(np.uint8)


def _gaussian_transfer(shape, sigma):
    fy = np.fft.fftfreq(shape[0])[:, None]
    fx = np.fft.rfftfreq(shape[1])[None, :]
    return np.exp(-2 * (np.pi * sigma) ** 2 * (fy ** 2 + fx ** 2))


def blur(image, sigma):
    """Gaussian blur of a 2-D float array (edge-padded FFT convolution, padded to a fast size)."""
    if sigma <= 0:
        return image
    h, w = image.shape
    pad = int(3 * sigma) + 1
    fast_h, fast_w = (-(-(h + 2 * pad) // 64) * 64, -(-(w + 2 * pad) // 64) * 64)
    padded = np.pad(image, ((pad, fast_h - h - pad), (pad, fast_w - w - pad)), mode='edge')
    out = np.fft.irfft2(np.fft.rfft2(padded) * _gaussian_transfer(padded.shape, sigma),
                        s=padded.shape)
    return out[pad:pad + h, pad:pad + w]


def smooth_noise(rng, shape, sigma):
    """Gaussian random field of unit std and correlation length ~sigma (periodic FFT filter)."""
    field = np.fft.irfft2(np.fft.rfft2(rng.standard_normal(shape)) *
                          _gaussian_transfer(shape, sigma), s=shape)
    return field / (field.std() + 1e-12)


def erode(mask, steps):
    """Binary erosion by a 3x3 cross, `steps` times."""
    m = mask.copy()
    for _ in range(steps):
        m[1:, :] &= m[:-1, :].copy()
        m[:-1, :] &= m[1:, :].copy()
        m[:, 1:] &= m[:, :-1].copy()
        m[:, :-1] &= m[:, 1:].copy()
    return m


def dilate(mask, steps):
    return ~erode(~mask, steps)


def depth_map(mask, max_depth):
    """Approximate distance (px, city-block) from each mask pixel to the mask's border, capped."""
    depth = np.zeros(mask.shape, np.float32)
    m = mask.copy()
    for _ in range(max_depth):
        if not m.any():
            break
        depth += m
        m = erode(m, 1)
    return depth


def component_at(mask, seed_yx):
    """The 4-connected component of `mask` holding seed_yx (empty if the seed is outside)."""
    out = np.zeros_like(mask)
    if not mask[seed_yx]:
        return out
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    region = mask[y0:y1, x0:x1]
    piece = np.zeros_like(region)
    piece[seed_yx[0] - y0, seed_yx[1] - x0] = True
    while True:
        grown = dilate(piece, 1) & region
        if (grown == piece).all():
            break
        piece = grown
    out[y0:y1, x0:x1] = piece
    return out


def bounding_box(mask):
    """[x1, y1, x2, y2) of a mask's pixels (regionprops' bbox, x/y order)."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


class Grid:
    """Pixel coordinates of the 512x512 slice, shared by every shape."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def ellipse(cx, cy, ax, ay, angle=0.0):
    """Normalized elliptic radius rho (<1 inside) over the whole image."""
    c, s = np.cos(angle), np.sin(angle)
    dx, dy = Grid.xx - cx, Grid.yy - cy
    u, v = (c * dx + s * dy) / ax, (-s * dx + c * dy) / ay
    return np.sqrt(u * u + v * v)


def wobbly_ellipse(rng, cx, cy, ax, ay, amount, harmonics=5, angle=0.0):
    """rho of an ellipse whose outline is perturbed by a few low angular harmonics."""
    theta = np.arctan2(Grid.yy - cy, Grid.xx - cx)
    wobble = np.zeros_like(theta)
    for k in range(2, 2 + harmonics):
        wobble += rng.normal(0, amount / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return ellipse(cx, cy, ax, ay, angle) / (1 + wobble)


# ---------------------------------------------------------------- tubes (vessels, bronchi, table)

def stamp_tube(canvas, points, radii, value):
    """Max-blends a tube through `points` (float x,y) with per-point radii into canvas: each point
    is a disc with a soft (Gaussian-like) edge of peak `value` in [0,1]."""
    for (x, y), r in zip(points, radii):
        reach = int(np.ceil(r + 2))
        x0, x1 = max(int(x) - reach, 0), min(int(x) + reach + 2, SIZE)
        y0, y1 = max(int(y) - reach, 0), min(int(y) + reach + 2, SIZE)
        if x0 >= x1 or y0 >= y1:
            continue
        d = np.hypot(Grid.xx[y0:y1, x0:x1] - x, Grid.yy[y0:y1, x0:x1] - y)
        profile = value * np.clip(r + 0.5 - d, 0, 1) if r >= 1 else \
            value * r * np.exp(-d * d / 1.2)
        np.maximum(canvas[y0:y1, x0:x1], profile, out=canvas[y0:y1, x0:x1])


def vessel_tree(rng, canvas, start, direction, radius, length, inside, depth=0, value=1.0):
    """A random branching tube from `start` heading `direction` (radians), tapering from
    `radius`, of peak `value`; drawn only where `inside` (bool image) holds, and it stops when it
    leaves `inside` after having entered it (so it may start outside, at the hilum)."""
    x, y = start
    points, radii = [], []
    step = 1.5
    entered = False
    for i in range(int(length / step)):
        direction += rng.normal(0, 0.1)
        x += step * np.cos(direction)
        y += step * np.sin(direction)
        if not (0 <= x < SIZE and 0 <= y < SIZE):
            break
        if not inside[int(y), int(x)]:
            if entered or i * step > 40:
                break
            continue
        entered = True
        r = radius * (1 - 0.75 * i * step / length)
        points.append((x, y))
        radii.append(r)
        if depth < 4 and r > 0.6 and rng.random() < 0.04:
            turn = rng.choice((-1, 1)) * rng.uniform(0.4, 0.9)
            vessel_tree(rng, canvas, (x, y), direction + turn, r * 0.8,
                        length * rng.uniform(0.4, 0.7), inside, depth + 1, value)
    stamp_tube(canvas, points, radii, value)


# ---------------------------------------------------------------- anatomy

class Anatomy:
    """The lesion-free slice in HU plus the masks lesions need (lungs, their depth)."""

    def __init__(self, rng):
        self.rng = rng
        self.hu = np.full((SIZE, SIZE), HU_AIR, np.float32)
        self.fov = ellipse(256, 256, 255.5, 255.5) < 1
        cx, cy = 256 + rng.normal(0, 4), 248 + rng.normal(0, 6)
        ax, ay = rng.uniform(212, 262), rng.uniform(180, 222)
        self.center = (cx, cy)
        self._table(cy + ay)
        self._body(cx, cy, ax, ay)
        self._cavity(cx, cy, ax, ay)

    def _table(self, body_bottom):
        """The scanner couch under the body: a curved board and a thin bright rail below it."""
        sag = (Grid.xx - 256) ** 2 / 12000.0
        top = body_bottom + self.rng.uniform(3, 8)
        board = (Grid.yy > top - sag) & (Grid.yy < top + 7 - sag) & (np.abs(Grid.xx - 256) < 200)
        self.hu[board] = -250.0
        rail = np.abs(Grid.yy - (top + 20 - sag)) < 1.6
        self.hu[rail & (np.abs(Grid.xx - 256) < 160)] = 300.0

    def _body(self, cx, cy, ax, ay):
        rng = self.rng
        body = wobbly_ellipse(rng, cx, cy, ax, ay, 0.03)
        body = np.where(Grid.yy > cy + 0.93 * ay, 2.0, body)          # flat back on the table
        self.body = body < 1
        self.hu[self.body] = HU_SOFT - 15                            # skin
        fat = body < 0.985
        self.hu[fat] = HU_FAT + 8 * smooth_noise(rng, (SIZE, SIZE), 6)[fat]
        muscle = body < rng.uniform(0.86, 0.91)
        self.hu[muscle] = HU_SOFT + 10 * smooth_noise(rng, (SIZE, SIZE), 4)[muscle]
        streaks = (smooth_noise(rng, (SIZE, SIZE), 3) > 1.5) & muscle & (body > 0.72)
        self.hu[streaks] = HU_FAT                                    # fat between muscles

    def _cavity(self, cx, cy, ax, ay):
        rng = self.rng
        rx, ry = ax * rng.uniform(0.76, 0.82), ay * rng.uniform(0.74, 0.80)
        ccy = cy - 0.03 * ay
        cavity = wobbly_ellipse(rng, cx, ccy, rx, ry, 0.02) < 1
        self.hu[cavity] = HU_FAT + 6 * smooth_noise(rng, (SIZE, SIZE), 5)[cavity]
        self._ribs(cx, ccy, rx, ry)
        self.mid = (cx, ccy, rx, ry)
        self._mediastinum(cx, ccy, rx, ry)
        self.lungs = self._lungs(cx, ccy, rx, ry, cavity)
        self.depth = depth_map(self.lungs, 60)

    def _ribs(self, cx, cy, rx, ry):
        rng = self.rng
        for angle in np.linspace(0, 2 * np.pi, rng.integers(10, 16), endpoint=False):
            angle += rng.normal(0, 0.12)
            if 1.2 < angle < 1.95:                      # none behind the spine
                continue
            px, py = cx + 1.05 * rx * np.cos(angle), cy + 1.05 * ry * np.sin(angle)
            rib = ellipse(px, py, rng.uniform(5, 10), rng.uniform(3, 5), angle + np.pi / 2) < 1
            self.hu[rib & self.body] = HU_BONE

    def _lungs(self, cx, cy, rx, ry, cavity):
        """Two kidney-shaped lung fields in the cavity, indented by the heart and the spine."""
        rng = self.rng
        lungs = np.zeros((SIZE, SIZE), bool)
        for side in (-1, 1):
            lung = wobbly_ellipse(rng, cx + side * rx * rng.uniform(0.46, 0.52),
                                  cy + rng.uniform(-0.02, 0.06) * ry,
                                  rx * rng.uniform(0.44, 0.50), ry * rng.uniform(0.86, 0.95),
                                  0.04, angle=side * rng.uniform(-0.1, 0.15))
            lungs |= lung + 0.05 * smooth_noise(rng, (SIZE, SIZE), 20) < 1
        heart = ellipse(cx + rx * rng.uniform(0.05, 0.18), cy - ry * rng.uniform(0.15, 0.35),
                        rx * rng.uniform(0.28, 0.40), ry * rng.uniform(0.35, 0.5),
                        rng.uniform(-0.6, -0.1)) < 1.08
        spine = ellipse(cx, cy + 0.82 * ry, 0.22 * rx, 0.30 * ry) < 1.1
        band = np.abs(Grid.xx - cx) < 0.12 * rx
        lungs &= erode(cavity, 3) & ~heart & ~spine & ~band
        lungs = erode(dilate(lungs, 4), 4)
        self.lung_hu = (HU_LUNG + 45 * np.clip((Grid.yy - cy) / ry, -1, 1)   # dorsal denser
                        + 12 * smooth_noise(rng, (SIZE, SIZE), 8)
                        + 6 * smooth_noise(rng, (SIZE, SIZE), 1.5))
        self.hu[lungs] = self.lung_hu[lungs]
        return lungs

    def _mediastinum(self, cx, cy, rx, ry):
        """Heart, aorta, bronchi and spine, drawn into the cavity before the lungs are cut."""
        rng = self.rng
        noise = smooth_noise(rng, (SIZE, SIZE), 3)
        heart = ellipse(cx + rx * rng.uniform(0.0, 0.12), cy - ry * rng.uniform(0.2, 0.4),
                        rx * rng.uniform(0.22, 0.30), ry * rng.uniform(0.28, 0.38),
                        rng.uniform(-0.6, 0.0)) < 1
        ar = rx * rng.uniform(0.08, 0.11)
        aorta = ellipse(cx + rx * rng.uniform(0.10, 0.16), cy + ry * rng.uniform(0.35, 0.5),
                        ar, ar) < 1
        self.hu[heart | aorta] = HU_SOFT + 5 * noise[heart | aorta]
        by = cy + ry * rng.uniform(0.05, 0.2)
        for side in (-1, 1):
            r = rng.uniform(5, 8)
            bx = cx + side * rng.uniform(14, 22)
            self.hu[ellipse(bx, by, r + 2.5, r + 2.5) < 1] = HU_SOFT
            self.hu[ellipse(bx, by, r, r * rng.uniform(0.8, 1.1)) < 1] = HU_AIR
        vy = cy + 0.88 * ry
        vertebra = ellipse(cx, vy, rng.uniform(20, 26), rng.uniform(18, 23)) < 1
        canal = ellipse(cx, vy + 27, 9, 8) < 1
        arch = (ellipse(cx, vy + 28, 22, 16) < 1) & ~canal
        spinous = ellipse(cx, vy + 48, 5, 14) < 1
        self.hu[vertebra | arch | spinous] = HU_BONE
        self.hu[canal] = HU_SOFT - 10
        for side in (-1, 1):                                        # scapulae
            sc = ellipse(cx + side * 1.02 * rx, cy + 0.78 * ry, rng.uniform(25, 40), 5,
                         side * rng.uniform(0.4, 0.8)) < 1
            self.hu[sc & self.body] = HU_BONE

    def vessels(self):
        """Branching vessels from each hilum into the lungs, and cut vessels (dots). Returns a
        [H,W] weight in [0,1] (1 = full vessel density)."""
        rng = self.rng
        cx, cy, rx, ry = self.mid
        tree = np.zeros((SIZE, SIZE), np.float32)
        inside = erode(self.lungs, 2)
        for side in (-1, 1):
            hx, hy = cx + side * rx * rng.uniform(0.28, 0.36), cy + rng.uniform(-0.05, 0.2) * ry
            for _ in range(rng.integers(6, 11)):
                direction = np.arctan2(rng.uniform(-1, 1), side * rng.uniform(0.1, 1.0))
                vessel_tree(rng, tree, (hx, hy), direction, rng.uniform(0.8, 1.9),
                            rng.uniform(50, 170), inside, value=rng.uniform(0.45, 0.9))
        ys, xs = np.nonzero(inside)
        for k in rng.choice(len(xs), size=min(len(xs), rng.integers(30, 70)), replace=False):
            stamp_tube(tree, [(xs[k] + rng.random(), ys[k] + rng.random())],
                       [rng.uniform(0.5, 1.6)], rng.uniform(0.4, 0.9))
        return tree * inside


# ---------------------------------------------------------------- lesions

class Lesion:
    def __init__(self, mask, kind, density):
        self.mask = mask            # bool [H,W], inside the lungs
        self.kind = kind            # 'ggo' | 'consolidation'
        self.density = density      # float [H,W] in [0,1]: how much of the lesion's HU applies


def _blob(rng, cx, cy, rx, ry, roughness):
    """A random irregular blob: ellipse outline broken up by a smooth random field."""
    rho = ellipse(cx, cy, rx, ry, rng.uniform(0, np.pi))
    field = smooth_noise(rng, (SIZE, SIZE), max(3.0, min(rx, ry) / 3))
    return rho + roughness * field < 1


def _finish(anatomy, shape, seed_yx, taken):
    """Clip a shape to the lungs, keep its connected piece at the seed, refuse overlaps."""
    mask = component_at(shape & anatomy.lungs, seed_yx)
    if mask.sum() < MIN_LESION_AREA + 30 or (dilate(mask, 4) & taken).any():
        return None
    return mask


def ground_glass(rng, anatomy, taken, side=None):
    """A hazy, irregular, mostly peripheral/subpleural opacity."""
    lungs_depth = anatomy.depth
    peripheral = rng.random() < 0.85
    band = (lungs_depth >= 3) & (lungs_depth <= 22) if peripheral else lungs_depth > 12
    if side is not None:
        band &= (Grid.xx < anatomy.center[0]) if side < 0 else (Grid.xx >= anatomy.center[0])
    ys, xs = np.nonzero(band)
    if len(xs) == 0:
        return None
    k = rng.integers(len(xs))
    r = rng.uniform(11, 38)
    shape = _blob(rng, xs[k], ys[k], r * rng.uniform(0.7, 1.3), r * rng.uniform(0.6, 1.1),
                  rng.uniform(0.15, 0.35))
    mask = _finish(anatomy, shape, (ys[k], xs[k]), taken)
    if mask is None:
        return None
    haze = np.clip(blur(mask.astype(np.float32), 2.0) * 1.15, 0, 1)
    texture = 0.75 + 0.25 * smooth_noise(rng, (SIZE, SIZE), 3)
    strength = rng.uniform(0.8, 1.0)
    return Lesion(mask, 'ggo', np.clip(haze * texture * strength, 0, 1))


def consolidation(rng, anatomy, taken, lobar=False, side=None):
    """A dense, sharper opacity; lobar ones fill a lung region bounded by a curved fissure."""
    cx, cy = anatomy.center
    if lobar:
        side = side if side is not None else rng.choice((-1, 1))
        lung = anatomy.lungs & ((Grid.xx < cx) if side < 0 else (Grid.xx >= cx))
        ys, xs = np.nonzero(lung)
        ly, lx = ys.mean(), xs.mean()
        angle = rng.uniform(0, 2 * np.pi) if rng.random() < 0.3 else \
            rng.uniform(0.25, 0.75) * np.pi                     # mostly dorsal (lower lobe)
        nx, ny = np.cos(angle), np.sin(angle)
        offset = rng.uniform(-0.2, 0.45) * np.sqrt(len(xs) / np.pi)
        curve = 0.0025 * rng.normal(0, 1) * ((Grid.xx - lx) * ny - (Grid.yy - ly) * nx) ** 2
        side_of_fissure = (Grid.xx - lx) * nx + (Grid.yy - ly) * ny + curve > offset
        ragged = smooth_noise(rng, (SIZE, SIZE), 6) > -1.4
        shape = lung & side_of_fissure & ragged
        cand = np.nonzero(shape & (anatomy.depth > 3))
        if len(cand[0]) == 0:
            return None
        seed = (cand[0][len(cand[0]) // 2], cand[1][len(cand[0]) // 2])
        mask = component_at(shape, seed)
        if mask.sum() < 1500 or (dilate(mask, 4) & taken).any():
            return None
    else:
        band = anatomy.depth >= 3
        if side is not None:
            band &= (Grid.xx < cx) if side < 0 else (Grid.xx >= cx)
        ys, xs = np.nonzero(band)
        if len(xs) == 0:
            return None
        k = rng.integers(len(xs))
        r = rng.uniform(8, 22)
        shape = _blob(rng, xs[k], ys[k], r * rng.uniform(0.7, 1.3), r * rng.uniform(0.7, 1.3),
                      rng.uniform(0.1, 0.25))
        mask = _finish(anatomy, shape, (ys[k], xs[k]), taken)
        if mask is None:
            return None
    density = np.clip(blur(mask.astype(np.float32), 0.9) * 1.3, 0, 1)
    if mask.sum() > 800 and rng.random() < 0.75:
        density *= 1 - _bronchograms(rng, mask)
    return Lesion(mask, 'consolidation', density)


def _bronchograms(rng, mask):
    """Dark branching air tubes inside a consolidation: [H,W] in [0,1]."""
    tubes = np.zeros((SIZE, SIZE), np.float32)
    ys, xs = np.nonzero(erode(mask, 6))
    if len(xs) == 0:
        return tubes
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(len(xs))
        vessel_tree(rng, tubes, (xs[k], ys[k]), rng.uniform(0, 2 * np.pi), rng.uniform(1.0, 1.8),
                    rng.uniform(30, 90), erode(mask, 3))
    return tubes * 0.85


def plant(rng, anatomy, class_index):
    """The lesions of one slice of the given class."""
    lesions, taken = [], np.zeros((SIZE, SIZE), bool)

    def add(make, tries=12, **kw):
        for _ in range(tries):
            lesion = make(rng, anatomy, taken, **kw)
            if lesion is not None:
                lesions.append(lesion)
                taken[...] |= lesion.mask
                return True
        return False

    if class_index == 1:
        side = rng.choice((-1, 1))
        add(consolidation, tries=30, lobar=True, side=side)
        if rng.random() < 0.3:
            add(consolidation, side=side)
    elif class_index == 2:
        count = rng.integers(2, 7)
        for i in range(count):
            side = (-1, 1)[i % 2] if i < 2 else None          # bilateral
            if i >= 2 and rng.random() < 0.15:
                add(consolidation, side=side)
            else:
                add(ground_glass, side=side)
    return lesions


# ---------------------------------------------------------------- the slice

LESION_HU = {'ggo': (-640.0, -440.0), 'consolidation': (-60.0, 30.0)}


def render(rng, anatomy, lesions):
    """HU slice with lesions and vessels, blurred, noised, windowed to 8-bit."""
    hu = anatomy.hu.copy()
    for lesion in lesions:
        target = rng.uniform(*LESION_HU[lesion.kind])
        hu = hu + lesion.density * (target - hu) * anatomy.lungs
    vessel = anatomy.vessels()
    vessel_hu = HU_SOFT - 30
    hu = hu + vessel * np.clip(vessel_hu - hu, 0, None)
    hu = blur(hu, PSF_SIGMA)
    noise = blur(rng.standard_normal((SIZE, SIZE)), NOISE_CORRELATION)
    hu = hu + NOISE_HU * noise / noise.std()
    gray = hu_to_gray(hu)
    gray[~anatomy.fov] = 0
    return gray


def phantom(seed, index):
    """(gray uint8 [512,512], class_index, [Lesion]) of phantom `index` of set `seed`."""
    rng = np.random.default_rng([seed, index])
    class_index = index % 3
    anatomy = Anatomy(rng)
    lesions = plant(rng, anatomy, class_index)
    return render(rng, anatomy, lesions), class_index, lesions


def stem(index, class_index):
    """File stem in the authors' `[class]_...` naming, which their classifier dataset parses."""
    return '%d_%05d' % (class_index, index)


def write_one(out_dir, seed, index):
    """Writes phantom `index` of set `seed` (image and masks); returns its labels record."""
    gray, class_index, lesions = phantom(seed, index)
    name = stem(index, class_index)
    Image.fromarray(gray).save(os.path.join(out_dir, 'images', name + '.png'))
    masks = np.array([l.mask for l in lesions], np.uint8).reshape(-1, SIZE, SIZE)
    np.savez_compressed(os.path.join(out_dir, 'masks', name + '.npz'), masks=masks,
                        kinds=np.array([l.kind for l in lesions], dtype='U16'))
    return {'file': 'images/%s.png' % name, 'masks': 'masks/%s.npz' % name, 'index': index,
            'class_index': class_index, 'class': CLASSES[class_index],
            'lesions': [{'kind': l.kind, 'box': bounding_box(l.mask), 'area': int(l.mask.sum())}
                        for l in lesions]}


def write_set(out_dir, count, seed, first=0, jobs=1):
    """Writes phantoms first..first+count-1 of set `seed` with `jobs` processes, then
    labels.json; returns the labels dict."""
    os.makedirs(os.path.join(out_dir, 'images'), exist_ok=True)
    os.makedirs(os.path.join(out_dir, 'masks'), exist_ok=True)
    work = [(out_dir, seed, index) for index in range(first, first + count)]
    if jobs > 1:
        with multiprocessing.Pool(jobs) as pool:
            records = pool.starmap(write_one, work, chunksize=4)
    else:
        records = [write_one(*item) for item in work]
    labels = {'seed': seed, 'window': [WINDOW_WIDTH, WINDOW_LEVEL], 'classes': list(CLASSES),
              'phantoms': records}
    with open(os.path.join(out_dir, 'labels.json'), 'w') as f:
        json.dump(labels, f, indent=1)
    return labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('out_dir')
    parser.add_argument('--count', type=int, default=30)
    parser.add_argument('--seed', type=int, default=1, help='set seed (train/test sets differ)')
    parser.add_argument('--first', type=int, default=0, help='index of the first phantom')
    parser.add_argument('--jobs', type=int, default=1, help='worker processes')
    args = parser.parse_args()
    labels = write_set(args.out_dir, args.count, args.seed, args.first, args.jobs)
    lesions = sum(len(p['lesions']) for p in labels['phantoms'])
    print('%d phantoms, %d lesions -> %s' % (len(labels['phantoms']), lesions, args.out_dir))


if __name__ == '__main__':
    main()

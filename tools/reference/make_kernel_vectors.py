#!/usr/bin/python3
"""Writes the kernel test vectors under tests/fixtures/kernels/ from torch 1.13 /
torchvision 0.14 (Debian's python3-torch, python3-torchvision):

    /usr/bin/python3 tools/reference/make_kernel_vectors.py

Output is deterministic (fixed seeds). Each .bin file is a list of named
tensors, little-endian:

    "CTKV" u32 version=1  u32 count
    count x { u32 name_len, name bytes, u32 dtype (0 float32, 1 int32),
              u32 ndim, ndim x u32 dims, data }

tests/test_kernels_torch.c reads them; `make test` never runs this script.
"""
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models.detection._utils import BoxCoder
from torchvision.models.detection.roi_heads import paste_masks_in_image
from torchvision.ops import boxes as box_ops

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "kernels")


def write_vectors(name, tensors):
    """tensors: list of (name, numpy array); float arrays stored as float32, ints as int32."""
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(b"CTKV" + struct.pack("<II", 1, len(tensors)))
        for key, arr in tensors:
            arr = np.ascontiguousarray(arr)
            if arr.dtype.kind == "f":
                arr, dtype = arr.astype("<f4"), 0
            else:
                assert np.abs(arr).max(initial=0) < 2**31
                arr, dtype = arr.astype("<i4"), 1
            kb = key.encode()
            f.write(struct.pack("<I", len(kb)) + kb + struct.pack("<II", dtype, arr.ndim))
            f.write(struct.pack("<%dI" % arr.ndim, *arr.shape))
            f.write(arr.tobytes())
    print("%-16s %6d bytes" % (name, os.path.getsize(path)))


def np32(t):
    return t.detach().cpu().numpy().astype(np.float32)


# --------------------------------------------------------------------------- RoIAlign
def roi_align_vectors(g):
    c, h, w = 3, 11, 13
    feat = torch.randn(c, h, w, generator=g)
    # Image coordinates; scale 1/4 makes the map cover a 44 x 52 image.
    boxes = torch.tensor([
        [4.0, 6.0, 30.0, 40.0],      # inside
        [0.0, 0.0, 52.0, 44.0],      # the whole image
        [-10.0, -8.0, 12.0, 9.0],    # past the top-left corner
        [40.0, 30.0, 70.0, 60.0],    # past the bottom-right corner
        [60.0, 50.0, 90.0, 80.0],    # fully outside
        [-30.0, -30.0, -5.0, -6.0],  # fully outside, negative
        [20.0, 20.0, 20.0, 20.0],    # degenerate point
        [10.0, 5.0, 10.0, 30.0],     # zero width
        [17.3, 9.1, 18.2, 9.5],      # smaller than a feature pixel
        [33.0, 22.0, 12.0, 8.0],     # inverted
        [51.9, 43.9, 52.0, 44.0],    # at the far edge
        [47.5, 1.25, 52.75, 43.0],   # straddling the right edge
        [0.6, 39.7, 11.1, 44.9],     # straddling the bottom edge
    ])
    rnd = torch.rand(8, 4, generator=g) * 60 - 8
    rnd = torch.stack([torch.minimum(rnd[:, 0], rnd[:, 2]), torch.minimum(rnd[:, 1], rnd[:, 3]),
                       torch.maximum(rnd[:, 0], rnd[:, 2]), torch.maximum(rnd[:, 1], rnd[:, 3])], 1)
    boxes = torch.cat([boxes, rnd], 0)
    rois = torch.cat([torch.zeros(len(boxes), 1), boxes], 1)
    out = []
    for tag, (oh, ow), scale, sr in [("a", (7, 7), 0.25, 2), ("b", (14, 14), 0.25, 2),
                                     ("c", (5, 3), 0.25, 0), ("d", (7, 7), 1.0 / 16, 2)]:
        r = torchvision.ops.roi_align(feat[None], rois, (oh, ow), spatial_scale=scale,
                                      sampling_ratio=sr, aligned=False)
        out += [("%s.params" % tag, np.array([oh, ow, sr], dtype=np.int32)),
                ("%s.scale" % tag, np.array([scale], dtype=np.float32)),
                ("%s.out" % tag, np32(r))]
    write_vectors("roi_align.bin", [("feat", np32(feat)), ("boxes", np32(boxes))] + out)


# --------------------------------------------------------------------------- NMS
def random_boxes(g, n, size, extent):
    xy = torch.rand(n, 2, generator=g) * extent
    wh = torch.rand(n, 2, generator=g) * size
    return torch.cat([xy, xy + wh], 1)


def nms_vectors(g):
    out = []
    # Plain NMS: duplicates, exact score ties, zero-area boxes, an IoU exactly
    # at the threshold (0.5: [0,0,10,10] vs [0,0,10,5]).
    b = random_boxes(g, 50, 30, 60)
    b = torch.cat([b, b[:5], torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0],
                                           [5.0, 5.0, 5.0, 20.0], [5.0, 5.0, 5.0, 20.0],
                                           [7.0, 7.0, 7.0, 7.0], [1.0, 2.0, 30.0, 2.0]])], 0)
    s = torch.randint(0, 6, (len(b),), generator=g).float() / 8
    s[50:55] = s[:5]
    s[55], s[56] = 0.9, 0.8
    for tag, thr in [("a", 0.5), ("b", 0.3), ("c", 0.75)]:
        keep = torchvision.ops.nms(b, s, thr)
        out += [("nms_%s.thresh" % tag, np.array([thr], dtype=np.float32)),
                ("nms_%s.keep" % tag, keep.numpy())]
    out += [("nms.boxes", np32(b)), ("nms.scores", np32(s))]

    # batched_nms on both of torchvision's paths. Each set holds a far box (max
    # coordinate 1e6, so group 3 is shifted by ~3e6 where float32 steps are
    # 0.25) and a pair in group 3 whose IoU is 0.569 as given but 0.6 once
    # shifted and rounded: at threshold 0.58 the two paths disagree, so the
    # test tells them apart. The per-group set has distinct scores: there
    # torchvision sorts the kept list with an unstable sort, so exact ties
    # would have no reproducible order.
    planted_boxes = torch.tensor([[1e6 - 10, 1e6 - 10, 1e6, 1e6], [0.0, 0.0, 4.0, 1.0], [1.1, 0.0, 5.1, 1.0]])
    planted_groups = torch.tensor([0, 3, 3])
    for tag, n, thresh, distinct in [("bat_small", 400, 0.58, False), ("bat_large", 1300, 0.58, True)]:
        b = torch.cat([random_boxes(g, n - 3, 40, 300), planted_boxes], 0)
        b[::37, 2] = b[::37, 0]    # some zero-width boxes
        if distinct:
            s = torch.randperm(n, generator=g).float() / n
        else:
            s = torch.randint(0, 50, (n,), generator=g).float() / 64   # ties
        s[-2:] = torch.tensor([0.999, 0.998])
        grp = torch.cat([torch.randint(0, 4, (n - 3,), generator=g), planted_groups])
        keep = box_ops.batched_nms(b, s, grp, thresh)
        trick = box_ops._batched_nms_coordinate_trick(b, s, grp, thresh)
        vanilla = box_ops._batched_nms_vanilla(b, s, grp, thresh)
        assert (b.numel() <= 4000) == (tag == "bat_small")
        assert not torch.equal(trick, vanilla)
        assert torch.equal(keep, trick if tag == "bat_small" else vanilla)
        out += [("%s.boxes" % tag, np32(b)), ("%s.scores" % tag, np32(s)), ("%s.groups" % tag, grp.numpy()),
                ("%s.thresh" % tag, np.array([thresh], dtype=np.float32)), ("%s.keep" % tag, keep.numpy())]
    write_vectors("nms.bin", out)


# --------------------------------------------------------------------------- decode / clip
def decode_vectors(g):
    # Coordinates up to ~1300 so that float rounding differs between nearby
    # formulas (e.g. (x1+x2)/2 for the centre) on enough rows to notice.
    n, n_c = 200, 2
    xy = torch.rand(n, 2, generator=g) * 1000
    wh = torch.rand(n, 2, generator=g) * 300
    wh[::9] = 0.0                       # zero-size reference boxes
    ref = torch.cat([xy, xy + wh], 1)
    deltas = torch.randn(n, 4 * n_c, generator=g) * 2
    deltas[::5, 2] = 30.0               # far beyond the clip
    deltas[::7, 3] = -25.0              # no lower clamp
    deltas[3::6, 6] = 100.0
    deltas[::2, 2:4] = 0.0              # exp(0) = 1 exactly: these rows must match bit for bit
    deltas[1::2, 6:8] = 0.0
    clip = math.log(1000.0 / 16)
    out = [("ref", np32(ref)), ("deltas", np32(deltas))]
    for tag, weights in [("w10", (10.0, 10.0, 5.0, 5.0)), ("w1", (1.0, 1.0, 1.0, 1.0))]:
        dec = BoxCoder(weights, bbox_xform_clip=clip).decode_single(deltas, ref)   # [n, 4*n_c]
        clipped = box_ops.clip_boxes_to_image(dec.reshape(-1, 4), (570, 830))    # (h, w)
        out += [("%s.weights" % tag, np.array(weights, dtype=np.float32)),
                ("%s.decoded" % tag, np32(dec)), ("%s.clipped" % tag, np32(clipped))]
    out += [("clip", np.array([clip], dtype=np.float32)), ("clip_hw", np.array([570, 830], dtype=np.int32))]
    write_vectors("decode.bin", out)


# --------------------------------------------------------------------------- resize / paste
def resize_vectors(g):
    src = torch.randn(2, 7, 9, generator=g)
    out = [("src", np32(src))]
    sizes = [(13, 17), (4, 5), (7, 20), (1, 1), (7, 9), (30, 2), (61, 3)]
    for i, (h, w) in enumerate(sizes):
        r = F.interpolate(src[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        out += [("size%d.hw" % i, np.array([h, w], dtype=np.int32)), ("size%d.out" % i, np32(r))]
    # The scale_factor path (no recomputation): PyTorch uses 1/scale_factor.
    # The factors are exact in float32 so the file carries them unchanged.
    for i, (sh, sw) in enumerate([(1.375, 0.625), (2.5, 3.0)]):
        r = F.interpolate(src[None], scale_factor=(sh, sw), mode="bilinear", align_corners=False,
                          recompute_scale_factor=False)[0]
        out += [("scale%d.factors" % i, np.array([sh, sw], dtype=np.float32)), ("scale%d.out" % i, np32(r))]
    # 30x30 (a padded 28x28 mask) to many box sizes.
    pad = torch.randn(1, 30, 30, generator=g)
    out.append(("pad30", np32(pad)))
    for i, (h, w) in enumerate([(1, 1), (2, 3), (29, 31), (57, 8), (100, 64), (15, 30)]):
        r = F.interpolate(pad[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        out += [("pad%d.hw" % i, np.array([h, w], dtype=np.int32)), ("pad%d.out" % i, np32(r))]
    write_vectors("resize.bin", out)


def paste_vectors(g):
    H, W = 29, 33
    out = [("hw", np.array([H, W], dtype=np.int32))]
    boxes = torch.tensor([
        [0.0, 0.0, 33.0, 29.0],       # the whole image
        [3.2, 4.7, 20.9, 25.1],
        [28.0, 22.0, 33.0, 29.0],     # bottom-right corner
        [0.0, 0.0, 2.5, 1.5],         # top-left corner, tiny
        [10.2, 10.7, 10.4, 10.9],     # sub-pixel
        [22.0, 5.0, 22.0, 25.0],      # zero width
        [-4.0, -3.0, 12.0, 9.0],      # partly outside (top-left)
        [20.5, 15.25, 39.0, 34.0],    # partly outside (bottom-right)
        [0.49, 28.51, 32.51, 29.0],   # thin strip along the bottom
        [12.75, 0.0, 13.25, 29.0],    # thin strip, full height
    ])
    rnd = torch.rand(4, 4, generator=g) * torch.tensor([W, H, W, H])
    rnd = torch.stack([torch.minimum(rnd[:, 0], rnd[:, 2]), torch.minimum(rnd[:, 1], rnd[:, 3]),
                       torch.maximum(rnd[:, 0], rnd[:, 2]), torch.maximum(rnd[:, 1], rnd[:, 3])], 1)
    boxes = torch.cat([boxes, rnd], 0)
    for tag, m in [("m28", 28), ("m5", 5)]:
        masks = torch.randn(len(boxes), 1, m, m, generator=g) * 3
        pasted = paste_masks_in_image(masks, boxes, (H, W), padding=1)[:, 0]
        out += [("%s.masks" % tag, np32(masks[:, 0])), ("%s.pasted" % tag, np32(pasted))]
    out.append(("boxes", np32(boxes)))
    write_vectors("paste.bin", out)


# --------------------------------------------------------------------------- pool / nearest
def pool_vectors(g):
    x = torch.randn(3, 11, 13, generator=g) - 3.0   # mostly negative: zero padding would show
    x[1, 4, 5] = float("nan")
    out = [("x", np32(x))]
    for i, (k, s, p) in enumerate([(3, 2, 1), (2, 2, 0), (3, 1, 1), (5, 3, 2), (1, 1, 0)]):
        y = F.max_pool2d(x[None], k, s, p)[0]
        out += [("p%d.ksp" % i, np.array([k, s, p], dtype=np.int32)), ("p%d.out" % i, np32(y))]
    write_vectors("pool.bin", out)


def nearest_vectors(g):
    src = torch.randn(2, 5, 7, generator=g)
    out = [("src", np32(src))]
    for i, (h, w) in enumerate([(10, 14), (13, 17), (5, 7), (3, 4), (16, 9)]):
        base = torch.randn(2, h, w, generator=g)
        up = F.interpolate(src[None], size=(h, w), mode="nearest")[0]
        out += [("n%d.base" % i, np32(base)), ("n%d.out" % i, np32(base + up))]
    write_vectors("nearest.bin", out)


# --------------------------------------------------------------------------- conv / deconv / linear
def conv_vectors(g):
    out = []
    for i, (cin, h, w, cout, k, s, p) in enumerate([(3, 9, 11, 4, 3, 2, 1), (3, 13, 10, 5, 7, 2, 3),
                                                     (6, 5, 7, 3, 1, 1, 0), (4, 8, 9, 2, 1, 2, 0)]):
        x = torch.randn(cin, h, w, generator=g)
        wt = torch.randn(cout, cin, k, k, generator=g)
        b = torch.randn(cout, generator=g)
        y = F.conv2d(x[None], wt, b, stride=s, padding=p)[0]
        out += [("c%d.shape" % i, np.array([cin, h, w, cout, k, s, p], dtype=np.int32)),
                ("c%d.x" % i, np32(x)), ("c%d.w" % i, np32(wt)), ("c%d.b" % i, np32(b)),
                ("c%d.y" % i, np32(y))]
    cin, h, w, cout = 5, 3, 4, 6
    x = torch.randn(cin, h, w, generator=g)
    wt = torch.randn(cin, cout, 2, 2, generator=g)
    b = torch.randn(cout, generator=g)
    y = F.conv_transpose2d(x[None], wt, b, stride=2)[0]
    out += [("d.shape", np.array([cin, h, w, cout], dtype=np.int32)), ("d.x", np32(x)),
            ("d.w", np32(wt)), ("d.b", np32(b)), ("d.y", np32(y))]
    x = torch.randn(5, 37, generator=g)
    wt = torch.randn(11, 37, generator=g)
    b = torch.randn(11, generator=g)
    out += [("l.x", np32(x)), ("l.w", np32(wt)), ("l.b", np32(b)), ("l.y", np32(F.linear(x, wt, b)))]
    write_vectors("conv.bin", out)


def main():
    assert torch.__version__.startswith("1.13") and torchvision.__version__.startswith("0.14"), \
        (torch.__version__, torchvision.__version__)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    for seed, fn in enumerate([roi_align_vectors, nms_vectors, decode_vectors, resize_vectors,
                               paste_vectors, pool_vectors, nearest_vectors, conv_vectors]):
        fn(torch.Generator().manual_seed(1000 + seed))


if __name__ == "__main__":
    main()

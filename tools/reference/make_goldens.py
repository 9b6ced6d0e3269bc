"""Writes the golden fixtures under tests/fixtures/golden/: for each variant a reduced-width model
with seeded weights in the authors' checkpoint format, an input PNG cut from the real CT slice,
the run settings, and every intermediate stage of the reference model (ctref/model.py) as .npy.

    /usr/bin/python3 tools/reference/make_goldens.py [VARIANT ...]

Deterministic: a re-run writes identical files (see tools/reference/README.md)."""
import copy
import dataclasses
import os
import sys

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctref.checkpoint import save_authors_checkpoint  # noqa: E402
from ctref.model import (Arch, ReferenceModel, Settings, classifier_settings,  # noqa: E402
                         level_scales, load_image, pool_at_levels, roi_levels)
from torchvision.ops import box_iou, nms  # noqa: E402
from torchvision.ops.poolers import LevelMapper  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(REPO, 'tests', 'fixtures', 'golden')
CT_SLICE = os.path.join(GOLDEN, 'ct1_lung_w1500_l-600.png')   # copy of the shared CT slice
MAX_SEED_TRIES = 400
REDRAW_SEED_BASE = 1000000     # redraw_class_scores' generators: base + 1000 x seed + redraw

# Margins the fixtures must keep so that float32 noise in another implementation (about 1e-6
# relative) cannot change a discrete decision (interfaces.md, "Numbers and ties").
SCORE_GAP = 2e-4        # between neighbouring detection scores
ROW_GAP = 2e-5          # between neighbouring ranked classifier rows (2e-4 is out of reach with
                        # 128 scores in (0, 1); this is still ~20x float32 noise)
LOGIT_GAP = 1e-4        # between RPN logits at a top-k / post-NMS boundary, or NMS-interacting
IOU_EPS = 1e-5          # NMS must give the same result at thresh +- this
THRESH_GAP = 1e-5       # no candidate score this close to the score threshold
CLASS_GAP = 1e-2        # classifier: top logit over the runner-up
PROPOSAL_GAP = 5e-7     # between neighbouring proposal logits, relative to the largest (a few
                        # ulps: ~1000 proposals cannot be kept further apart, so a golden test
                        # must still accept swaps of near-tied proposals, interfaces.md)
FEATURE_NOISE = 1e-5    # float32 vs float64 error of the features, relative to their maximum
                        # (the C tests allow 1e-4: the fixture must be well-conditioned)


@dataclasses.dataclass
class Crop:
    """A region of the CT slice (x, y, w, h), downsampled to `size` (w, h); `rgb` tints it."""
    box: tuple
    size: tuple
    rgb: bool = False


@dataclasses.dataclass
class Variant:
    name: str
    arch: Arch
    settings: Settings
    crop: Crop
    seed: int                      # first weight seed tried (the search goes up from here)
    fg_candidates: int = 10        # candidates above the score threshold (bias is tuned to it)
    detections: tuple = (3, 12)    # accepted range of the final detection count
    checkpoint: dict = dataclasses.field(default_factory=dict)
    store_input: str = 'full'      # input.npy 'full', 'sub8' (input_sub8.npy) or 'none'
    store_anchors: bool = True     # anchors.npy
    store_deltas: bool = True      # rpn_deltas.npy
    pasted_limit: int = 3          # store the pasted masks of the first this many detections
    store_objectness: bool = True  # rpn_objectness.npy
    store_levels: tuple = None     # resnet50: backbone_<i>/fpn_<i>.npy for these i (None: all)
    strided_s: bool = False        # S's two big weights as strided views of small storages
    level_boxes: bool = False      # the levelmap_*.npy LevelMapper boundary arrays
    score_redraws: int = 0         # classifier: cls_score redraws tried per seed whose
                                   # features pass (redraw_class_scores)
    score_half_rank: int = None    # classifier: the candidate rank placed at score 0.5 (None:
                                   # an eighth of the candidates)
    bn_var_floor: float = 0.5      # BN running_var >= this x the channel's mean square; the new
                                   # resnet50 cases use 8: their 16 blocks otherwise compound
                                   # float32 error past FEATURE_NOISE for most seeds


def tiny(task='segmentation', depth=18, truncation='1', num_classes=2, stem=8, fpn=16, rep=16,
         mask=16, s=16):
    """A reduced-width architecture (the authors': stem 64, FPN 256, rep 128, mask 128, S 512)."""
    return Arch(task=task, depth=depth, truncation=truncation, num_classes=num_classes,
                stem_width=stem, fpn_channels=fpn, representation_size=rep,
                mask_head_channels=mask if task == 'segmentation' else 0, roi_batch_size=128,
                s_features=s if task == 'classification' else 0)


def r50(task='segmentation', num_classes=2):
    """A reduced-width ResNet50 (stem 2, FPN 8, representation 16, mask head 8 x 4 convs); the
    classifier has the authors' full-model D = 256 and S width 1024 (spec §12)."""
    classifier = task == 'classification'
    return Arch(task=task, depth=50, num_classes=num_classes, stem_width=2, fpn_channels=8,
                representation_size=16, mask_head_channels=0 if classifier else 8,
                roi_batch_size=256 if classifier else 128, s_features=1024 if classifier else 0)


SMALL = dict(min_size=64, max_size=128)
WHOLE_SLICE = Crop((0, 0, 512, 512), (512, 512))   # the CT slice itself, at the real settings
R50_CLS = r50('classification')
R50_CLS_NC3 = r50('classification', num_classes=3)   # classification_model_two_classes.pth
LEGACY_CUDA = dict(legacy=True, cuda_tagged=True)
LEGACY_CPU = dict(legacy=True, cuda_tagged=False)
ZIP = dict(legacy=False, cuda_tagged=False)
ZIP_CUDA = dict(legacy=False, cuda_tagged=True)
# The resnet50 cases after seg_r50: a small anchor cache for the four levels; the stages
# before the RPN's output left out (seg_r50 has them); a higher BN variance floor.
R50_CASE = dict(checkpoint=dict(LEGACY_CUDA, cache_image_size=32), store_input='none',
                store_anchors=False, store_deltas=False, bn_var_floor=8.0)
# Their classifiers: S's big weights strided; score 0.5 at rank 128 of the 256 rows; ROW_GAP
# between 256 rows rarely holds (a few seeds in a hundred), so a seed whose features pass
# gets up to 40 cls_score draws.
R50_CLS_CASE = dict(R50_CASE, store_objectness=False, strided_s=True, score_half_rank=128,
                    score_redraws=40)

VARIANTS = [
    Variant('seg_r18_t0', tiny(truncation='0', stem=4), Settings(**SMALL),
            Crop((96, 150, 256, 320), (64, 80)), 101, checkpoint=LEGACY_CUDA, store_input='none'),
    Variant('seg_r18_t1', tiny(truncation='1'), Settings(**SMALL),
            Crop((240, 140, 256, 320), (64, 80)), 201, checkpoint=ZIP),
    Variant('seg_r18_t2_nc3', tiny(truncation='2', num_classes=3, fpn=8, rep=12, mask=8),
            Settings(**SMALL), Crop((120, 180, 320, 256), (80, 64)), 302, fg_candidates=14,
            checkpoint=LEGACY_CPU, store_input='none', store_anchors=False),
    Variant('seg_r34_t0', tiny(depth=34, truncation='0', stem=4, fpn=8, mask=8), Settings(**SMALL),
            Crop((60, 120, 280, 360), (56, 72)), 426, checkpoint=LEGACY_CUDA),
    Variant('seg_r34_t1_rgb', tiny(depth=34, truncation='1', stem=4), Settings(**SMALL),
            Crop((200, 100, 256, 320), (64, 80), rgb=True), 500, checkpoint=ZIP_CUDA),
    Variant('seg_r34_t2', tiny(depth=34, truncation='2'), Settings(**SMALL),
            Crop((150, 160, 196, 252), (49, 63)), 603, checkpoint=LEGACY_CUDA),
    Variant('seg_none', tiny(truncation='1', stem=4, fpn=8), Settings(**SMALL),
            Crop((100, 170, 256, 320), (64, 80)), 700, fg_candidates=0, detections=(0, 0),
            checkpoint=LEGACY_CUDA, store_input='none'),
    Variant('seg_one', tiny(depth=34, truncation='1', stem=4, fpn=8), Settings(**SMALL),
            Crop((260, 170, 256, 320), (64, 80)), 801, fg_candidates=2, detections=(1, 1),
            checkpoint=ZIP, store_input='none'),
    Variant('seg_real_size', tiny(truncation='0', stem=4, fpn=8), Settings(),
            Crop((40, 120, 420, 300), (84, 60)), 903, checkpoint=LEGACY_CUDA, store_input='sub8',
            store_anchors=False, store_deltas=False),
    Variant('seg_r50', Arch(depth=50, stem_width=2, fpn_channels=8, representation_size=16,
                            mask_head_channels=8, s_features=0),
            Settings(rpn_post_nms_top_n=300, **SMALL), Crop((180, 100, 256, 384), (64, 96)), 1493,
            checkpoint=dict(LEGACY_CUDA, cache_image_size=32), store_input='none',
            store_anchors=False, store_deltas=False),
    Variant('seg_r50_nc3', r50(num_classes=3), Settings(rpn_post_nms_top_n=300, **SMALL),
            Crop((80, 110, 256, 384), (64, 96)), 1502, fg_candidates=14, level_boxes=True,
            store_objectness=False, pasted_limit=2, **R50_CASE),
    Variant('seg_r50_512', r50(), Settings(), WHOLE_SLICE, 1656, store_objectness=False,
            store_levels=(3,), pasted_limit=0, **R50_CASE),
    Variant('cls_r18_t1', tiny('classification', 18, '1'), classifier_settings(tiny(), **SMALL),
            Crop((96, 150, 256, 320), (64, 80)), 1011, checkpoint=LEGACY_CUDA, store_input='none'),
    Variant('cls_r34_t2', tiny('classification', 34, '2', stem=4, s=24),
            classifier_settings(tiny(), **SMALL), Crop((240, 140, 256, 320), (64, 80)), 1118,
            checkpoint=ZIP, store_input='none', store_anchors=False),
    Variant('cls_replicate', tiny('classification', 18, '1', stem=4, fpn=8),
            classifier_settings(tiny(), rpn_post_nms_top_n=100, replication_seed=1234, **SMALL),
            Crop((120, 180, 320, 256), (80, 64)), 1201,
            checkpoint=dict(LEGACY_CUDA, with_optimizer=True), store_input='none'),
    Variant('cls_r50', R50_CLS, classifier_settings(R50_CLS, **SMALL),
            Crop((240, 90, 256, 384), (64, 96)), 1703, store_levels=(3,), **R50_CLS_CASE),
    Variant('cls_r50_nc3_replicate', R50_CLS_NC3,
            classifier_settings(R50_CLS_NC3, rpn_post_nms_top_n=100, replication_seed=4321,
                                **SMALL),
            Crop((130, 120, 256, 384), (64, 96)), 1800, store_levels=(), **R50_CLS_CASE),
    Variant('cls_r50_512', R50_CLS, classifier_settings(R50_CLS), WHOLE_SLICE, 1997,
            store_levels=(3,), **R50_CLS_CASE),
]


# ---------------------------------------------------------------- input images

def make_image(crop, path):
    """Cuts crop.box out of the CT slice, downsamples it (box filter) and writes an 8-bit PNG;
    the whole slice at its own size becomes a relative symlink to it (saves 100 kB a case)."""
    if os.path.lexists(path):
        os.remove(path)
    if crop == WHOLE_SLICE:
        os.symlink(os.path.relpath(CT_SLICE, os.path.dirname(path)), path)
        return
    x, y, w, h = crop.box
    gray = Image.open(CT_SLICE).convert('L').crop((x, y, x + w, y + h))
    gray = gray.resize(crop.size, Image.BOX)
    if crop.rgb:
        v = np.asarray(gray).astype(np.float64)
        ramp = np.linspace(0, 60, v.shape[1])[None, :]
        rgb = np.stack([v, 0.7 * v + 40, np.clip(255 - v + ramp, 0, 255)], axis=2)
        gray = Image.fromarray(np.round(np.clip(rgb, 0, 255)).astype(np.uint8), 'RGB')
    gray.save(path, optimize=False)


# ---------------------------------------------------------------- seeded weights

# Output std each non-BatchNorm layer is scaled to on the fixture image, its bias std, and
# (when not None) the mean its output channels are moved to before the bias noise is added.
OUTPUT_STD = {
    'backbone.fpn': (1.0, 0.1, None), 'rpn.head.conv': (1.0, 0.1, None),
    'rpn.head.cls_logits': (2.0, 1.0, None), 'rpn.head.bbox_pred': (0.25, 0.05, None),
    'roi_heads.box_head': (1.0, 0.1, None), 'roi_heads.box_predictor.cls_score': (2.0, 0.0, None),
    'roi_heads.box_predictor.bbox_pred': (1.0, 0.2, None), 'roi_heads.mask_head': (1.0, 0.1, None),
    'roi_heads.mask_predictor.conv5_mask': (1.0, 0.1, None),
    'roi_heads.mask_predictor.mask_fcn_logits': (2.0, 0.3, 0.5),
    's2new.fc_scores_img': (1.5, 0.3, None), 's2new': (1.0, 0.1, None),
}


def _uniform(gen, shape, lo, hi):
    return lo + (hi - lo) * torch.rand(shape, generator=gen)


def _layer_targets(name):
    return next(v for prefix, v in OUTPUT_STD.items() if name.startswith(prefix))


def init_weights(model, gen):
    """He-normal weights; backbone convs get a log-uniform per-channel gain (so BatchNorm
    variances span 1e-3..1e1 and eps matters); BN affine parameters are random."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            w = module.weight
            fan_in = w.shape[0] if isinstance(module, nn.ConvTranspose2d) else w[0].numel()
            w.copy_(torch.randn(w.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            if name.startswith('backbone.body'):
                gain = 10 ** _uniform(gen, (w.shape[0],), -1.5, 0.5)
                w.mul_(gain.view(-1, *([1] * (w.dim() - 1))))
            if module.bias is not None:
                module.bias.copy_(torch.randn(module.bias.shape, generator=gen)
                                  * _layer_targets(name)[1])
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.copy_(_uniform(gen, module.weight.shape, 0.5, 1.5))
            module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.25)
            module.num_batches_tracked.fill_(int(torch.randint(1, 100000, (1,), generator=gen)))


def _bn_hook(gen, var_floor):
    """Sets running statistics from the layer's input, perturbed (mean +- std/2, var x 2^+-1).
    The variance is floored at var_floor times the channel's mean square: on the tiny deep maps
    a channel can be nearly constant, and normalizing it would amplify rounding errors by
    |x|/std."""
    def hook(module, inputs):
        x = inputs[0]
        mean = x.mean((0, 2, 3))
        var = x.var((0, 2, 3), unbiased=False)
        var = torch.maximum(var, var_floor * (x * x).mean((0, 2, 3)) + 1e-12)
        module.running_mean.copy_(mean + var.sqrt() * _uniform(gen, mean.shape, -0.5, 0.5))
        module.running_var.copy_(var * 2 ** _uniform(gen, var.shape, -1.0, 1.0))
    return hook


def _scale_hook(target_std, centre):
    """Rescales the layer's weight so its (bias-free) output has target_std and, if centre is
    not None, shifts its bias so each output channel averages centre + the bias noise. Once."""
    def hook(module, inputs, output):
        if getattr(module, 'calibrated', False):
            return output
        shape = (1, -1) + (1,) * (output.dim() - 2)
        core = output - module.bias.view(shape)
        scale = target_std / max(float(core.std()), 1e-12)
        module.weight.mul_(scale)
        if centre is not None:
            dims = [d for d in range(output.dim()) if d != 1]
            module.bias.add_(centre - core.mean(dims) * scale)
        module.calibrated = True
        return core * scale + module.bias.view(shape)
    return hook


def calibrate(model, image, settings, gen, bn_var_floor):
    """One forward pass on the fixture's own image that sets every BN's statistics and scales
    every other layer to its target output std, in execution order."""
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            hooks.append(module.register_forward_pre_hook(_bn_hook(gen, bn_var_floor)))
        elif isinstance(module, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)) and \
                not name.startswith('backbone.body'):
            target_std, _, centre = _layer_targets(name)
            hooks.append(module.register_forward_hook(_scale_hook(target_std, centre)))
    calibration = dataclasses.replace(settings, box_score_thresh=-1.0, replication_seed=0)
    model.run(image, calibration)
    for h in hooks:
        h.remove()
    for module in model.modules():
        module.__dict__.pop('calibrated', None)


def set_background_bias(model, image, settings, fg_candidates, half_rank=None):
    """Chooses cls_score's background bias so that `fg_candidates` candidates score above the
    threshold (segmentation), or so that the classifier's scores spread over (0, 1): the
    candidate of rank `half_rank` (default: an eighth of them) at 0.5."""
    bias = model.roi_heads.box_predictor.cls_score.bias
    bias.zero_()
    out = model.run(image, dataclasses.replace(settings, box_score_thresh=-1.0,
                                               replication_seed=0))
    bias[0] = _background_bias(out['box_class_logits'], settings, fg_candidates, half_rank)


def _background_bias(logits, settings, fg_candidates, half_rank):
    """set_background_bias's value, from the box logits [P, n_c] of a zero background bias."""
    margin = (torch.logsumexp(logits[:, 1:], 1) - logits[:, 0]).sort(descending=True)[0]
    if settings.box_score_thresh < 0:
        rank = len(margin) // 8 if half_rank is None else min(half_rank, len(margin) - 1)
        return float(margin[rank])
    # score of a candidate ~ sigmoid(margin - b); place the threshold after fg_candidates.
    threshold_logit = float(np.log(settings.box_score_thresh / (1 - settings.box_score_thresh)))
    k = min(fg_candidates, len(margin) - 1)
    edge = float(margin[k]) if fg_candidates == 0 else float(margin[k - 1] + margin[k]) / 2
    return edge - threshold_logit + (1.0 if fg_candidates == 0 else 0.0)


def redraw_class_scores(model, variant, out, seed, redraw):
    """Gives cls_score a fresh He-normal weight (its own generator, from seed and redraw),
    scaled to its target output std on this image's RoI features as calibrate() would, sets
    the background bias again, and reruns the box branch and classifier on the same proposals.
    The backbone, the RPN and every other weight stay as they are."""
    gen = torch.Generator().manual_seed(REDRAW_SEED_BASE + 1000 * seed + redraw)
    layer = model.roi_heads.box_predictor.cls_score
    with torch.no_grad():
        pooled = model._pool(out['fpn'], out['proposals'], out['image_size'], 7)
        features = model.roi_heads.box_head(pooled)
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen)
                           * (2.0 / layer.weight.shape[1]) ** 0.5)
        layer.bias.zero_()
        target_std = _layer_targets('roi_heads.box_predictor.cls_score')[0]
        layer.weight.mul_(target_std / max(float(layer(features).std()), 1e-12))
        layer.bias[0] = _background_bias(layer(features), variant.settings,
                                         variant.fg_candidates, variant.score_half_rank)
        model._box_branch(out)
        model._classify(variant.settings, out)


# S's two large weights ([S, 5D] and [S, S]: 9.4 MB at D 256, S 1024) can be stored as strided
# views of small storages: row i of the weight is storage[STRIDED_STEP * i :][:columns].
STRIDED_S_WEIGHTS = ('s2new.fc_scores.weight', 's2new.fc_scores_2.weight')
STRIDED_STEP = 3


def _strided_view(storage, rows, columns):
    return storage.as_strided((rows, columns), (STRIDED_STEP, 1))


def init_strided_s(model, gen):
    """He-normal storages for the strided S weights; each row is a shifted window of it."""
    for name in STRIDED_S_WEIGHTS:
        weight = model.get_parameter(name)
        rows, columns = weight.shape
        storage = torch.randn(STRIDED_STEP * (rows - 1) + columns, generator=gen)
        weight.copy_(_strided_view(storage * (2.0 / columns) ** 0.5, rows, columns))


def checkpoint_weights(variant, model):
    """The state_dict to save: with strided_s, S's two large weights become views of their
    small storages (recovered from the weights, which calibration scaled as a whole)."""
    weights = model.state_dict()
    if variant.strided_s:
        for name in STRIDED_S_WEIGHTS:
            w = weights[name]
            storage = torch.cat([w[:, :STRIDED_STEP].reshape(-1), w[-1, STRIDED_STEP:]])
            view = _strided_view(storage, *w.shape)
            if not torch.equal(view, w):
                raise SystemExit('%s: %s is not a strided view' % (variant.name, name))
            weights[name] = view
    return weights


def build_model(variant, image, seed):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(seed)
    model = ReferenceModel(variant.arch).eval()
    with torch.no_grad():
        init_weights(model, gen)
        if variant.strided_s:
            init_strided_s(model, gen)
        calibrate(model, image, variant.settings, gen, variant.bn_var_floor)
        set_background_bias(model, image, variant.settings, variant.fg_candidates,
                            variant.score_half_rank)
    return model


# ---------------------------------------------------------------- LevelMapper boundary boxes

# sqrt(area) where the level steps (2->3, 3->4, 4->5). Just below each, in a window about 1e-6
# wide (relative), torchvision 0.4 (eps inside the log2, the authors') and >= 0.5 (eps outside)
# disagree: below 112 and 224 the eps inside lifts the box to the upper level; below 448 the
# eps outside does (log2(x + eps) < log2(x) + eps there), and float32 rounding of 4 + log2
# narrows that window to a few ulps.
LEVEL_BOUNDARIES = (112.0, 224.0, 448.0)
LEVEL_BOX_ORIGIN = (4.5, 6.25)
LEVEL_PLAIN_SIZES = (12.0, 60.0, 150.0, 300.0, 600.0, 1000.0)
LEVEL_SCAN_ULPS = 3000         # heights tried below each boundary, one float32 ulp apart
LEVEL_LOG2_ULPS = 2            # a level must survive log2 results off by this many ulps
LEVEL_CONTRAST = 0.05          # pooled features of the two candidate levels must differ by this
                               # much of their maximum (the C test's tolerance is 1e-4)


def _level_f32(box, log2_shift=0):
    """The unclamped 0.4 level of one box with float32 operations in torch's order; the log2
    result moved by log2_shift ulps (log2 is the one operation not correctly rounded)."""
    f = np.float32
    area = (f(box[2]) - f(box[0])) * (f(box[3]) - f(box[1]))
    v = np.log2(np.sqrt(area) / f(224) + f(1e-6))
    for _ in range(abs(log2_shift)):
        v = np.nextafter(v, f(np.inf) if log2_shift > 0 else f(-np.inf))
    return int(np.floor(f(4) + v))


def _robust_level(box):
    return len({_level_f32(box, d) for d in range(-LEVEL_LOG2_ULPS, LEVEL_LOG2_ULPS + 1)}) == 1


def _outside_levels(boxes, scales):
    """torchvision 0.14's LevelMapper (eps outside the log2), [K] int64 from 0."""
    k_min, k_max = int(-np.log2(scales[0])), int(-np.log2(scales[-1]))
    return LevelMapper(k_min, k_max)([boxes])


def _boundary_boxes(size, scales):
    """Boxes of width `size` whose heights step down from `size` by float32 ulps: the exact
    square, the middle of the window where the two LevelMappers disagree (if float32 has one)
    and the first height past it where both agree on the lower level. Each level is robust."""
    x1, y1 = LEVEL_BOX_ORIGIN
    y2 = [np.float32(y1 + size)]
    for _ in range(LEVEL_SCAN_ULPS):
        y2.append(np.nextafter(y2[-1], np.float32(-np.inf)))
    boxes = torch.tensor([[x1, y1, x1 + size, float(y)] for y in y2], dtype=torch.float32)
    inside, outside = roi_levels(boxes, scales), _outside_levels(boxes, scales)
    robust = torch.tensor([_robust_level(b.tolist()) for b in boxes])
    differ = torch.where((inside != outside) & robust)[0]
    chosen = [0]
    if len(differ):
        chosen.append(int(differ[len(differ) // 2]))
    below = torch.where((inside == inside[0] - 1) & (outside == inside) & robust)[0]
    chosen.append(int(below[0]))
    return boxes[chosen]


def level_mapper_arrays(out):
    """Boxes at and just below each level boundary, plus plain sizes from below k_min to above
    k_max, pooled 7x7 on the FPN levels by the 0.4 LevelMapper and by the 0.14 one."""
    fpn = out['fpn']
    scales = level_scales(fpn, out['image_size'])
    x1, y1 = LEVEL_BOX_ORIGIN
    plain = torch.tensor([[x1, y1, x1 + size, y1 + size] for size in LEVEL_PLAIN_SIZES])
    boxes = torch.cat([_boundary_boxes(size, scales) for size in LEVEL_BOUNDARIES] + [plain])
    inside, outside = roi_levels(boxes, scales), _outside_levels(boxes, scales)
    return dict(levelmap_boxes=boxes, levelmap_levels=inside, levelmap_levels_outside=outside,
                levelmap_pooled=pool_at_levels(fpn, boxes, scales, 7, inside),
                levelmap_pooled_outside=pool_at_levels(fpn, boxes, scales, 7, outside))


def level_mapper_problems(model, out):
    """The boundary boxes must discriminate: some pick different levels under the two
    LevelMappers, with clearly different features; the reference's own pooling agrees."""
    a = level_mapper_arrays(out)
    boxes, inside = a['levelmap_boxes'], a['levelmap_levels']
    problems = []
    if not torch.equal(model._pool(out['fpn'], boxes, out['image_size'], 7),
                       a['levelmap_pooled']):
        problems.append('levelmap: pooled features differ from the model\'s own')
    scales = level_scales(out['fpn'], out['image_size'])
    k_min, k_max = int(-np.log2(scales[0])), int(-np.log2(scales[-1]))
    emulated = [min(max(_level_f32(b.tolist()), k_min), k_max) - k_min for b in boxes]
    if emulated != inside.tolist():
        problems.append('levelmap: the float32 emulation disagrees with torch')
    differ = torch.where(inside != a['levelmap_levels_outside'])[0]
    if len(differ) < 2:
        problems.append('levelmap: only %d boxes tell the LevelMappers apart' % len(differ))
    pooled, other = a['levelmap_pooled'][differ], a['levelmap_pooled_outside'][differ]
    for p, q in zip(pooled, other):
        if float((p - q).abs().max()) < LEVEL_CONTRAST * float(p.abs().max()):
            problems.append('levelmap: the two levels give similar features')
    return problems


# ---------------------------------------------------------------- fixture checks

def _gaps(values):
    """Absolute differences of neighbours in a descending list (empty for < 2 values)."""
    return (values[:-1] - values[1:]).abs() if len(values) > 1 else torch.zeros(0)


def per_class_nms(boxes, scores, classes, threshold):
    """Batched NMS without the coordinate-offset trick: NMS per class, merged by descending
    score, exact ties by ascending index. Used to check that torchvision's choice of path
    (§15-12) cannot change a fixture."""
    keep = torch.zeros_like(scores, dtype=torch.bool)
    for c in torch.unique(classes):
        members = torch.where(classes == c)[0]
        keep[members[nms(boxes[members], scores[members], threshold)]] = True
    kept = torch.where(keep)[0]
    return kept[torch.sort(scores[kept], descending=True, stable=True)[1]]


def nms_problems(what, candidates, thresh, limit, score_eps):
    """Ways float noise could change this NMS: torchvision's path choice, the IoU threshold
    (+-IOU_EPS), near-tied scores of boxes that overlap past the threshold, or a near tie at
    the cut after `limit` survivors."""
    boxes, scores, classes, keep = candidates
    problems = []
    batched, per_class = keep, per_class_nms(boxes, scores, classes, thresh)
    if not torch.equal(batched, per_class):
        problems.append('%s: coordinate-trick and per-class NMS differ' % what)
    for t in (thresh - IOU_EPS, thresh + IOU_EPS):
        if not torch.equal(per_class_nms(boxes, scores, classes, t)[:limit], per_class[:limit]):
            problems.append('%s: NMS result changes at IoU threshold %r' % (what, t))
    iou = box_iou(boxes, boxes)
    close = (scores[:, None] - scores[None, :]).abs() < score_eps
    same = classes[:, None] == classes[None, :]
    pairs = torch.triu(close & same & (iou > thresh - IOU_EPS), diagonal=1)
    if bool(pairs.any()):
        problems.append('%s: %d overlapping near-tied pairs' % (what, int(pairs.sum())))
    cut = scores[per_class[limit - 1:limit + 1]]
    if len(per_class) > limit and float(_gaps(cut)[0]) < score_eps:
        problems.append('%s: near tie at the cut after %d' % (what, limit))
    return problems


def rpn_problems(variant, out):
    """Near ties in the RPN's top-n cuts, NMS and proposal order."""
    s, problems = variant.settings, []
    objectness, offset = out['rpn_objectness'], 0
    for count in out['anchors_per_level']:
        level = objectness[offset:offset + count].sort(descending=True)[0]
        offset += count
        if count > s.rpn_pre_nms_top_n and \
                float(level[s.rpn_pre_nms_top_n - 1] - level[s.rpn_pre_nms_top_n]) < LOGIT_GAP:
            problems.append('rpn: near tie at the pre-NMS top-n cut')
    problems += nms_problems('rpn', out['rpn_nms'], s.rpn_nms_thresh, s.rpn_post_nms_top_n,
                             LOGIT_GAP)
    scores = out['proposal_scores']
    if len(scores) > 1 and float(_gaps(scores).min()) < PROPOSAL_GAP * float(scores.abs().max()):
        problems.append('rpn: neighbouring proposal scores nearly tied')
    return problems


def box_problems(variant, out):
    """Near ties in the box branch's NMS and order; the case's own requirements."""
    s = variant.settings
    problems = nms_problems('box', out['box_nms'], s.box_nms_thresh, s.detections_per_img,
                            THRESH_GAP)
    _, scores, _, keep = out['box_nms']
    kept = scores[keep[:s.detections_per_img]]
    gap = SCORE_GAP if variant.arch.task == 'segmentation' else ROW_GAP
    if len(kept) > 1 and float(_gaps(kept).min()) < gap:
        problems.append('box: neighbouring kept scores closer than %g' % gap)
    if variant.arch.task == 'segmentation':
        problems += _segmentation_problems(variant, out)
    else:
        problems += _classifier_problems(variant, out)
    return problems


def feature_problems(variant, model, out):
    """Everything that makes the fixture's features and proposals unambiguous (box_problems
    checks the rest); no redraw of the box scores can fix these."""
    problems = rpn_problems(variant, out)
    if variant.level_boxes:
        problems += level_mapper_problems(model, out)
    return problems or conditioning_problems(model, out)


def conditioning_problems(model, out):
    """Float32 rounding error of the feature stages, measured against float64."""
    model64 = copy.deepcopy(model).double()
    with torch.no_grad():
        body = model64.backbone.body(out['input'].double()[None])
        fpn = model64.backbone.fpn(body)
        objectness = torch.cat([model64.rpn.head(f)[0] for f in fpn])
    pairs = [(out['backbone'][i], b[0]) for i, b in enumerate(body)]
    pairs += [(out['fpn'][i], f[0]) for i, f in enumerate(fpn)]
    pairs.append((out['rpn_objectness'], objectness))
    worst = max(float((a.double() - b).abs().max() / b.abs().max()) for a, b in pairs)
    if worst > FEATURE_NOISE:
        return ['features: float32 error %.2g of their maximum' % worst]
    return []


def _segmentation_problems(variant, out):
    problems = []
    candidates = out['box_candidate_scores']
    if len(candidates) and float((candidates - variant.settings.box_score_thresh).abs().min()) \
            < THRESH_GAP:
        problems.append('box: a candidate score lies at the threshold')
    lo, hi = variant.detections
    if not lo <= len(out['det_scores']) <= hi:
        problems.append('%d detections, want %d..%d' % (len(out['det_scores']), lo, hi))
    return problems


def _classifier_problems(variant, out):
    problems = []
    replicating = variant.settings.replication_seed is not None
    if (out['survivors'] < variant.settings.detections_per_img) != replicating:
        problems.append('K = %d: replication %s' % (out['survivors'],
                                                    'expected' if replicating else 'unwanted'))
    top2 = out['logits'].sort(descending=True)[0][:2]
    if float(top2[0] - top2[1]) < CLASS_GAP:
        problems.append('classifier: top logits too close')
    return problems


# ---------------------------------------------------------------- writing

def stage_arrays(variant, out):
    """The per-stage arrays listed in tools/reference/README.md: name -> numpy array."""
    arrays = {}
    if variant.store_input == 'full':
        arrays['input'] = out['input']
    elif variant.store_input == 'sub8':
        arrays['input_sub8'] = out['input'][:, ::8, ::8]
    if variant.store_anchors:
        arrays['anchors'] = out['anchors']
    if variant.store_deltas:
        arrays['rpn_deltas'] = out['rpn_deltas']
    if len(out['fpn']) == 1:
        arrays.update(backbone=out['backbone'][0], fpn=out['fpn'][0])
    else:   # resnet50: one file per level, stride 4 * 2**i
        for i, (body, fpn) in enumerate(zip(out['backbone'], out['fpn'])):
            if variant.store_levels is None or i in variant.store_levels:
                arrays.update({'backbone_%d' % i: body, 'fpn_%d' % i: fpn})
    if variant.store_objectness:
        arrays['rpn_objectness'] = out['rpn_objectness']
    arrays.update(proposals=out['proposals'], proposal_scores=out['proposal_scores'],
                  box_class_logits=out['box_class_logits'], box_regression=out['box_regression'])
    if variant.arch.task == 'segmentation':
        arrays.update(det_boxes=out['det_boxes'], det_scores=out['det_scores'],
                      det_labels=out['det_labels'], mask_logits=out['mask_logits'],
                      final_boxes=out['final_boxes'])
        if variant.pasted_limit:
            arrays['pasted_masks'] = out['pasted_masks'][:variant.pasted_limit]
    else:
        arrays.update(ranked_rows=out['ranked_rows'], keep_index=out['keep_index'],
                      ranked_labels=out['ranked_labels'], ranked_boxes=out['ranked_final_boxes'],
                      logits=out['logits'])
    if variant.level_boxes:
        arrays.update(level_mapper_arrays(out))
    return {name: np.ascontiguousarray(t.numpy().astype('<i8' if t.dtype == torch.int64 else '<f4'))
            for name, t in arrays.items()}


def write_stages(variant, out, directory):
    for old in os.listdir(directory):
        if old.endswith('.npy'):
            os.remove(os.path.join(directory, old))
    for name, array in stage_arrays(variant, out).items():
        np.save(os.path.join(directory, name + '.npy'), array)


def verify(variant, directory):
    """Loads model.pth back into a fresh model and checks that it reproduces every stored
    array bit for bit."""
    checkpoint = torch.load(os.path.join(directory, 'model.pth'), map_location='cpu')
    model = ReferenceModel(variant.arch).eval()
    model.load_state_dict(checkpoint['model_weights'])
    out = model.run(load_image(os.path.join(directory, 'image.png')), variant.settings)
    for name, array in stage_arrays(variant, out).items():
        stored = np.load(os.path.join(directory, name + '.npy'))
        if stored.dtype != array.dtype or not np.array_equal(stored, array):
            raise SystemExit('%s: %s.npy is not reproduced from model.pth' % (variant.name, name))


def write_settings(variant, directory):
    s = variant.settings
    lines = ['# Run settings of this golden case (key value); see tools/reference/README.md.',
             'min_size %d' % s.min_size, 'max_size %d' % s.max_size,
             'score_thresh %r' % s.box_score_thresh, 'nms_thresh %r' % s.box_nms_thresh,
             'detections %d' % s.detections_per_img, 'rpn_pre %d' % s.rpn_pre_nms_top_n,
             'rpn_post %d' % s.rpn_post_nms_top_n, 'rpn_nms %r' % s.rpn_nms_thresh,
             'mask_thresh %r' % s.mask_thresh,
             'seed %d' % (s.replication_seed if s.replication_seed is not None else 0)]
    with open(os.path.join(directory, 'settings.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _min_gap(values):
    gaps = _gaps(values)
    return '%.3g' % float(gaps.min()) if len(gaps) else '-'


def write_info(variant, out, seed, redraw, directory):
    """Human-readable facts about the case: architecture, sizes, counts, margins."""
    a, (h, w) = variant.arch, out['original_size']
    degenerate = out['proposals'][:, 2:] <= out['proposals'][:, :2]
    info = [
        ('task', a.task), ('backbone', 'resnet%d' % a.depth),
        ('truncation', 'none (4 FPN levels)' if a.depth == 50 else a.truncation),
        ('num_classes', a.num_classes), ('stem_width', a.stem_width),
        ('fpn_channels', a.fpn_channels), ('representation_size', a.representation_size),
        ('mask_head_channels', a.mask_head_channels),
        ('roi_batch_size', a.roi_batch_size if a.task == 'classification' else 0),
        ('s_features', a.s_features),
        ('checkpoint', '%s%s%s' % ('legacy' if variant.checkpoint.get('legacy', True) else 'zip',
                                   ', cuda-tagged' if variant.checkpoint.get('cuda_tagged') else '',
                                   ', with optimizer' if variant.checkpoint.get('with_optimizer')
                                   else '')),
        ('weight_seed', seed),
        ('image', '%dx%d (WxH) %s' % (w, h, 'RGB' if variant.crop.rgb else 'gray')),
        ('crop_of_ct_slice', 'x %d y %d w %d h %d, box-filtered' % variant.crop.box),
        ('resize_scale', repr(out['resize_scale'])),
        ('resized', '%dx%d (WxH)' % (out['image_size'][1], out['image_size'][0])),
        ('padded', '%dx%d (WxH)' % (out['input'].shape[2], out['input'].shape[1])),
        ('anchors', len(out['anchors'])), ('proposals', len(out['proposals'])),
        ('degenerate_proposals', int(degenerate.any(1).sum())),
        ('proposal_min_neighbour_gap', _min_gap(out['proposal_scores'])),
        ('proposal_max_abs_score', '%.3g' % float(out['proposal_scores'].abs().max())),
        ('box_candidates_area_gt_0', len(out['box_candidate_scores'])),
        ('box_nms_survivors', len(out['box_nms'][3])),
    ]
    if variant.score_redraws:
        info.insert([k for k, _ in info].index('weight_seed') + 1, ('cls_score_redraw', redraw))
    if a.task == 'segmentation':
        logits = out['pasted_masks']
        info += [('detections', len(out['det_scores'])),
                 ('detection_min_neighbour_gap', _min_gap(out['det_scores'])),
                 ('pasted_masks_stored', min(len(logits), variant.pasted_limit)),
                 ('mask_pixels_above_thresh', int((logits > variant.settings.mask_thresh).sum())),
                 ('mask_pixels_nonzero', int((logits != 0).sum()))]
        if variant.level_boxes:
            levels = level_mapper_arrays(out)
            differ = levels['levelmap_levels'] != levels['levelmap_levels_outside']
            info += [('levelmap_boxes', len(differ)),
                     ('levelmap_boxes_0.4_vs_0.14_differ', int(differ.sum()))]
    else:
        info += [('survivors_K', out['survivors']),
                 ('ranked_min_neighbour_gap', _min_gap(out['ranked_rows'][:, 0].unique())),
                 ('logits', ' '.join('%.9g' % v for v in out['logits'].tolist())),
                 ('class_index', int(out['logits'].argmax()))]
        if variant.strided_s:
            info.append(('s_weights', 'fc_scores, fc_scores_2 stored as strided views: row i = '
                                      'storage[%d*i:][:columns]' % STRIDED_STEP))
    with open(os.path.join(directory, 'info.txt'), 'w') as f:
        f.write('# Facts about this golden case (informational; written by make_goldens.py)\n')
        f.writelines('%s %s\n' % (k, v) for k, v in info)


def _same_checkpoint(path, new_path):
    """True when two checkpoint files hold the same objects in the same format (legacy files
    name their storages by memory address, so their bytes differ from run to run)."""
    if not os.path.exists(path):
        return False
    with open(path, 'rb') as f, open(new_path, 'rb') as g:
        old, new = f.read(), g.read()
    if old == new:
        return True
    if old[:2] != new[:2] or (b'cuda:0' in old) != (b'cuda:0' in new):
        return False
    return _equal(torch.load(path, map_location='cpu'), torch.load(new_path, map_location='cpu'))


def _equal(a, b):
    if type(a) is not type(b):
        return False
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a) and \
            _equal(getattr(a, '_metadata', None), getattr(b, '_metadata', None))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if hasattr(a, '__dict__') and not isinstance(a, type):
        return _equal(a.__dict__, b.__dict__)
    return a == b


def write_checkpoint(variant, model, directory):
    """model.pth in the authors' format; an equivalent existing file is kept as it is."""
    path = os.path.join(directory, 'model.pth')
    fresh = path + '.new'
    options = dict(cache_image_size=64)
    options.update(variant.checkpoint)
    save_authors_checkpoint(fresh, checkpoint_weights(variant, model), variant.arch.task,
                            **options)
    if _same_checkpoint(path, fresh):
        os.remove(fresh)
    else:
        os.replace(fresh, path)


# ---------------------------------------------------------------- main

def find_model(variant, image):
    """The first weight seed from variant.seed on whose outputs every check passes (for a
    seed whose features pass, up to variant.score_redraws redraws of cls_score are tried
    too). Returns the model, its outputs, the seed and the redraw (0: none)."""
    for seed in range(variant.seed, variant.seed + MAX_SEED_TRIES):
        model = build_model(variant, image, seed)
        out = model.run(image, variant.settings)
        problems, redraw = feature_problems(variant, model, out), 0
        if not problems:
            problems = box_problems(variant, out)
            while problems and redraw < variant.score_redraws:
                redraw += 1
                redraw_class_scores(model, variant, out, seed, redraw)
                problems = box_problems(variant, out)
        if not problems:
            return model, out, seed, redraw
        print('  seed %d: %s' % (seed, '; '.join(problems[:3])), file=sys.stderr)
    raise SystemExit('%s: no seed in %d tries passes the checks' % (variant.name, MAX_SEED_TRIES))


def make_variant(variant):
    directory = os.path.join(GOLDEN, variant.name)
    os.makedirs(directory, exist_ok=True)
    image_path = os.path.join(directory, 'image.png')
    make_image(variant.crop, image_path)
    image = load_image(image_path)
    model, out, seed, redraw = find_model(variant, image)
    write_checkpoint(variant, model, directory)
    write_settings(variant, directory)
    write_stages(variant, out, directory)
    write_info(variant, out, seed, redraw, directory)
    verify(variant, directory)
    print('%s: seed %d%s, %s' % (variant.name, seed, ' redraw %d' % redraw if redraw else '',
                               '%d detections' % len(out['det_scores'])
                               if variant.arch.task == 'segmentation'
                               else 'K %d, logits %s' % (out['survivors'],
                                                        out['logits'].tolist())))


def main(names):
    torch.set_num_threads(1)   # one thread: the reductions' order, hence the bits, stay fixed
    chosen = [v for v in VARIANTS if not names or v.name in names]
    unknown = set(names) - {v.name for v in VARIANTS}
    if unknown:
        raise SystemExit('unknown variant(s): %s' % ', '.join(sorted(unknown)))
    for variant in chosen:
        make_variant(variant)


if __name__ == '__main__':
    main(sys.argv[1:])

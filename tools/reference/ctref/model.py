"""An independent PyTorch re-implementation of the authors' models, written from
/work/shared/spec/model.md (§1-§12, traps §15, numerics §17): the lightweight Mask R-CNN
(truncated ResNet18/34 + one-level FPN; ResNet50 with four levels) and the COVID-CT-Mask-Net
classifier. Module attribute names reproduce the authors' state_dict keys (§13); widths are
configurable so test models stay small. `ReferenceModel.run` returns every intermediate stage.

    arch = Arch(task='segmentation', depth=18, truncation='1', stem_width=8, fpn_channels=16,
                representation_size=16, mask_head_channels=16)
    model = ReferenceModel(arch).eval()
    stages = model.run(load_image('slice.png'), Settings(min_size=64, max_size=128))
"""
import collections
import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.models.detection.roi_heads import paste_masks_in_image
from torchvision.ops import batched_nms, clip_boxes_to_image, roi_align

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
ANCHOR_SIZES = (2, 4, 8, 16, 32)
ASPECT_RATIOS = (0.1, 0.25, 0.5, 1, 1.5, 2)
BBOX_XFORM_CLIP = math.log(1000.0 / 16)
RPN_BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
ROI_BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)
BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}
LAST_LAYER = {'0': 4, '1': 3, '2': 2}      # truncation -> deepest ResNet layer kept


@dataclasses.dataclass
class Arch:
    """What the network is. Widths default to the authors' (64/256/128/128, S 512)."""
    task: str = 'segmentation'            # or 'classification'
    depth: int = 18                       # 18, 34 or 50
    truncation: str = '1'                 # '0' | '1' | '2'; ignored for resnet50 (4 levels)
    num_classes: int = 2                  # n_c, background included
    stem_width: int = 64                  # layer widths stem x 1, 2, 4, 8 (x4 for bottlenecks)
    fpn_channels: int = 256
    representation_size: int = 128
    mask_head_channels: int = 128         # resnet50: 256 (four convs)
    roi_batch_size: int = 128             # classifier D
    s_features: int = 512                 # classifier S width


@dataclasses.dataclass
class Settings:
    """Run settings (§11); the defaults are inference_segmentation's."""
    min_size: int = 512
    max_size: int = 1024
    size_divisible: int = 32
    rpn_pre_nms_top_n: int = 1000
    rpn_post_nms_top_n: int = 1000
    rpn_nms_thresh: float = 0.75
    box_score_thresh: float = 0.05
    box_nms_thresh: float = 0.5
    detections_per_img: int = 100
    mask_thresh: float = 0.5
    replication_seed: int = None          # classifier: torch.manual_seed just before randperm


def classifier_settings(arch, **overrides):
    """evaluate_classifier.py's settings: score -0.01, NMS 0.75/0.75, D = roi_batch_size."""
    values = dict(box_score_thresh=-0.01, box_nms_thresh=0.75,
                  detections_per_img=arch.roi_batch_size)
    values.update(overrides)
    return Settings(**values)


def load_image(path):
    """The scripts' loading (§2): PIL, convert to RGB, ToTensor -> float32 [3,H,W] in [0,1]."""
    image = Image.open(path)
    if image.mode != 'RGB':
        image = image.convert('RGB')
    pixels = torch.from_numpy(np.array(image)[:, :, :3].copy())   # [H,W,3] uint8
    return pixels.permute(2, 0, 1).contiguous().float().div(255)


# ---------------------------------------------------------------- backbone (§3)

def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def _downsample(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=False)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(cin, planes, stride) if stride != 1 or cin != planes else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + identity)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck: the stride sits on the 3x3 conv."""
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)
        self.downsample = _downsample(cin, cout, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


class ResNetBody(nn.Module):
    """conv1/bn1/relu/maxpool and layer1..layer`last`; later layers, avgpool and fc are absent.
    Returns the outputs of the layers that feed the FPN (`returned`, 1-based layer numbers)."""

    def __init__(self, depth, last, returned, stem_width):
        super().__init__()
        block = Bottleneck if depth == 50 else BasicBlock
        self.returned = returned
        self.conv1 = nn.Conv2d(3, stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_width)
        self.relu = nn.ReLU(inplace=False)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = stem_width
        self.out_channels = []
        for i in range(last):
            planes = stem_width * 2 ** i
            blocks = [block(cin, planes, 1 if i == 0 else 2)]
            cin = planes * block.expansion
            blocks += [block(cin, planes, 1) for _ in range(BLOCKS[depth][i] - 1)]
            setattr(self, 'layer%d' % (i + 1), nn.Sequential(*blocks))
            self.out_channels.append(cin)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        outputs = []
        for i in range(1, len(self.out_channels) + 1):
            x = getattr(self, 'layer%d' % i)(x)
            if i in self.returned:
                outputs.append(x)
        return outputs


class FPN(nn.Module):
    """FeaturePyramidNetwork without extra blocks (no 'pool' level), torchvision <= 0.12 keys."""

    def __init__(self, in_channels_list, out_channels):
        super().__init__()
        self.inner_blocks = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels_list)
        self.layer_blocks = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, padding=1)
                                          for _ in in_channels_list)

    def forward(self, features):
        last = self.inner_blocks[-1](features[-1])
        outputs = [self.layer_blocks[-1](last)]
        for i in range(len(features) - 2, -1, -1):
            lateral = self.inner_blocks[i](features[i])
            last = lateral + F.interpolate(last, size=lateral.shape[-2:], mode='nearest')
            outputs.insert(0, self.layer_blocks[i](last))
        return outputs


class Backbone(nn.Module):
    def __init__(self, arch):
        super().__init__()
        if arch.depth == 50:
            last, returned = 4, (1, 2, 3, 4)
        else:
            last = LAST_LAYER[arch.truncation]
            returned = (last,)
        self.body = ResNetBody(arch.depth, last, returned, arch.stem_width)
        in_channels = [self.body.out_channels[i - 1] for i in returned]
        self.fpn = FPN(in_channels, arch.fpn_channels)


# ---------------------------------------------------------------- anchors (§5)

def cell_anchors(sizes=ANCHOR_SIZES, aspect_ratios=ASPECT_RATIOS):
    """[len(ratios)*len(sizes), 4] float32, ratio-major, rounded half to even."""
    scales = torch.as_tensor(sizes, dtype=torch.float32)
    ratios = torch.as_tensor(aspect_ratios, dtype=torch.float32)
    h_ratios = torch.sqrt(ratios)
    w_ratios = 1 / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    return torch.round(torch.stack([-ws, -hs, ws, hs], dim=1) / 2)


def grid_anchors(grid_size, padded_size, base):
    """[gh*gw*A, 4]: location-major, anchor-minor; origin (j*stride_w, i*stride_h), no offset."""
    gh, gw = grid_size
    stride_h, stride_w = padded_size[0] / gh, padded_size[1] / gw
    shift_x = torch.arange(0, gw, dtype=torch.float32) * stride_w
    shift_y = torch.arange(0, gh, dtype=torch.float32) * stride_h
    sy, sx = torch.meshgrid(shift_y, shift_x, indexing='ij')
    shifts = torch.stack((sx.reshape(-1), sy.reshape(-1), sx.reshape(-1), sy.reshape(-1)), dim=1)
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)


# ---------------------------------------------------------------- box coding (§7.3)

def decode_boxes(deltas, boxes, weights):
    """deltas [N, 4k] applied to boxes [N,4] -> [N, k, 4]; clip log(1000/16) from above only."""
    widths = boxes[:, 2] - boxes[:, 0]
    heights = boxes[:, 3] - boxes[:, 1]
    ctr_x = boxes[:, 0] + 0.5 * widths
    ctr_y = boxes[:, 1] + 0.5 * heights
    wx, wy, ww, wh = weights
    dx = deltas[:, 0::4] / wx
    dy = deltas[:, 1::4] / wy
    dw = torch.clamp(deltas[:, 2::4] / ww, max=BBOX_XFORM_CLIP)
    dh = torch.clamp(deltas[:, 3::4] / wh, max=BBOX_XFORM_CLIP)
    pred_ctr_x = dx * widths[:, None] + ctr_x[:, None]
    pred_ctr_y = dy * heights[:, None] + ctr_y[:, None]
    pred_w = torch.exp(dw) * widths[:, None]
    pred_h = torch.exp(dh) * heights[:, None]
    half_w = 0.5 * pred_w
    half_h = 0.5 * pred_h
    return torch.stack((pred_ctr_x - half_w, pred_ctr_y - half_h,
                        pred_ctr_x + half_w, pred_ctr_y + half_h), dim=2)


# ---------------------------------------------------------------- heads (§6-§8, §10.4)

class RPNHead(nn.Module):
    def __init__(self, channels, num_anchors):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.cls_logits = nn.Conv2d(channels, num_anchors, 1)
        self.bbox_pred = nn.Conv2d(channels, num_anchors * 4, 1)

    def forward(self, feature):
        """[1,C,H,W] -> objectness [H*W*A] and deltas [H*W*A, 4] in anchor order."""
        t = F.relu(self.conv(feature))
        logits = self.cls_logits(t)                                  # [1,A,H,W]
        deltas = self.bbox_pred(t)                                   # [1,4A,H,W]
        n, a, h, w = logits.shape
        objectness = logits.permute(0, 2, 3, 1).reshape(-1)
        deltas = deltas.view(n, a, 4, h, w).permute(0, 3, 4, 1, 2).reshape(-1, 4)
        return objectness, deltas


class RPN(nn.Module):
    def __init__(self, channels, num_anchors):
        super().__init__()
        self.head = RPNHead(channels, num_anchors)


class TwoMLPHead(nn.Module):
    def __init__(self, in_features, representation_size):
        super().__init__()
        self.fc6 = nn.Linear(in_features, representation_size)
        self.fc7 = nn.Linear(representation_size, representation_size)

    def forward(self, x):
        return F.relu(self.fc7(F.relu(self.fc6(x.flatten(start_dim=1)))))


class FastRCNNPredictor(nn.Module):
    def __init__(self, in_features, num_classes):
        super().__init__()
        self.cls_score = nn.Linear(in_features, num_classes)
        self.bbox_pred = nn.Linear(in_features, num_classes * 4)


def mask_head(in_channels, layers):
    """MaskRCNNHeads: mask_fcn1..k 3x3 convs (+bias), each followed by relu1..k."""
    modules = collections.OrderedDict()
    for i, width in enumerate(layers, 1):
        modules['mask_fcn%d' % i] = nn.Conv2d(in_channels, width, 3, padding=1)
        modules['relu%d' % i] = nn.ReLU(inplace=False)
        in_channels = width
    return nn.Sequential(modules)


class MaskRCNNPredictor(nn.Module):
    def __init__(self, in_channels, width, num_classes):
        super().__init__()
        self.conv5_mask = nn.ConvTranspose2d(in_channels, width, 2, stride=2)
        self.relu = nn.ReLU(inplace=False)
        self.mask_fcn_logits = nn.Conv2d(width, num_classes, 1)

    def forward(self, x):
        return self.mask_fcn_logits(self.relu(self.conv5_mask(x)))


class RoIHeads(nn.Module):
    def __init__(self, arch):
        super().__init__()
        self.box_head = TwoMLPHead(arch.fpn_channels * 7 * 7, arch.representation_size)
        self.box_predictor = FastRCNNPredictor(arch.representation_size, arch.num_classes)
        if arch.task == 'segmentation':
            layers = (arch.mask_head_channels,) * (4 if arch.depth == 50 else 1)
            self.mask_head = mask_head(arch.fpn_channels, layers)
            self.mask_predictor = MaskRCNNPredictor(layers[-1], arch.mask_head_channels,
                                                    arch.num_classes)


class S2Predictor(nn.Module):
    """The classifier's S module: [D,5] ranked rows -> 3 image-class logits."""

    def __init__(self, roi_batch_size, s_features):
        super().__init__()
        self.fc_scores = nn.Linear(5 * roi_batch_size, s_features)
        self.fc_scores_2 = nn.Linear(s_features, s_features)
        self.fc_scores_img = nn.Linear(s_features, 3)

    def forward(self, rows):
        x = rows.reshape(1, -1)
        return self.fc_scores_img(F.relu(self.fc_scores_2(F.relu(self.fc_scores(x)))))[0]


# ---------------------------------------------------------------- the model

class ReferenceModel(nn.Module):
    """COVIDMaskNet (segmentation) or the COVID-CT-Mask-Net classifier; call .eval() first."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        num_anchors = len(ANCHOR_SIZES) * len(ASPECT_RATIOS)
        self.backbone = Backbone(arch)
        self.rpn = RPN(arch.fpn_channels, num_anchors)
        self.roi_heads = RoIHeads(arch)
        if arch.task == 'classification':
            self.s2new = S2Predictor(arch.roi_batch_size, arch.s_features)

    @torch.no_grad()
    def run(self, image, settings):
        """image: float32 [3,H,W] in [0,1]. Returns a dict of every stage (see README.md)."""
        out = {'original_size': tuple(image.shape[-2:])}
        self._transform(image, settings, out)
        self._features(out)
        self._proposals(settings, out)
        self._box_branch(out)
        if self.arch.task == 'segmentation':
            self._detections(settings, out)
            self._masks(out)
        else:
            self._classify(settings, out)
        return out

    # -- GeneralizedRCNNTransform (§2)
    def _transform(self, image, settings, out):
        mean = torch.as_tensor(IMAGE_MEAN, dtype=image.dtype)
        std = torch.as_tensor(IMAGE_STD, dtype=image.dtype)
        normalized = (image - mean[:, None, None]) / std[:, None, None]
        h, w = image.shape[-2:]
        scale = settings.min_size / float(min(h, w))
        if float(max(h, w)) * scale > settings.max_size:
            scale = settings.max_size / float(max(h, w))
        # size floor(side * scale) in float64; weights from in/out sizes, as torch 1.1 did
        resized = F.interpolate(normalized[None], scale_factor=scale, mode='bilinear',
                                align_corners=False, recompute_scale_factor=True)[0]
        rh, rw = resized.shape[-2:]
        d = settings.size_divisible
        padded = resized.new_zeros((3, math.ceil(rh / d) * d, math.ceil(rw / d) * d))
        padded[:, :rh, :rw] = resized
        out.update(resize_scale=scale, image_size=(rh, rw), input=padded)

    # -- backbone, FPN, RPN head (§3, §4, §6)
    def _features(self, out):
        body_outputs = self.backbone.body(out['input'][None])
        fpn_outputs = self.backbone.fpn(body_outputs)
        base = cell_anchors()
        heads = [self.rpn.head(f) for f in fpn_outputs]
        anchors = [grid_anchors(f.shape[-2:], out['input'].shape[-2:], base) for f in fpn_outputs]
        out.update(backbone=[f[0] for f in body_outputs], fpn=[f[0] for f in fpn_outputs],
                   rpn_objectness=torch.cat([o for o, _ in heads]),
                   rpn_deltas=torch.cat([d for _, d in heads]),
                   anchors=torch.cat(anchors),
                   anchors_per_level=[len(a) for a in anchors])

    # -- filter_proposals, test mode (§6)
    def _proposals(self, settings, out):
        objectness, per_level = out['rpn_objectness'], out['anchors_per_level']
        decoded = decode_boxes(out['rpn_deltas'], out['anchors'], RPN_BOX_WEIGHTS)[:, 0]
        top, levels, offset = [], [], 0
        for level, count in enumerate(per_level):
            _, idx = objectness[offset:offset + count].topk(min(settings.rpn_pre_nms_top_n, count))
            top.append(idx + offset)
            levels.append(torch.full((len(idx),), level, dtype=torch.int64))
            offset += count
        top, levels = torch.cat(top), torch.cat(levels)
        boxes = clip_boxes_to_image(decoded[top], out['image_size'])
        scores = objectness[top]
        widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        small = torch.where((widths >= 0) & (heights >= 0))[0]   # remove_small_boxes(min_size=0)
        boxes, scores, levels = boxes[small], scores[small], levels[small]
        keep = batched_nms(boxes, scores, levels, settings.rpn_nms_thresh)
        out['rpn_nms'] = (boxes, scores, levels, keep)
        keep = keep[:settings.rpn_post_nms_top_n]
        out.update(proposals=boxes[keep], proposal_scores=scores[keep])

    # -- RoIAlign (MultiScaleRoIAlign, §7.1, §12)
    def _pool(self, fpn, boxes, image_size, output_size):
        """[K,4] boxes in resized-image coordinates -> [K,C,output,output]."""
        scales = level_scales(fpn, image_size)
        levels = roi_levels(boxes, scales) if len(fpn) > 1 else None
        return pool_at_levels(fpn, boxes, scales, output_size, levels)

    # -- box head and predictor (§7.2)
    def _box_branch(self, out):
        pooled = self._pool(out['fpn'], out['proposals'], out['image_size'], 7)
        features = self.roi_heads.box_head(pooled)
        predictor = self.roi_heads.box_predictor
        out.update(box_class_logits=predictor.cls_score(features),
                   box_regression=predictor.bbox_pred(features))

    def _candidates(self, out):
        """§7.4 steps 1-4: decode, softmax, clip, drop background, flatten, keep area > 0.
        Returns boxes [M,4], scores [M], labels [M], raw deltas [M,4], all area > 0."""
        logits, regression = out['box_class_logits'], out['box_regression']
        n, n_c = logits.shape
        boxes = clip_boxes_to_image(decode_boxes(regression, out['proposals'], ROI_BOX_WEIGHTS),
                                    out['image_size'])
        scores = F.softmax(logits, -1)
        labels = torch.arange(n_c).view(1, -1).expand_as(scores)
        raw = regression.view(n, n_c, 4)
        boxes, scores = boxes[:, 1:].reshape(-1, 4), scores[:, 1:].reshape(-1)
        labels, raw = labels[:, 1:].reshape(-1), raw[:, 1:].reshape(-1, 4)
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        keep = torch.where(area > 0)[0]
        return boxes[keep], scores[keep], labels[keep], raw[keep]

    def _filtered_nms(self, settings, out):
        """§7.4 steps 5-7 on the candidates (which, with the full NMS result, stay in `out`
        for the fixture checks)."""
        boxes, scores, labels, raw = self._candidates(out)
        out['box_candidate_scores'] = scores
        passing = torch.where(scores > settings.box_score_thresh)[0]
        boxes, scores, labels, raw = boxes[passing], scores[passing], labels[passing], raw[passing]
        keep = batched_nms(boxes, scores, labels, settings.box_nms_thresh)
        out['box_nms'] = (boxes, scores, labels, keep)
        keep = keep[:settings.detections_per_img]
        return boxes[keep], scores[keep], labels[keep], raw[keep]

    def _rescale(self, boxes, out):
        """transform.postprocess: boxes * (original / resized) per axis, Python-float ratios."""
        (oh, ow), (rh, rw) = out['original_size'], out['image_size']
        ratio_h, ratio_w = float(oh) / float(rh), float(ow) / float(rw)
        x1, y1, x2, y2 = boxes.unbind(1)
        return torch.stack((x1 * ratio_w, y1 * ratio_h, x2 * ratio_w, y2 * ratio_h), dim=1)

    # -- segmentation outputs (§7.4, §8, §9)
    def _detections(self, settings, out):
        boxes, scores, labels, _ = self._filtered_nms(settings, out)
        out.update(det_boxes=boxes, det_scores=scores, det_labels=labels)

    def _masks(self, out):
        boxes, labels = out['det_boxes'], out['det_labels']
        pooled = self._pool(out['fpn'], boxes, out['image_size'], 14)
        logits = self.roi_heads.mask_predictor(self.roi_heads.mask_head(pooled))   # [D,n_c,28,28]
        selected = logits[torch.arange(len(labels)), labels]                        # no sigmoid
        final_boxes = self._rescale(boxes, out)
        pasted = paste_masks_in_image(selected[:, None], final_boxes, out['original_size'],
                                      padding=1)
        out.update(mask_logits=selected, final_boxes=final_boxes, pasted_masks=pasted[:, 0])

    # -- classifier: batch to feature, replication, S (§10)
    def _classify(self, settings, out):
        boxes, scores, labels, raw = self._filtered_nms(settings, out)
        survivors = len(scores)
        if survivors == 0:
            raise ValueError('no detection survived: the original crashes here (K = 0)')
        order = replicated_order(survivors, settings.detections_per_img, settings.replication_seed)
        rows = torch.cat([scores[order].view(-1, 1), raw[order]], dim=1)
        out.update(survivors=survivors, keep_index=order, ranked_rows=rows,
                   ranked_boxes=boxes[order], ranked_labels=labels[order],
                   ranked_final_boxes=self._rescale(boxes[order], out),
                   logits=self.s2new(rows))


def level_scales(fpn, image_size):
    """Each level's RoIAlign scale, 2**round(log2(feature height / unpadded image height))."""
    return [2.0 ** float(torch.tensor(f.shape[-2] / image_size[0]).log2().round()) for f in fpn]


def roi_levels(boxes, scales):
    """torchvision 0.4's LevelMapper (canonical size 224 at level 4, the eps inside the log2):
    floor(4 + log2(sqrt(area)/224 + 1e-6)) clamped to the levels present; [K] int64 from 0."""
    k_min, k_max = -math.log2(scales[0]), -math.log2(scales[-1])
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    level = torch.floor(4 + torch.log2(torch.sqrt(area) / 224 + 1e-6))
    return (torch.clamp(level, min=k_min, max=k_max) - k_min).to(torch.int64)


def pool_at_levels(fpn, boxes, scales, output_size, levels=None):
    """RoIAlign (aligned=False, sampling ratio 2) of [K,4] boxes on fpn[levels[k]] with that
    level's scale; `levels` [K] int64, or None for a single level."""
    rois = torch.cat([boxes.new_zeros((len(boxes), 1)), boxes], dim=1)
    if levels is None:
        return roi_align(fpn[0][None], rois, (output_size, output_size),
                         spatial_scale=scales[0], sampling_ratio=2, aligned=False)
    pooled = boxes.new_zeros((len(boxes), fpn[0].shape[0], output_size, output_size))
    for i, (f, s) in enumerate(zip(fpn, scales)):
        members = torch.where(levels == i)[0]
        pooled[members] = roi_align(f[None], rois[members], (output_size, output_size),
                                    spatial_scale=s, sampling_ratio=2, aligned=False)
    return pooled


def replicated_order(survivors, batch, seed):
    """Indices 0..K-1 into the NMS-ordered survivors, expanded to `batch` rows when K < batch
    (§10.3): boundaries unique([0, sort(randperm(D-2)[:K-1]) + 1, D]), survivor i repeated over
    [b_i, b_i+1). `seed` seeds the global torch RNG right before the draw."""
    if survivors >= batch:
        return torch.arange(batch)
    if seed is not None:
        torch.manual_seed(seed)
    cuts = torch.sort(torch.randperm(batch - 2)[:survivors - 1])[0] + 1
    bounds = torch.unique(torch.cat([torch.tensor([0]), cuts, torch.tensor([batch])]))
    order = torch.empty(batch, dtype=torch.int64)
    for i in range(survivors):
        order[bounds[i]:bounds[i + 1]] = i
    return order

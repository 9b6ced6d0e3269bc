"""Trains the demo models of issue 9 on synthetic phantoms (phantoms.py), following the authors'
recipe (AlexTS1980/COVID-CT-Mask-Net train_segmentation.py / train_classifier.py, re-implemented
here for torch 1.13 on the CPU), and saves both in the authors' checkpoint format.

1. Segmentation: the lightweight Mask R-CNN, ResNet18 truncated after layer3 ('1'), one FPN level,
   no pool level, the 30 anchors of spec §5, TwoMLPHead(12544, 128), the one-conv mask head of §8,
   BatchNorm2d, merged lesion masks (n_c = 2). The training graph is torchvision's MaskRCNN
   machinery with our modules plugged in (ctref/model.py's, so the state_dict has the authors'
   keys) and the authors' settings: images 512 (min 512 / max 1024), batch 1; RPN: IoU 0.7/0.3,
   256 anchors per image at 75 % positives, 2000/2000 proposals before/after NMS 0.75, no minimum
   box size, objectness BCE + box **L1** (their rpn_segmentation.py; torchvision uses smooth L1
   with beta 1/9); RoI heads: the ground-truth boxes added to the proposals, IoU >= 0.75
   foreground / < 0.5 background, 256 RoIs per image at 75 % positives, CE + smooth L1 with
   **beta 1** (torch 1.1's smooth_l1_loss) divided by the sampled count, box coder (10,10,5,5);
   mask BCE on the 28x28 RoIAligned targets of the positive RoIs. Adam, weight decay 1e-3 over
   all parameters.
2. Classifier (COVID-CT-Mask-Net): the segmentation weights copied into the classifier model
   (mask branch dropped), model in eval mode (BatchNorm running statistics frozen), test-time
   RPN (1000/1000, NMS 0.75), box score threshold -0.01, NMS 0.75, D = 128 ranked
   [score, dx, dy, dw, dh] rows (the random replication when fewer survive), S = 512; trained:
   S (`s2new.*`) and the `bn*` affine parameters (names containing 'bn', so not `downsample.1`),
   loss BCE-with-logits against one-hot classes, Adam weight decay 1e-3.

Deviations from the authors, all for the 1-hour CPU budget and the lack of pretrained weights:
 * no ImageNet or COCO initialisation (nothing can be downloaded): He-normal convs, zero-init
   last BN of each residual block, RPN/box/mask head inits as torchvision's;
 * learning rate: Adam 1e-5 (theirs, 50-100 GPU epochs) would not move a from-scratch model in an
   hour; we use 3e-4 with a 100-iteration warm-up and a x0.1 step for the last 15 %;
 * lesion-free slices (the Control third of the phantoms) are kept as negative images; the
   authors' loop skipped images without lesions (`--skip-empty` restores that);
 * classifier stage A first fits S alone on rows cached with the frozen segmentation weights
   (seconds, many epochs), then stage B fine-tunes S + bn* exactly as the authors did, for the
   time left. Their batch of 8 images per step is kept in stage B.

Speed (phase-1 trial, torch 1.13 with Debian's reference BLAS, so every nn.Linear and stride-1
1x1 conv runs as a oneDNN convolution, see ConvLinear/PixelBatchConv): one segmentation iteration
costs 1.7-1.8 s of CPU on one thread (was 2.9 s before that swap); a classifier image costs 0.8 s
forward only (stage A rows) and 3.1 s forward+backward (stage B); a phantom costs ~0.55 s to make.
On the shared machine (load ~5) one thread at nice 19 ran 3.4 s/iteration wall, and two threads
were far worse (12.7 s/iteration: OpenMP threads spinning against other work), so use --threads 2
only on an otherwise idle machine: probe first with `--seg-iterations 20`.

Plan for the full run (phase 2, one hour on 2 cores), the defaults below:
   900 training phantoms, 2 processes                      ~ 4-5 min
   segmentation: up to 2400 iterations, stopped at 80 % of --time-limit 52 (41.6 min), the
     x0.1 step at 85 % of that: ~1400 iterations at 1.8 s (1 thread), ~2 epochs; more with 2
     idle threads                                          ~ 42 min
   classifier: stage A rows of 300 phantoms (~4.5 min), 200 epochs of S (seconds); stage B up
     to 10 steps of 8 images (~4 min), cut at the remaining 20 % of the time limit  ~ 9 min
   then ctconvert both and evaluate.py on 100 held-out phantoms (~3 min).
If the acceptance numbers fall short: raise --seg-lr (the trial's loss fell steadily at 3e-4),
train longer, or raise the model file's score threshold (ctconvert --score-thresh) for precision.

    nice -n 19 /usr/bin/python3 tools/demo/train.py --work /tmp/demo_train --threads 1 --time-limit 60

Writes WORK/phantoms_train (generated if absent), WORK/demo_seg_r18_t1.pth and
WORK/demo_cls_r18_t1.pth (authors' format, legacy stream) and WORK/train_log.json.
"""
import argparse
import collections
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection import roi_heads as tv_roi_heads
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNPredictor
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import MultiScaleRoIAlign, batched_nms, clip_boxes_to_image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, 'tools', 'reference'))
sys.path.insert(0, HERE)
import phantoms  # noqa: E402
from ctref.checkpoint import save_authors_checkpoint  # noqa: E402
from ctref.model import (ANCHOR_SIZES, ASPECT_RATIOS, ROI_BOX_WEIGHTS, Arch,  # noqa: E402
                         ReferenceModel, RPNHead, classifier_settings, decode_boxes, mask_head,
                         replicated_order)

SEG_ARCH = Arch(task='segmentation', depth=18, truncation='1', num_classes=2)
CLS_ARCH = Arch(task='classification', depth=18, truncation='1', num_classes=2,
                roi_batch_size=128, s_features=512)
TRAIN_SEED, TEST_SEED = 1, 2          # phantom sets: training / held out (evaluate.py)


# ---------------------------------------------------------------- data

def load_set(directory, count, seed, jobs=1):
    """The labels records of the phantom set in `directory` (generated if missing)."""
    labels_path = os.path.join(directory, 'labels.json')
    if not os.path.exists(labels_path):
        print('generating %d phantoms (seed %d) in %s' % (count, seed, directory), flush=True)
        phantoms.write_set(directory, count, seed, jobs=jobs)
    with open(labels_path) as f:
        labels = json.load(f)
    return labels['phantoms'][:count]


def read_sample(directory, record):
    """The authors' dataset item: ToTensor image (gray -> 3 channels) and the instance targets
    (boxes [K,4] float x1,y1,x2,y2 with exclusive max, labels 1, masks uint8 [K,H,W])."""
    gray = np.array(Image.open(os.path.join(directory, record['file'])))       # [H,W] uint8
    image = torch.from_numpy(gray).float().div(255)[None].expand(3, -1, -1).contiguous()
    masks = np.load(os.path.join(directory, record['masks']))['masks']          # [K,H,W]
    boxes = [l['box'] for l in record['lesions']]
    target = {'boxes': torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
              'labels': torch.ones(len(boxes), dtype=torch.int64),
              'masks': torch.from_numpy(masks.astype(np.uint8))}
    return image, target


# ---------------------------------------------------------------- segmentation graph

class TruncatedBackbone(nn.Module):
    """ctref's ResNet body + one-level FPN (the authors' keys), returning torchvision's dict."""

    def __init__(self, arch):
        super().__init__()
        reference = ReferenceModel(arch).backbone
        self.body, self.fpn = reference.body, reference.fpn
        self.out_channels = arch.fpn_channels

    def forward(self, x):
        return collections.OrderedDict([('0', self.fpn(self.body(x))[0])])


class ListRPNHead(RPNHead):
    """ctref's RPN head (keys rpn.head.conv/cls_logits/bbox_pred) with torchvision's calling
    convention: lists of per-level [N,A,H,W] logits and [N,4A,H,W] deltas."""

    def forward(self, features):
        logits, deltas = [], []
        for feature in features:
            t = F.relu(self.conv(feature))
            logits.append(self.cls_logits(t))
            deltas.append(self.bbox_pred(t))
        return logits, deltas


class AuthorsRPN(RegionProposalNetwork):
    """torchvision's RPN with the authors' loss: objectness BCE + L1 box loss over the sampled
    anchors (rpn_segmentation.py), not smooth L1."""

    def compute_loss(self, objectness, pred_bbox_deltas, labels, regression_targets):
        pos, neg = self.fg_bg_sampler(labels)
        pos = torch.where(torch.cat(pos, dim=0))[0]
        neg = torch.where(torch.cat(neg, dim=0))[0]
        sampled = torch.cat([pos, neg], dim=0)
        objectness = objectness.flatten()
        labels = torch.cat(labels, dim=0)
        regression_targets = torch.cat(regression_targets, dim=0)
        box_loss = F.l1_loss(pred_bbox_deltas[pos], regression_targets[pos],
                             reduction='sum') / sampled.numel()
        objectness_loss = F.binary_cross_entropy_with_logits(objectness[sampled], labels[sampled])
        return objectness_loss, box_loss


def authors_fastrcnn_loss(class_logits, box_regression, labels, regression_targets):
    """roi_heads_segmentation.py's loss: CE + smooth L1 (beta 1, torch 1.1) / sampled count."""
    labels = torch.cat(labels, dim=0)
    regression_targets = torch.cat(regression_targets, dim=0)
    classification_loss = F.cross_entropy(class_logits, labels)
    positive = torch.where(labels > 0)[0]
    n = class_logits.shape[0]
    box_regression = box_regression.reshape(n, box_regression.size(-1) // 4, 4)
    box_loss = F.smooth_l1_loss(box_regression[positive, labels[positive]],
                                regression_targets[positive], beta=1.0, reduction='sum')
    return classification_loss, box_loss / labels.numel()


class ConvLinear(nn.Linear):
    """nn.Linear computed as a 1x1 convolution over [N,C,1,1]: Debian's torch links only the
    reference BLAS (~1 GFLOP/s), its oneDNN convolutions are ~5x faster. Same parameters."""

    def forward(self, x):                                            # x: [N, in]
        return F.conv2d(x[:, :, None, None], self.weight[:, :, None, None], self.bias)[:, :, 0, 0]


class PixelBatchConv(nn.Conv2d):
    """A stride-1 1x1 nn.Conv2d run with the pixels as the batch, which takes oneDNN's path
    instead of im2col + reference BLAS. Same parameters."""

    def forward(self, x):                                            # x: [N,C,H,W]
        n, c, h, w = x.shape
        y = F.conv2d(x.permute(0, 2, 3, 1).reshape(n * h * w, c, 1, 1), self.weight, self.bias)
        return y.view(n, h, w, self.out_channels).permute(0, 3, 1, 2)


def accelerate(model):
    """Swaps every nn.Linear and stride-1 1x1 nn.Conv2d for the faster twins above."""
    for module in model.modules():
        if type(module) is nn.Linear:
            module.__class__ = ConvLinear
        elif (type(module) is nn.Conv2d and module.kernel_size == (1, 1)
              and module.stride == (1, 1) and module.groups == 1 and module.padding == (0, 0)):
            module.__class__ = PixelBatchConv
    return model


def build_segmentation_model(arch=SEG_ARCH):
    """torchvision's MaskRCNN configured as train_segmentation.py's lightweight R18-T1 model."""
    tv_roi_heads.fastrcnn_loss = authors_fastrcnn_loss
    anchors = AnchorGenerator((ANCHOR_SIZES,), (ASPECT_RATIOS,))
    num_anchors = len(ANCHOR_SIZES) * len(ASPECT_RATIOS)
    model = MaskRCNN(
        TruncatedBackbone(arch), num_classes=None, min_size=512, max_size=1024,
        rpn_anchor_generator=anchors, rpn_head=ListRPNHead(arch.fpn_channels, num_anchors),
        rpn_pre_nms_top_n_train=2000, rpn_post_nms_top_n_train=2000, rpn_nms_thresh=0.75,
        rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3, rpn_batch_size_per_image=256,
        rpn_positive_fraction=0.75,
        box_roi_pool=MultiScaleRoIAlign(['0'], 7, 2),
        box_head=TwoMLPHead(arch.fpn_channels * 7 * 7, arch.representation_size),
        box_predictor=FastRCNNPredictor(arch.representation_size, arch.num_classes),
        box_fg_iou_thresh=0.75, box_bg_iou_thresh=0.5, box_batch_size_per_image=256,
        box_positive_fraction=0.75,
        mask_roi_pool=MultiScaleRoIAlign(['0'], 14, 2),
        mask_head=mask_head(arch.fpn_channels, (arch.mask_head_channels,)),
        mask_predictor=MaskRCNNPredictor(arch.mask_head_channels, arch.mask_head_channels,
                                         arch.num_classes))
    model.rpn.__class__ = AuthorsRPN
    model.rpn.min_size = 0.0          # the authors' remove_small_boxes(min_size=0)
    initialise(model)
    return accelerate(model)


def initialise(model):
    """An ImageNet-free start: He-normal convs, BN 1/0 with the last BN of each residual block 0,
    RPN head N(0, 0.01), mask convs He (fan_out); linears keep PyTorch's default."""
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            if name.startswith('rpn.head'):
                nn.init.normal_(module.weight, std=0.01)
            else:
                nn.init.kaiming_normal_(module.weight, mode='fan_out', nonlinearity='relu')
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
    for name, module in model.backbone.body.named_modules():
        if name.endswith('bn2') and '.' in name:
            nn.init.zeros_(module.weight)


def reference_state(model, arch):
    """The trained weights as a ReferenceModel state_dict (the authors' keys and order), checked
    by a strict load."""
    reference = ReferenceModel(arch)
    reference.load_state_dict(model.state_dict(), strict=True)
    return reference.state_dict()


def learning_rate(step, progress, peak):
    """Linear warm-up over 100 steps, then `peak`, then peak/10 for the last 15 % of the run
    (`progress` in [0,1]: the larger of the iteration and the time fractions)."""
    if step < 100:
        return peak * (step + 1) / 100
    return peak if progress < 0.85 else peak / 10


def log_progress(log, step, elapsed, recent):
    """Appends (and prints) the mean losses of the recent iterations and the speed so far."""
    mean = {k: float(np.mean([l[k] for l in recent])) for k in recent[-1]}
    entry = dict(stage='seg', step=step + 1, seconds=round(elapsed, 1),
                 s_per_iteration=round(elapsed / (step + 1), 3), loss=round(sum(mean.values()), 4),
                 **{k: round(v, 4) for k, v in mean.items()})
    log.append(entry)
    print(json.dumps(entry), flush=True)


def train_segmentation(args, data_dir, records, log):
    model = build_segmentation_model()
    if args.seg_init:   # go on from an earlier run's weights (same keys: see reference_state)
        model.load_state_dict(torch.load(args.seg_init), strict=True)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.seg_lr, weight_decay=1e-3)
    if args.skip_empty:
        records = [r for r in records if r['lesions']]
    rng = np.random.default_rng(args.seed)
    budget = args.time_limit * 60 * args.seg_share if args.time_limit else float('inf')
    order, losses, started = [], [], time.time()
    for step in range(args.seg_iterations):
        elapsed = time.time() - started
        if elapsed > budget:
            print('seg: time limit after %d iterations' % step, flush=True)
            break
        if not order:
            order = list(rng.permutation(len(records)))
        image, target = read_sample(data_dir, records[order.pop()])
        progress = max(step / args.seg_iterations, elapsed / budget)
        for group in optimizer.param_groups:
            group['lr'] = learning_rate(step, progress, args.seg_lr)
        loss = model([image], [target])
        total = sum(loss.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        losses.append({k: float(v) for k, v in loss.items()})
        if (step + 1) % args.log_every == 0 or step + 1 == args.seg_iterations:
            log_progress(log, step, time.time() - started, losses[-args.log_every:])
    model.eval()
    return reference_state(model, SEG_ARCH)


# ---------------------------------------------------------------- classifier graph

def classifier_from_segmentation(seg_state):
    """train_classifier.py's start: every classifier parameter present in the segmentation
    checkpoint is copied; S is new (PyTorch's default init)."""
    model = ReferenceModel(CLS_ARCH)
    own = model.state_dict()
    with torch.no_grad():
        for name, value in own.items():
            if name in seg_state:
                value.copy_(seg_state[name])
    return model


def classifier_rows(model, image, settings):
    """The classifier's forward up to S, differentiable in the backbone/box branch: the ranked
    [D,5] rows [softmax score, raw deltas] of spec §10.2, with the random replication (§10.3)."""
    out = {'original_size': tuple(image.shape[-2:])}
    model._transform(image, settings, out)
    model._features(out)
    detached = dict(out, rpn_objectness=out['rpn_objectness'].detach(),
                    rpn_deltas=out['rpn_deltas'].detach())
    with torch.no_grad():
        model._proposals(settings, detached)
    out['proposals'] = detached['proposals']
    model._box_branch(out)
    logits, regression = out['box_class_logits'], out['box_regression']
    n, n_c = logits.shape
    with torch.no_grad():
        boxes = clip_boxes_to_image(decode_boxes(regression, out['proposals'], ROI_BOX_WEIGHTS),
                                    out['image_size'])[:, 1:].reshape(-1, 4)
    scores = F.softmax(logits, -1)[:, 1:].reshape(-1)
    raw = regression.view(n, n_c, 4)[:, 1:].reshape(-1, 4)
    labels = torch.arange(1, n_c).repeat(n)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = torch.where((area > 0) & (scores.detach() > settings.box_score_thresh))[0]
    keep = keep[batched_nms(boxes[keep], scores.detach()[keep], labels[keep],
                            settings.box_nms_thresh)][:settings.detections_per_img]
    order = keep[replicated_order(len(keep), settings.detections_per_img, None)]
    return torch.cat([scores[order].view(-1, 1), raw[order]], dim=1)


def trainable_classifier_parameters(model):
    """switch_model_on: S and every parameter whose name contains 'bn' (affine only)."""
    return [p for n, p in model.named_parameters() if n.startswith('s2new.') or 'bn' in n]


def one_hot(class_index):
    target = torch.zeros(3)
    target[class_index] = 1
    return target


def train_classifier(args, data_dir, records, seg_state, log):
    settings = classifier_settings(CLS_ARCH)
    model = accelerate(classifier_from_segmentation(seg_state)).eval()
    records = records[:args.cls_count]
    started = time.time()
    # stage A: S alone on rows cached with the frozen segmentation weights
    cached = []
    with torch.no_grad():
        for record in records:
            image, _ = read_sample(data_dir, record)
            cached.append((classifier_rows(model, image, settings), record['class_index']))
    log.append(dict(stage='cls-rows', images=len(cached),
                    s_per_image=round((time.time() - started) / max(len(cached), 1), 3)))
    print(json.dumps(log[-1]), flush=True)
    s_optimizer = torch.optim.Adam(model.s2new.parameters(), lr=args.cls_lr, weight_decay=1e-3)
    rng = np.random.default_rng(args.seed + 1)
    for epoch in range(args.cls_epochs_a):
        perm = rng.permutation(len(cached))
        total, correct = 0.0, 0
        for start in range(0, len(perm), 8):
            batch = [cached[i] for i in perm[start:start + 8]]
            logits = torch.stack([model.s2new(rows) for rows, _ in batch])
            targets = torch.stack([one_hot(c) for _, c in batch])
            loss = F.binary_cross_entropy_with_logits(logits, targets)
            s_optimizer.zero_grad()
            loss.backward()
            s_optimizer.step()
            total += float(loss) * len(batch)
            correct += int((logits.argmax(1) == targets.argmax(1)).sum())
        if (epoch + 1) % 20 == 0 or epoch + 1 == args.cls_epochs_a:
            log.append(dict(stage='cls-A', epoch=epoch + 1, loss=round(total / len(cached), 4),
                            train_accuracy=round(correct / len(cached), 4)))
            print(json.dumps(log[-1]), flush=True)
    # stage B: S + bn* affine end to end, the authors' recipe (batch of 8 images)
    optimizer = torch.optim.Adam(trainable_classifier_parameters(model), lr=args.cls_lr_b,
                                 weight_decay=1e-3)
    stage_b = time.time()
    for step in range(args.cls_steps):
        batch = [records[i] for i in rng.choice(len(records), min(8, len(records)), replace=False)]
        logits, targets = [], []
        for record in batch:
            image, _ = read_sample(data_dir, record)
            logits.append(model.s2new(classifier_rows(model, image, settings)))
            targets.append(one_hot(record['class_index']))
        loss = F.binary_cross_entropy_with_logits(torch.stack(logits), torch.stack(targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        elapsed = time.time() - stage_b
        log.append(dict(stage='cls-B', step=step + 1, loss=round(float(loss), 4),
                        s_per_step=round(elapsed / (step + 1), 3)))
        print(json.dumps(log[-1]), flush=True)
        if args.time_limit and time.time() - started > args.time_limit * 60 * (1 - args.seg_share):
            print('cls: time limit after %d steps' % (step + 1), flush=True)
            break
    model.eval()
    return model.state_dict()


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default='/tmp/demo_train', help='output directory')
    parser.add_argument('--threads', type=int, default=1, help='torch threads')
    parser.add_argument('--jobs', type=int, default=2, help='processes making the phantoms')
    parser.add_argument('--seed', type=int, default=0, help='training order / init seed')
    parser.add_argument('--train-count', type=int, default=900, help='training phantoms')
    parser.add_argument('--seg-iterations', type=int, default=2400)
    parser.add_argument('--seg-lr', type=float, default=3e-4)
    parser.add_argument('--skip-empty', action='store_true',
                        help='skip lesion-free images, as the authors did')
    parser.add_argument('--cls-count', type=int, default=300, help='phantoms for stage A rows')
    parser.add_argument('--cls-epochs-a', type=int, default=200)
    parser.add_argument('--cls-lr', type=float, default=1e-3)
    parser.add_argument('--cls-steps', type=int, default=10, help='stage B steps (8 images)')
    parser.add_argument('--cls-lr-b', type=float, default=1e-4)
    parser.add_argument('--time-limit', type=float, default=52,
                        help='minutes for both stages (0: none); split by --seg-share')
    parser.add_argument('--seg-share', type=float, default=0.8)
    parser.add_argument('--log-every', type=int, default=25)
    parser.add_argument('--seg-checkpoint', help='skip stage 1: start from this state_dict (.pt)')
    parser.add_argument('--seg-init', help='stage 1 starts from this state_dict (.pt) instead of '
                        'a fresh initialisation: a longer training in several runs')
    parser.add_argument('--phantoms', help='training phantoms directory (default WORK/phantoms_train)')
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    data_dir = args.phantoms or os.path.join(args.work, 'phantoms_train')
    records = load_set(data_dir, args.train_count, TRAIN_SEED, args.jobs)
    log = [dict(stage='setup', threads=args.threads, torch=torch.__version__,
                torchvision=torchvision.__version__, args=vars(args))]
    if args.seg_checkpoint:
        seg_state = torch.load(args.seg_checkpoint)
    else:
        seg_state = train_segmentation(args, data_dir, records, log)
        torch.save(seg_state, os.path.join(args.work, 'seg_state.pt'))
    epochs = str(math.ceil(args.seg_iterations / len(records)))
    save_authors_checkpoint(os.path.join(args.work, 'demo_seg_r18_t1.pth'), seg_state,
                            'segmentation', epoch=epochs)
    cls_state = train_classifier(args, data_dir, records, seg_state, log)
    save_authors_checkpoint(os.path.join(args.work, 'demo_cls_r18_t1.pth'), cls_state,
                            'classification')
    with open(os.path.join(args.work, 'train_log.json'), 'w') as f:
        json.dump(log, f, indent=1)
    print('checkpoints in', args.work)


if __name__ == '__main__':
    main()

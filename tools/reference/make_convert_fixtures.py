#!/usr/bin/python3
"""Makes the converter's test fixtures (tests/fixtures/convert/): small complete models of reduced
width saved as the authors' scripts (or plain torch.save) would, plus, for each, an `.expect` file
with the config the converter must infer and every tensor's float32 bytes. Run from the repository
root with Debian's torch 1.13:

    /usr/bin/python3 tools/reference/make_convert_fixtures.py           # the committed fixtures
    /usr/bin/python3 tools/reference/make_convert_fixtures.py --full    # full-size check, in /tmp

`--full` (never part of `make test`) saves full-width R18/R34 x truncation 0/1/2 x segmentation/
classifier models in both formats, converts each with ./ctconvert, verifies the result with
`ctconvert --verify`, checks the parameter counts against spec §13, and times the conversion of
the 25 MB (R18 T1 segmentation, legacy, CUDA-tagged) one, and the same with its Adam state
(74 MB), with /usr/bin/time -v.

.expect layout: text lines "key value..." up to and including "tensors N", then N records of
  u16 name length, name, u8 rank, u32 dims[rank], float32 data[prod(dims)]   (all little-endian)
in state_dict order (FPN keys in torchvision <= 0.12 naming).
"""
import argparse
import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctref.checkpoint import AUTHORS_RATIOS, AUTHORS_SIZES, save_authors_checkpoint  # noqa: E402

FIXTURE_DIR = 'tests/fixtures/convert'
BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}


# ---- the authors' module tree (names and registration order are what matter) --------------

class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))
        self.out_channels = planes


class Bottleneck(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or cin != 4 * planes:
            self.downsample = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(4 * planes))
        self.out_channels = 4 * planes


class Body(nn.Module):
    """ResNet kept up to layer `num_layers` (IntermediateLayerGetter drops the rest)."""

    def __init__(self, depth, num_layers, stem):
        super().__init__()
        block = Bottleneck if depth == 50 else BasicBlock
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin, self.out_channels = stem, []
        for layer in range(num_layers):
            blocks = []
            for b in range(BLOCKS[depth][layer]):
                blocks.append(block(cin, stem << layer, 2 if (b == 0 and layer > 0) else 1))
                cin = blocks[-1].out_channels
            setattr(self, 'layer%d' % (layer + 1), nn.Sequential(*blocks))
            self.out_channels.append(cin)


class FPN(nn.Module):
    def __init__(self, in_channels, width, new_naming):
        super().__init__()
        wrap = (lambda m: nn.Sequential(m)) if new_naming else (lambda m: m)
        self.inner_blocks = nn.ModuleList([wrap(nn.Conv2d(c, width, 1)) for c in in_channels])
        self.layer_blocks = nn.ModuleList([wrap(nn.Conv2d(width, width, 3, padding=1))
                                           for _ in in_channels])
        if new_naming:
            self._version = 2   # torchvision >= 0.13


class Backbone(nn.Module):
    def __init__(self, depth, truncation, stem, fpn, new_naming):
        super().__init__()
        layers = 4 if depth == 50 else 4 - truncation
        self.body = Body(depth, layers, stem)
        inputs = self.body.out_channels if depth == 50 else self.body.out_channels[-1:]
        self.fpn = FPN(inputs, fpn, new_naming)


class RPN(nn.Module):
    def __init__(self, width, anchors):
        super().__init__()
        self.head = nn.Module()
        self.head.conv = nn.Conv2d(width, width, 3, padding=1)
        self.head.cls_logits = nn.Conv2d(width, anchors, 1)
        self.head.bbox_pred = nn.Conv2d(width, 4 * anchors, 1)


class RoIHeads(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.box_head = nn.Module()
        self.box_head.fc6 = nn.Linear(a.fpn * 49, a.rep)
        self.box_head.fc7 = nn.Linear(a.rep, a.rep)
        self.box_predictor = nn.Module()
        self.box_predictor.cls_score = nn.Linear(a.rep, a.nc)
        self.box_predictor.bbox_pred = nn.Linear(a.rep, 4 * a.nc)
        if a.task != 'segmentation':
            return
        convs, cin = collections.OrderedDict(), a.fpn
        for i in range(4 if a.depth == 50 else 1):
            convs['mask_fcn%d' % (i + 1)] = nn.Conv2d(cin, a.mask, 3, padding=1)
            convs['relu%d' % (i + 1)] = nn.ReLU(inplace=True)
            cin = a.mask
        self.mask_head = nn.Sequential(convs)
        self.mask_predictor = nn.Sequential(collections.OrderedDict([
            ('conv5_mask', nn.ConvTranspose2d(a.mask, a.mask, 2, 2)), ('relu', nn.ReLU(inplace=True)),
            ('mask_fcn_logits', nn.Conv2d(a.mask, a.nc, 1))]))


class Model(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.backbone = Backbone(a.depth, a.truncation, a.stem, a.fpn, a.new_naming)
        self.rpn = RPN(a.fpn, len(a.sizes) * len(a.ratios))
        self.roi_heads = RoIHeads(a)
        if a.task == 'classification':
            self.s2new = nn.Module()
            self.s2new.fc_scores = nn.Linear(5 * a.rois, a.s)
            self.s2new.fc_scores_2 = nn.Linear(a.s, a.s)
            self.s2new.fc_scores_img = nn.Linear(a.s, 3)


class Arch:
    def __init__(self, task, depth, truncation, nc=2, stem=64, fpn=256, rep=128, mask=None,
                 rois=128, s=512, sizes=AUTHORS_SIZES[0], ratios=AUTHORS_RATIOS[0], new_naming=False):
        self.task, self.depth, self.truncation, self.nc = task, depth, truncation, nc
        self.stem, self.fpn, self.rep = stem, fpn, rep
        self.mask = mask if mask is not None else (256 if depth == 50 else 128)
        self.rois, self.s, self.sizes, self.ratios = rois, s, sizes, ratios
        self.new_naming = new_naming


def random_state_dict(arch, seed):
    """The model's state_dict with every tensor random (running_var positive)."""
    torch.manual_seed(seed)
    model = Model(arch).eval()
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if name.endswith('num_batches_tracked'):
                t.fill_(seed)
            elif name.endswith('running_var'):
                t.uniform_(0.5, 1.5)
            else:
                t.normal_(0, 0.1)
    return model.state_dict()


def parameter_count(state_dict):
    return sum(t.numel() for k, t in state_dict.items()
               if not re.search(r'\.(running_mean|running_var|num_batches_tracked)$', k))


# ---- fixture variants ----------------------------------------------------------------------

def small(task, depth, truncation, **kw):
    widths = dict(stem=4, fpn=8, rep=8, mask=8, rois=4, s=16)
    widths.update(kw)
    return Arch(task, depth, truncation, **widths)


def make_views(sd):
    """Replaces a few tensors by views: transposed, permuted, offset into shared storages."""
    sd = collections.OrderedDict(sd)
    w = sd['roi_heads.box_head.fc7.weight']
    big = torch.zeros(w.shape[1] + 3, w.shape[0])
    big[3:] = w.t()
    sd['roi_heads.box_head.fc7.weight'] = big[3:].t()                    # offset 3*rows, stride (1, n)
    c = sd['backbone.body.conv1.weight']
    sd['backbone.body.conv1.weight'] = c.permute(2, 3, 1, 0).contiguous().permute(3, 2, 0, 1)
    stats = torch.zeros(256)
    mean, var = 'backbone.body.bn1.running_mean', 'backbone.body.bn1.running_var'
    n = sd[mean].numel()
    stats[5:5 + n] = sd[mean]
    stats[100:100 + n] = sd[var]
    sd[mean], sd[var] = stats[5:5 + n], stats[100:100 + n]                # one storage, two offsets
    return sd


def mixed_dtypes(sd):
    sd = collections.OrderedDict(sd)
    sd['roi_heads.box_head.fc6.bias'] = sd['roi_heads.box_head.fc6.bias'].double() * 1.0000001
    sd['rpn.head.conv.weight'] = sd['rpn.head.conv.weight'].half()
    return sd


def save_plain(path, obj, legacy):
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)


FIXTURES = [
    # name, arch, how to save, what to the state_dict
    ('seg_r18_t1_legacy_cuda', small('segmentation', 18, 1),
     dict(authors=True, legacy=True, cuda_tagged=True, with_optimizer=True)),
    ('cls_r18_t1_zip', small('classification', 18, 1),
     dict(authors=True, legacy=False, with_optimizer=True, model_name='covid_ct_mask_net')),
    ('seg_r34_t2_bare', small('segmentation', 34, 2, nc=3), dict(plain='bare', legacy=False)),
    ('seg_r18_t0_tv013', small('segmentation', 18, 0, stem=2, new_naming=True),
     dict(authors=True, legacy=True, model_name='lw_t0')),
    ('cls_r34_t0_views', small('classification', 34, 0, stem=1),
     dict(authors=True, legacy=True, cuda_tagged=True, transform=make_views)),
    ('seg_r18_t2_mixed', small('segmentation', 18, 2, sizes=(4, 8, 16), ratios=(0.5, 1, 2.0)),
     dict(authors=True, legacy=False, transform=mixed_dtypes)),
    ('seg_r50_state_dict_legacy', small('segmentation', 50, None, stem=1, fpn=4, rep=4, mask=4),
     dict(plain='state_dict', legacy=True)),
    ('cls_r18_t2_model_zip', small('classification', 18, 2, nc=3, rois=3, s=8),
     dict(plain='model', legacy=False)),
]


def save_fixture(path, arch, how, sd):
    if how.get('authors'):
        levels = 4 if arch.depth == 50 else 5
        save_authors_checkpoint(path, sd, arch.task, legacy=how['legacy'],
                                cuda_tagged=how.get('cuda_tagged', False),
                                with_optimizer=how.get('with_optimizer', False),
                                anchor_sizes=(tuple(arch.sizes),) * levels,
                                aspect_ratios=(tuple(arch.ratios),) * levels,
                                model_name=how.get('model_name'), cache_image_size=64)
    elif how['plain'] == 'bare':
        save_plain(path, sd, how['legacy'])
    else:
        save_plain(path, {'epoch': 3, how['plain']: sd}, how['legacy'])


def f32(v):
    return struct.unpack('<f', struct.pack('<f', v))[0]


def write_expect(path, arch, sd, anchors_from_checkpoint):
    tensors = [(re.sub(r'^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.0\.', r'\1.', k), t)
               for k, t in sd.items() if not k.endswith('num_batches_tracked')]
    cls = arch.task == 'classification'
    lines = ['ctinfer-convert-expect 1',
             'task %s' % arch.task,
             'backbone_depth %d' % arch.depth,
             'truncation %d' % (-1 if arch.depth == 50 else arch.truncation),
             'num_classes %d' % arch.nc,
             'stem_width %d' % arch.stem,
             'fpn_channels %d' % arch.fpn,
             'representation_size %d' % arch.rep,
             'mask_head_channels %d' % (0 if cls else arch.mask),
             'roi_batch_size %d' % (arch.rois if cls else 0),
             's_features %d' % (arch.s if cls else 0),
             'anchor_sizes %s' % ' '.join('%.9g' % f32(v) for v in arch.sizes),
             'aspect_ratios %s' % ' '.join('%.9g' % f32(v) for v in arch.ratios),
             'anchors_from_checkpoint %d' % anchors_from_checkpoint,
             'parameters %d' % parameter_count(sd),
             'tensors %d' % len(tensors)]
    with open(path, 'wb') as f:
        f.write(('\n'.join(lines) + '\n').encode())
        for name, t in tensors:
            f.write(struct.pack('<H', len(name)) + name.encode())
            f.write(struct.pack('<B', t.dim()) + struct.pack('<%dI' % t.dim(), *t.shape))
            f.write(t.detach().float().contiguous().numpy().astype('<f4').tobytes())


def make_fixtures():
    os.makedirs(FIXTURE_DIR, exist_ok=True)
    total = 0
    for seed, (name, arch, how) in enumerate(FIXTURES, start=1):
        sd = random_state_dict(arch, seed)
        if 'transform' in how:
            sd = how['transform'](sd)
        pth = os.path.join(FIXTURE_DIR, name + '.pth')
        save_fixture(pth, arch, how, sd)
        torch.load(pth, map_location='cpu')   # torch itself must accept it
        expect = os.path.join(FIXTURE_DIR, name + '.expect')
        write_expect(expect, arch, sd, bool(how.get('authors')))
        size = os.path.getsize(pth) + os.path.getsize(expect)
        total += size
        print('%-28s %7d bytes (+ expect)  %d parameters' % (name, size, parameter_count(sd)))
    print('total %d bytes' % total)


# ---- full-size check -----------------------------------------------------------------------

SPEC_PARAMS = {(18, 0): (14511074, 14742499), (18, 1): (6051810, 6283235), (18, 2): (3919330, 4150755),
               (34, 0): (24619234, 24850659), (34, 1): (11439330, 11670755), (34, 2): (4584162, 4815587)}


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def full_check(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    failures = 0
    for depth in (18, 34):
        for trunc in (0, 1, 2):
            for task in ('segmentation', 'classification'):
                arch = Arch(task, depth, trunc)
                sd = random_state_dict(arch, 1)
                want = SPEC_PARAMS[(depth, trunc)][task == 'classification']
                if parameter_count(sd) != want:
                    print('PARAM MISMATCH', depth, trunc, task, parameter_count(sd), want)
                    failures += 1
                for legacy in (True, False):
                    tag = 'r%d_t%d_%s_%s' % (depth, trunc, task[:3], 'legacy' if legacy else 'zip')
                    pth, out = os.path.join(out_dir, tag + '.pth'), os.path.join(out_dir, tag + '.bin')
                    save_authors_checkpoint(pth, sd, task, legacy=legacy, cuda_tagged=legacy)
                    t0 = time.time()
                    conv = run(['./ctconvert', pth, out])
                    elapsed = time.time() - t0
                    ver = run(['./ctconvert', '--verify', out])
                    ok = conv.returncode == 0 and ver.returncode == 0 and \
                        ('%d parameters' % want) in ver.stdout
                    failures += not ok
                    print('%-22s %6.1f MB  convert %.2f s  %s' % (
                        tag, os.path.getsize(pth) / 1e6, elapsed,
                        'ok' if ok else 'FAIL ' + conv.stderr + ver.stderr + ver.stdout))
                    os.remove(out)
                    if not (depth == 18 and trunc == 1 and task == 'segmentation' and legacy):
                        os.remove(pth)
    sd = random_state_dict(Arch('segmentation', 18, 1), 1)
    with_optimizer = os.path.join(out_dir, 'r18_t1_seg_legacy_adam.pth')
    save_authors_checkpoint(with_optimizer, sd, 'segmentation', cuda_tagged=True, with_optimizer=True)
    for pth in (os.path.join(out_dir, 'r18_t1_seg_legacy.pth'), with_optimizer):
        timed = run(['/usr/bin/time', '-v', './ctconvert', pth, os.path.join(out_dir, 'timed.bin')])
        failures += timed.returncode != 0
        keep = ('Elapsed (wall clock)', 'Maximum resident set size', 'User time', 'System time')
        print('timed conversion of %s (%.1f MB):' % (pth, os.path.getsize(pth) / 1e6))
        for line in timed.stderr.splitlines():
            if any(k in line for k in keep):
                print('   ', line.strip())
    print('full-size check: %s' % ('all ok' if not failures else '%d FAILED' % failures))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--full', action='store_true', help='run the full-size check instead')
    parser.add_argument('--out', default='/tmp/ctconvert_full', help='directory for --full')
    args = parser.parse_args()
    if args.full:
        failures = full_check(args.out)
        shutil.rmtree(args.out, ignore_errors=True)
        sys.exit(1 if failures else 0)
    make_fixtures()


if __name__ == '__main__':
    main()

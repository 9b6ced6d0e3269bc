"""PyTorch side of `tools/bench --torch`: runs the reference model (ctref/model.py, the same
operators as the authors' code) on the same checkpoint and image, one forward pass per "run"
line on stdin, answering each with a line of stage times in milliseconds and the process's
peak RSS:

    total=<ms> backbone=<ms> rpn=<ms> box_head=<ms> mask_head=<ms> paste=<ms> classifier=<ms> rss_kb=<KB>

Stages are cut where ctinfer cuts them: the RPN head's convolutions count as "rpn" (ctref runs
them with the backbone), mask pasting as "paste" (ctref does it inside the mask branch).

--tuned runs PyTorch as well as it can run here, not as the authors' code did: Debian's torch
links the reference (netlib) BLAS, which nn.Linear and the CPU ConvTranspose2d use, so the
linear layers are moved to oneDNN (torch.utils.mkldnn) and the 2x2 stride-2 transposed
convolution is run as the equivalent 1x1 convolution (oneDNN) plus pixel shuffle.

Usage (tools/bench starts it; by hand for a check):
    echo run | /usr/bin/python3 tools/reference/bench_torch.py MODEL.pth IMAGE.png --threads 1 [--tuned]
"""
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
import torch.utils.mkldnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ctref.model as ctmodel  # noqa: E402
from ctref.model import Arch, ReferenceModel, Settings, classifier_settings, load_image  # noqa: E402


def infer_arch(sd):
    """The architecture from the state_dict's names and shapes (as ctconvert infers it)."""
    layers = [l for l in (1, 2, 3, 4) if f'backbone.body.layer{l}.0.conv1.weight' in sd]
    depth = 50 if 'backbone.body.layer1.0.conv3.weight' in sd else (
        34 if 'backbone.body.layer1.2.conv1.weight' in sd else 18)
    classifier = 's2new.fc_scores.weight' in sd
    arch = Arch(task='classification' if classifier else 'segmentation', depth=depth,
                truncation=str(4 - max(layers)),
                num_classes=sd['roi_heads.box_predictor.cls_score.weight'].shape[0],
                stem_width=sd['backbone.body.conv1.weight'].shape[0],
                fpn_channels=sd['backbone.fpn.inner_blocks.0.weight'].shape[0],
                representation_size=sd['roi_heads.box_head.fc6.weight'].shape[0])
    if classifier:
        arch.s_features = sd['s2new.fc_scores.weight'].shape[0]
        arch.roi_batch_size = sd['s2new.fc_scores.weight'].shape[1] // 5
    else:
        arch.mask_head_channels = sd['roi_heads.mask_head.mask_fcn1.weight'].shape[0]
    return arch


class Timer:
    """Accumulates milliseconds per name."""

    def __init__(self):
        self.times = {}

    def wrap(self, name, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            result = fn(*args, **kwargs)
            self.times[name] = self.times.get(name, 0.0) + (time.perf_counter() - t) * 1e3
            return result
        return timed

    def stages(self):
        """The stage times with the RPN head moved to "rpn" and pasting to "paste"."""
        s = dict(self.times)
        head, paste = s.pop('rpn_head', 0.0), s.get('paste', 0.0)
        s['backbone'] = s.get('backbone', 0.0) - head
        s['rpn'] = s.get('rpn', 0.0) + head
        if 'mask_head' in s:
            s['mask_head'] -= paste
        return s


def instrument(model, timer):
    for stage, method in [('backbone', '_features'), ('rpn', '_proposals'),
                          ('box_head', '_box_branch'), ('mask_head', '_masks'),
                          ('classifier', '_classify')]:
        setattr(model, method, timer.wrap(stage, getattr(model, method)))
    model.rpn.head.forward = timer.wrap('rpn_head', model.rpn.head.forward)
    ctmodel.paste_masks_in_image = timer.wrap('paste', ctmodel.paste_masks_in_image)


class DeconvAsConv(torch.nn.Module):
    """ConvTranspose2d(kernel 2, stride 2) as a 1x1 convolution to 4x the channels, then a pixel
    shuffle: out[o, 2i+u, 2j+v] = bias[o] + sum_c x[c,i,j] W[c,o,u,v]."""

    def __init__(self, deconv):
        super().__init__()
        w = deconv.weight.detach()                          # [cin, cout, 2, 2]
        cin, cout = w.shape[:2]
        self.weight = w.permute(1, 2, 3, 0).reshape(cout * 4, cin, 1, 1).contiguous()
        self.bias = deconv.bias.detach().repeat_interleave(4)

    def forward(self, x):
        return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias), 2)


def tune(model):
    """Linear layers on oneDNN, the transposed convolution as conv + pixel shuffle."""
    def to_onednn(parent, name):
        setattr(parent, name, torch.utils.mkldnn.to_mkldnn(getattr(parent, name)))
    for parent in [model.roi_heads.box_head, model.roi_heads.box_predictor,
                   getattr(model, 's2new', None)]:
        if parent is None:
            continue
        for name, child in list(parent.named_children()):
            if isinstance(child, torch.nn.Linear):
                to_onednn(parent, name)
    predictor = getattr(model.roi_heads, 'mask_predictor', None)
    if predictor is not None:
        predictor.conv5_mask = DeconvAsConv(predictor.conv5_mask)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('checkpoint')
    ap.add_argument('image')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--tuned', action='store_true')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    sd = ckpt['model_weights'] if 'model_weights' in ckpt else ckpt
    arch = infer_arch(sd)
    model = ReferenceModel(arch).eval()
    model.load_state_dict(sd, strict=False)
    if args.tuned:
        tune(model)
    settings = classifier_settings(arch) if arch.task == 'classification' else Settings()
    image = load_image(args.image)
    timer = Timer()
    instrument(model, timer)
    for line in sys.stdin:
        if line.strip() != 'run':
            continue
        timer.times = {}
        t = time.perf_counter()
        with torch.no_grad():
            model.run(image, settings)
        total = (time.perf_counter() - t) * 1e3
        stages = ' '.join(f'{k}={v:.3f}' for k, v in timer.stages().items())
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f'total={total:.3f} {stages} rss_kb={rss}', flush=True)


if __name__ == '__main__':
    main()

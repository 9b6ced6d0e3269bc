"""PyTorch side of `tools/bench --torch`: runs the reference model (ctref/model.py, the same
operators as the authors' code) on the same checkpoint and image, one forward pass per "run"
line on stdin, answering each with a line of stage times in milliseconds:

    total=<ms> backbone=<ms> rpn=<ms> box_head=<ms> mask_head=<ms> paste=<ms> classifier=<ms>

Usage (tools/bench starts it; by hand for a check):
    echo run | /usr/bin/python3 tools/reference/bench_torch.py MODEL.pth IMAGE.png --threads 1
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


class StageClock:
    """Wraps the reference model's stage methods to time them."""

    def __init__(self, model):
        self.times = {}
        for stage, method in [('backbone', '_features'), ('rpn', '_proposals'),
                              ('box_head', '_box_branch'), ('mask_head', '_masks'),
                              ('classifier', '_classify')]:
            self._wrap(model, stage, method)

    def _wrap(self, model, stage, method):
        original = getattr(model, method)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            result = original(*args, **kwargs)
            self.times[stage] = self.times.get(stage, 0.0) + (time.perf_counter() - t) * 1e3
            return result
        setattr(model, method, timed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('checkpoint')
    ap.add_argument('image')
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    sd = ckpt['model_weights'] if 'model_weights' in ckpt else ckpt
    arch = infer_arch(sd)
    model = ReferenceModel(arch).eval()
    model.load_state_dict(sd, strict=False)
    settings = classifier_settings(arch) if arch.task == 'classification' else Settings()
    image = load_image(args.image)
    clock = StageClock(model)
    for line in sys.stdin:
        if line.strip() != 'run':
            continue
        clock.times = {}
        t = time.perf_counter()
        model.run(image, settings)
        total = (time.perf_counter() - t) * 1e3
        stages = ' '.join(f'{k}={v:.3f}' for k, v in clock.times.items())
        print(f'total={total:.3f} {stages}', flush=True)


if __name__ == '__main__':
    main()

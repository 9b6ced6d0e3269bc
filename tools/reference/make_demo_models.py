"""Writes the demo models of models/: a reduced-width R18-T1 segmentation model and the
classifier built on it, with seeded random weights calibrated on the bundled CT slice (the same
recipe as the golden fixtures, make_goldens.py), converted with ./ctconvert. Their weights are
NOT trained: they exercise the whole pipeline at the real 512x512 input size, and the "lesions"
they report are noise.

    make && /usr/bin/python3 tools/reference/make_demo_models.py
"""
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctref.checkpoint import save_authors_checkpoint  # noqa: E402
from ctref.model import Settings, classifier_settings, load_image  # noqa: E402
from make_goldens import REPO, Crop, Variant, build_model, tiny  # noqa: E402

SLICE = os.path.join(REPO, 'models', 'samples', 'ct1_lung.png')
WIDTHS = dict(stem=16, fpn=32, rep=32, mask=32, s=64)
DEMOS = [
    ('demo_seg_r18_t1', Variant('demo_seg', tiny('segmentation', 18, '1', **WIDTHS), Settings(),
                                Crop((0, 0, 512, 512), (512, 512)), 7, fg_candidates=12)),
    ('demo_cls_r18_t1', Variant('demo_cls', tiny('classification', 18, '1', **WIDTHS),
                                classifier_settings(tiny(**WIDTHS)),
                                Crop((0, 0, 512, 512), (512, 512)), 8)),
]


def main():
    image = load_image(SLICE)
    for name, variant in DEMOS:
        model = build_model(variant, image, variant.seed)
        with tempfile.TemporaryDirectory() as tmp:
            pth = os.path.join(tmp, name + '.pth')
            save_authors_checkpoint(pth, model.state_dict(), variant.arch.task, legacy=True,
                                    cuda_tagged=True)
            out = os.path.join(REPO, 'models', name + '.bin')
            subprocess.run([os.path.join(REPO, 'ctconvert'), pth, out], check=True)
        print(name, 'written')


if __name__ == '__main__':
    torch.set_num_threads(1)
    main()

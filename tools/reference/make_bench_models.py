"""Full-width models for tools/bench (BENCHMARKS.md): R18-T1, R34-T1 and the full ResNet50
model (4-level FPN, 4 x 256 mask head; classifier D 256, S 1024: spec §12), segmentation and
classifier, with weights calibrated on the 512x512 CT slice exactly as the golden fixtures'
(make_goldens.py: He-normal, BatchNorm statistics from the layer's own input, every other layer
scaled to a target output std), so activations are O(1) and free of denormals, and the
segmentation model yields its full 100 detections. Not fixtures: nothing is committed.

    /usr/bin/python3 tools/reference/make_bench_models.py OUT_DIR [NAME ...]

writes OUT_DIR/{seg,cls}_r{18,34}_t1.pth and OUT_DIR/{seg,cls}_r50.pth (or only the NAMEs) (the authors' checkpoint format) and OUT_DIR/ct1.png;
convert them with ./ctconvert. Prints each model's activation statistics as a check."""
import dataclasses
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctref.checkpoint import save_authors_checkpoint  # noqa: E402
from ctref.model import Arch, Settings, classifier_settings, load_image  # noqa: E402
from make_goldens import CT_SLICE, Crop, Variant, build_model  # noqa: E402

# Candidates above the score threshold: enough that NMS leaves D = 100 detections.
FG_CANDIDATES = 600


def variants():
    crop = Crop((0, 0, 512, 512), (512, 512))
    for depth in (18, 34):
        seg = Arch(task='segmentation', depth=depth, truncation='1')
        cls = Arch(task='classification', depth=depth, truncation='1')
        yield Variant('seg_r%d_t1' % depth, seg, Settings(), crop, 10 + depth,
                      fg_candidates=FG_CANDIDATES)
        yield Variant('cls_r%d_t1' % depth, cls, classifier_settings(cls), crop, 20 + depth)
    seg = Arch(task='segmentation', depth=50, mask_head_channels=256)
    cls = Arch(task='classification', depth=50, mask_head_channels=0, roi_batch_size=256,
               s_features=1024)
    yield Variant('seg_r50', seg, Settings(), crop, 60, fg_candidates=FG_CANDIDATES)
    yield Variant('cls_r50', cls, classifier_settings(cls), crop, 70)


def activation_report(model, image, settings):
    """Largest |x| and the smallest non-zero |x| of every backbone/FPN output on the image."""
    stats = []

    def hook(name):
        def record(module, inputs, output):
            x = output.detach().abs()
            nz = x[x > 0]
            stats.append((name, float(x.max()), float(nz.min()) if nz.numel() else 0.0,
                          float(x.std())))
        return record
    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if isinstance(m, torch.nn.Conv2d)]
    out = model.run(image, settings)
    for h in handles:
        h.remove()
    return stats, out


def main(out_dir, names):
    torch.set_num_threads(1)
    os.makedirs(out_dir, exist_ok=True)
    shutil.copyfile(CT_SLICE, os.path.join(out_dir, 'ct1.png'))
    image = load_image(CT_SLICE)
    for v in variants():
        if names and v.name not in names:
            continue
        model = build_model(v, image, v.seed)
        stats, out = activation_report(model, image, v.settings)
        worst_max = max(s[1] for s in stats)
        smallest = min(s[2] for s in stats if s[2] > 0)
        stds = [s[3] for s in stats]
        count = len(out['det_scores']) if v.arch.task == 'segmentation' else out['survivors']
        print('%s: %s %d, max|act| %.3g, min nonzero |act| %.3g, std %.3g..%.3g' % (
            v.name, 'detections' if v.arch.task == 'segmentation' else 'K', count, worst_max,
            smallest, min(stds), max(stds)))
        save_authors_checkpoint(os.path.join(out_dir, v.name + '.pth'), model.state_dict(),
                                v.arch.task, legacy=True, cuda_tagged=True)


if __name__ == '__main__':
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])

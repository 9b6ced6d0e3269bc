"""Golden cases for the bundled demo models (issue 9), for tests/test_golden.c and
tests/test_demo.c: PyTorch's outputs of the trained demo checkpoints on a few held-out phantoms
and on the real slice, and the phantoms' ground truth.

    /usr/bin/python3 tools/demo/make_demo_goldens.py SEG.pth CLS.pth

SEG.pth / CLS.pth are train.py's checkpoints; models/demo_{seg,cls}_r18_t1.bin must be their
conversions `ctconvert --half --score-thresh 0.2 --nms-thresh 0.2 SEG.pth ...` and
`ctconvert --half CLS.pth ...`, so the reference runs on the same float16-rounded weights (every
tensor of rank >= 2 rounded as ctconvert rounds it; torch's .half() also rounds to nearest
even). Each case directory tests/fixtures/golden/demo_<name>/ holds:
  model.txt        the repository path of the model file it runs (instead of a model.pth)
  image.png        the input; settings.txt the model's own defaults
  *.npy            the proposals, the box head's outputs and the final stages (detections and
                   mask logits; classifier rows and logits), not the feature maps, so a case
                   stays small; the stage names are make_goldens.py's
  truth.txt        phantoms only: `class N` and one `lesion x1 y1 x2 y2 kind` line per lesion
  truth_mask.png   phantoms only: lesion k painted with value k + 1
Prints the margin checks of make_goldens.py for each case: a case whose decisions are too
close to call (near-tied scores at an NMS or a cut) would make the golden test flaky; the
default phantoms were picked among those without problems."""
import argparse
import dataclasses
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, 'tools', 'reference'))
import phantoms  # noqa: E402
from ctref.model import Arch, ReferenceModel, Settings, classifier_settings, load_image  # noqa: E402
from make_goldens import GOLDEN, Variant, box_problems, stage_arrays, write_settings  # noqa: E402

SEG_MODEL = 'models/demo_seg_r18_t1.bin'
CLS_MODEL = 'models/demo_cls_r18_t1.bin'
REAL_SLICE = os.path.join(REPO, 'models', 'samples', 'ct1_lung.png')
HELD_OUT_SEED = 3        # training uses set 1, evaluate.py set 2
# The settings the demo segmentation model ships with (ctconvert --score-thresh/--nms-thresh):
# a stricter box NMS than the authors' 0.5 merges the fragments an hour of training leaves.
DEMO_SCORE_THRESH, DEMO_NMS_THRESH = 0.2, 0.2
HEAD = ('proposals', 'proposal_scores', 'box_class_logits', 'box_regression')
KEPT = {'segmentation': HEAD + ('det_boxes', 'det_scores', 'det_labels', 'mask_logits',
                                'final_boxes'),
        'classification': HEAD + ('ranked_rows', 'keep_index', 'ranked_labels', 'ranked_boxes',
                                  'logits')}


def half_rounded(state_dict):
    """The weights as the --half model file holds them."""
    return {k: (v.half().float() if v.dim() >= 2 and v.is_floating_point() else v)
            for k, v in state_dict.items()}


def load(path, task):
    arch = Arch(task=task)
    model = ReferenceModel(arch).eval()
    model.load_state_dict(half_rounded(torch.load(path, map_location='cpu')['model_weights']))
    settings = (Settings(box_score_thresh=DEMO_SCORE_THRESH, box_nms_thresh=DEMO_NMS_THRESH)
                if task == 'segmentation' else classifier_settings(arch))
    return model, arch, settings


def write_truth(directory, class_index, lesions):
    with open(os.path.join(directory, 'truth.txt'), 'w') as f:
        f.write('# Ground truth of this phantom (tools/demo/phantoms.py): its class and its lesions\n'
                '# as [x1, y1, x2, y2) boxes; truth_mask.png paints lesion k with k + 1.\n')
        f.write('class %d\n' % class_index)
        label_map = np.zeros((phantoms.SIZE, phantoms.SIZE), np.uint8)
        for k, lesion in enumerate(lesions):
            f.write('lesion %d %d %d %d %s\n' % (tuple(phantoms.bounding_box(lesion.mask)) +
                                                 (lesion.kind,)))
            label_map[lesion.mask > 0] = k + 1
    Image.fromarray(label_map).save(os.path.join(directory, 'truth_mask.png'))


def write_case(name, model_file, model, arch, settings, image_path, truth=None):
    directory = os.path.join(GOLDEN, 'demo_' + name)
    os.makedirs(directory, exist_ok=True)
    for old in os.listdir(directory):
        os.remove(os.path.join(directory, old))
    shutil.copyfile(image_path, os.path.join(directory, 'image.png'))
    with open(os.path.join(directory, 'model.txt'), 'w') as f:
        f.write(model_file + '\n')
    variant = Variant('demo_' + name, arch, settings, None, 0, detections=(0, 100),
                      store_input='none', store_anchors=False, store_deltas=False,
                      store_objectness=False, pasted_limit=0)
    write_settings(variant, directory)
    out = model.run(load_image(image_path), settings)
    for key, array in stage_arrays(variant, out).items():
        if key in KEPT[arch.task]:
            np.save(os.path.join(directory, key + '.npy'), array)
    if truth is not None:
        write_truth(directory, *truth)
    problems = box_problems(variant, out)
    count = len(out['det_scores']) if arch.task == 'segmentation' else out['survivors']
    summary = ('%d detections' % count if arch.task == 'segmentation' else
               'K %d, logits %s' % (count, np.round(out['logits'].numpy(), 3).tolist()))
    print('demo_%s: %s; %s' % (name, summary, '; '.join(problems) or 'no margin problems'))
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('seg')
    parser.add_argument('cls')
    parser.add_argument('--phantoms', type=int, nargs='+', default=[0, 1, 2],
                        help='indices of set %d (class = index %% 3)' % HELD_OUT_SEED)
    args = parser.parse_args()
    torch.set_num_threads(1)
    seg = load(args.seg, 'segmentation')
    cls = load(args.cls, 'classification')
    scratch = os.path.join(GOLDEN, '.demo_scratch')
    os.makedirs(scratch, exist_ok=True)
    for index in args.phantoms:
        gray, class_index, lesions = phantoms.phantom(HELD_OUT_SEED, index)
        name = 'phantom_%s' % phantoms.stem(index, class_index)
        path = os.path.join(scratch, name + '.png')
        Image.fromarray(gray).save(path)
        truth = (class_index, lesions)
        write_case('seg_' + name, SEG_MODEL, *seg, path, truth)
        write_case('cls_' + name, CLS_MODEL, *cls, path, truth)
    write_case('seg_real_slice', SEG_MODEL, *seg, REAL_SLICE)
    shutil.rmtree(scratch)


if __name__ == '__main__':
    main()

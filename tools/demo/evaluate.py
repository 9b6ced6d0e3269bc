"""Scores ctinfer's outputs (not PyTorch's) on held-out phantoms: the acceptance metrics of
issue 9 for the demo models.

    /usr/bin/python3 tools/demo/evaluate.py --seg SEG.bin --cls CLS.bin [--count 100]
        [--data DIR] [--seed 2] [--ctinfer ./ctinfer] [--score-thresh X] [--require]

Runs `ctinfer SEG.bin <images> --jsonl --out-dir --outputs masks` and `ctinfer CLS.bin <images>
--jsonl` once each (the model loaded once) on phantoms `--first` .. `--first+count-1` of set
`--seed` (generated into --data, default a temporary directory; the training set is seed 1, so
seed 2 is never seen in training), then computes:
  * lesion-level recall and precision at box IoU >= 0.5: detections (score above the model's or
    --score-thresh) in descending score order, each matched greedily to the unmatched lesion of
    highest IoU; unmatched detections are false positives, unmatched lesions misses;
  * mask Dice on matched lesions: ctinfer's pasted mask logits > the mask threshold against the
    lesion's exact mask, averaged over matches (and per lesion kind);
  * classifier accuracy on the three phantom classes, with the confusion matrix;
  * detections on the bundled real slice models/samples/ct1_lung.png (healthy-looking: ideally 0).
Prints a JSON report (also written to --report); with --require, exits 1 unless recall >= 0.8,
precision >= 0.7, Dice >= 0.7 and accuracy >= 0.9.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import phantoms  # noqa: E402

ACCEPTANCE = {'recall': 0.8, 'precision': 0.7, 'dice': 0.7, 'accuracy': 0.9}
REAL_SLICE = os.path.join(REPO, 'models', 'samples', 'ct1_lung.png')


def run_ctinfer(ctinfer, model, images, out_dir, extra):
    """One batch run; returns {image path: its JSON object} (errors raise)."""
    jsonl = os.path.join(out_dir, 'results.jsonl')
    if os.path.exists(jsonl):
        os.remove(jsonl)
    command = [ctinfer, model] + images + ['--jsonl', jsonl] + extra
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    results = {}
    with open(jsonl) as f:
        for line in f:
            record = json.loads(line)
            if record.get('error'):
                raise RuntimeError('%s: %s' % (record['image']['path'], record['error']))
            results[record['image']['path']] = record
    return results


def box_iou(a, b):
    """IoU of two [x1, y1, x2, y2] boxes (continuous coordinates, exclusive max)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def dice(a, b):
    total = a.sum() + b.sum()
    return 2.0 * np.logical_and(a, b).sum() / total if total else 1.0


def match(detections, lesions, iou_threshold):
    """Greedy matching in score order: [(detection index, lesion index)], unmatched counts."""
    order = sorted(range(len(detections)), key=lambda i: -detections[i]['score'])
    free = set(range(len(lesions)))
    pairs = []
    for d in order:
        best, best_iou = None, iou_threshold
        for g in free:
            iou = box_iou(detections[d]['box'], lesions[g]['box'])
            if iou >= best_iou:
                best, best_iou = g, iou
        if best is not None:
            free.discard(best)
            pairs.append((d, best))
    return pairs


def score_segmentation(data_dir, records, results, out_dir, score_thresh, iou_threshold):
    """Lesion-level counts and Dice over all phantoms."""
    n_lesions = n_detections = n_matched = 0
    dices, per_kind = [], {}
    false_positive_slices = 0
    for record in records:
        result = results[os.path.join(data_dir, record['file'])]
        keep = [i for i, d in enumerate(result['detections'])
                if score_thresh is None or d['score'] > score_thresh]
        detections = [result['detections'][i] for i in keep]
        lesions = record['lesions']
        pairs = match(detections, lesions, iou_threshold)
        n_lesions += len(lesions)
        n_detections += len(detections)
        n_matched += len(pairs)
        if not lesions and detections:
            false_positive_slices += 1
        for lesion in lesions:
            per_kind.setdefault(lesion['kind'], {'lesions': 0, 'found': 0, 'dice': []})
            per_kind[lesion['kind']]['lesions'] += 1
        if not pairs:
            continue
        stem = os.path.splitext(os.path.basename(record['file']))[0]
        logits = np.load(os.path.join(out_dir, stem + '.masks.npy'))      # [D,H,W]
        truth = np.load(os.path.join(data_dir, record['masks']))['masks']   # [K,H,W]
        threshold = result['settings']['mask_thresh']
        for d, g in pairs:
            value = dice(logits[keep[d]] > threshold, truth[g] > 0)
            dices.append(value)
            kind = per_kind[lesions[g]['kind']]
            kind['found'] += 1
            kind['dice'].append(value)
    return {
        'lesions': n_lesions, 'detections': n_detections, 'matched': n_matched,
        'recall': n_matched / n_lesions if n_lesions else None,
        'precision': n_matched / n_detections if n_detections else None,
        'dice': float(np.mean(dices)) if dices else None,
        'lesion_free_slices_with_detections': false_positive_slices,
        'per_kind': {k: {'lesions': v['lesions'], 'recall': v['found'] / v['lesions'],
                         'dice': float(np.mean(v['dice'])) if v['dice'] else None}
                     for k, v in per_kind.items()}}


def score_classifier(data_dir, records, results):
    confusion = np.zeros((3, 3), int)
    for record in records:
        result = results[os.path.join(data_dir, record['file'])]
        confusion[record['class_index'], result['classification']['class_index']] += 1
    return {'accuracy': float(np.trace(confusion) / confusion.sum()),
            'confusion_rows_truth_cols_predicted': confusion.tolist(),
            'classes': list(phantoms.CLASSES)}


def held_out_set(data_dir, count, seed, first):
    """Records of the phantoms to score, generated unless data_dir already holds them."""
    labels_path = os.path.join(data_dir, 'labels.json')
    if os.path.exists(labels_path):
        with open(labels_path) as f:
            labels = json.load(f)
        if labels['seed'] == seed:
            wanted = set(range(first, first + count))
            records = [r for r in labels['phantoms'] if r['index'] in wanted]
            if len(records) == count:
                return records
    return phantoms.write_set(data_dir, count, seed, first)['phantoms']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--seg', help='segmentation model (.bin)')
    parser.add_argument('--cls', help='classifier model (.bin)')
    parser.add_argument('--count', type=int, default=100)
    parser.add_argument('--seed', type=int, default=2, help='phantom set (training uses 1)')
    parser.add_argument('--first', type=int, default=0)
    parser.add_argument('--data', help='phantom directory (default: a temporary one)')
    parser.add_argument('--ctinfer', default=os.path.join(REPO, 'ctinfer'))
    parser.add_argument('--threads', type=int, default=0, help='ctinfer --threads')
    parser.add_argument('--score-thresh', type=float,
                        help='count detections above this (default: all ctinfer reports, i.e. '
                             'the model file\'s threshold)')
    parser.add_argument('--iou', type=float, default=0.5)
    parser.add_argument('--report', help='also write the JSON report here')
    parser.add_argument('--require', action='store_true',
                        help='exit 1 unless the acceptance thresholds are met')
    args = parser.parse_args()
    if not args.seg and not args.cls:
        parser.error('give --seg and/or --cls')

    with tempfile.TemporaryDirectory(prefix='ctinfer_eval_') as tmp:
        data_dir = os.path.abspath(args.data or os.path.join(tmp, 'phantoms'))
        records = held_out_set(data_dir, args.count, args.seed, args.first)
        images = [os.path.join(data_dir, r['file']) for r in records]
        threads = ['--threads', str(args.threads)] if args.threads else []
        report = {'phantoms': len(records), 'seed': args.seed, 'first': args.first}
        if args.seg:
            out_dir = os.path.join(tmp, 'seg')
            os.makedirs(out_dir)
            extra = ['--out-dir', out_dir, '--outputs', 'masks'] + threads
            if args.score_thresh is not None:
                extra += ['--score-thresh', str(args.score_thresh)]
            results = run_ctinfer(args.ctinfer, args.seg, images, out_dir, extra)
            report['segmentation'] = score_segmentation(data_dir, records, results, out_dir,
                                                        args.score_thresh, args.iou)
            real = run_ctinfer(args.ctinfer, args.seg, [REAL_SLICE], out_dir, extra)
            report['segmentation']['real_slice_detections'] = len(real[REAL_SLICE]['detections'])
        if args.cls:
            out_dir = os.path.join(tmp, 'cls')
            os.makedirs(out_dir)
            results = run_ctinfer(args.ctinfer, args.cls, images, out_dir, threads)
            report['classification'] = score_classifier(data_dir, records, results)
            real = run_ctinfer(args.ctinfer, args.cls, [REAL_SLICE], out_dir, threads)
            report['classification']['real_slice_class'] = \
                real[REAL_SLICE]['classification']['class']
    report['acceptance'] = acceptance(report)
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        with open(args.report, 'w') as f:
            f.write(text + '\n')
    if args.require and not all(report['acceptance'].values()):
        sys.exit(1)


def acceptance(report):
    """Which of the issue's thresholds the measured numbers meet."""
    measured = {}
    if 'segmentation' in report:
        seg = report['segmentation']
        measured.update(recall=seg['recall'], precision=seg['precision'], dice=seg['dice'])
    if 'classification' in report:
        measured['accuracy'] = report['classification']['accuracy']
    return {k: v is not None and v >= ACCEPTANCE[k] for k, v in measured.items()}


if __name__ == '__main__':
    main()

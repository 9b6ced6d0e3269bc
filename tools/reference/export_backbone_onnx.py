"""The backbone + FPN of a checkpoint as an ONNX model, for the ONNX Runtime peer of
BENCHMARKS.md (tools/reference/bench_ort.mjs): the part of the network that ctinfer's "backbone"
stage times (ResNet body and FPN; the RPN head counts as "rpn"), on the padded [1,3,H,W] input,
with the checkpoint's weights (BatchNorm as it is; ONNX Runtime folds it when it optimizes).

    /usr/bin/python3 tools/reference/export_backbone_onnx.py MODEL.pth OUT.onnx [--input IN.npy]

--input takes the tensor `ctinfer MODEL.bin SLICE --dump-input IN.npy` writes ([3,H,W] float32)
and writes PyTorch's FPN outputs on it, flattened and concatenated, as raw float32 to
OUT.onnx.expect, which bench_ort.mjs --check compares ONNX Runtime's against."""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import infer_arch  # noqa: E402
from ctref.model import ReferenceModel  # noqa: E402


class BackboneFPN(torch.nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return tuple(self.backbone.fpn(self.backbone.body(x)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('checkpoint')
    ap.add_argument('out')
    ap.add_argument('--input', help='[3,H,W] float32 .npy (ctinfer --dump-input)')
    args = ap.parse_args()
    ckpt = torch.load(args.checkpoint, map_location='cpu')
    sd = ckpt['model_weights'] if 'model_weights' in ckpt else ckpt
    model = ReferenceModel(infer_arch(sd)).eval()
    model.load_state_dict(sd, strict=False)
    net = BackboneFPN(model.backbone).eval()
    x = torch.from_numpy(np.load(args.input))[None] if args.input else torch.randn(1, 3, 512, 512)
    with torch.no_grad():
        outs = net(x)
        torch.onnx.export(net, x, args.out, input_names=['input'],
                          output_names=['fpn%d' % i for i in range(len(outs))], opset_version=13)
    if args.input:
        np.concatenate([o.numpy().ravel() for o in outs]).astype('<f4').tofile(args.out + '.expect')
    print('wrote %s: input %s, outputs %s' % (args.out, list(x.shape), [list(o.shape) for o in outs]))


if __name__ == '__main__':
    main()

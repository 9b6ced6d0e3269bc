"""ctref: the PyTorch reference for ctinfer (tools/reference/README.md).

model.py re-implements the authors' networks from the spec; checkpoint.py writes checkpoints in
the authors' format. Needs torch 1.13 / torchvision 0.14 (Debian 12's python3-torch)."""

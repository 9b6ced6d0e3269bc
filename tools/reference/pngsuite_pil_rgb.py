#!/usr/bin/python3
"""Writes tests/fixtures/pngsuite/PIL_RGB.tsv: for every valid PngSuite image,
the SHA-256 of what the original scripts feed the model (spec section 2):
np.array(Image.open(f).convert('RGB'))[:, :, :3] as uint8, row-major.
16-bit grayscale images are marked 'windowed' (ctinfer puts them through a
CT window instead). Run from the repository root with /usr/bin/python3."""
import csv
import hashlib
import os

import numpy as np
import PIL
from PIL import Image

SUITE = "tests/fixtures/pngsuite"


def main():
    rows = []
    with open(os.path.join(SUITE, "MANIFEST.tsv")) as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            if rec["expect"] != "ok":
                continue
            name = rec["file"]
            ihdr = rec["IHDR(w,h,depth,ctype,interlace)"].split(",")
            depth, ctype = int(ihdr[2]), int(ihdr[3])
            im = Image.open(os.path.join(SUITE, name))
            if depth == 16 and ctype in (0, 4):
                rows.append((name, im.mode, "windowed"))
                continue
            rgb = im if im.mode == "RGB" else im.convert("RGB")
            a = np.ascontiguousarray(np.array(rgb)[:, :, :3], dtype=np.uint8)
            rows.append((name, im.mode, hashlib.sha256(a.tobytes()).hexdigest()))
    with open(os.path.join(SUITE, "PIL_RGB.tsv"), "w") as f:
        f.write("# file\tPIL mode\tsha256 of convert('RGB') uint8 [H,W,3] (Pillow %s)\n" % PIL.__version__)
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()

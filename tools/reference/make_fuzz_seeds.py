#!/usr/bin/python3
"""Makes the seed corpora of the converter and model-file fuzz targets (fuzz/corpus/): complete
models of the smallest width (one channel everywhere) saved as the authors' scripts or plain
torch.save would, so that each seed is a few kB yet reaches every stage of the converter. Run
from the repository root, after `make` (the model-file seeds come from ./ctconvert), with Debian's
torch 1.13:

    /usr/bin/python3 tools/reference/make_fuzz_seeds.py

Writes fuzz/corpus/convert/ (the seeds of fuzz_convert, fuzz_zip and fuzz_legacy alike: each
target refuses the other format's files early), pickle/ (the object pickles alone) and
modelfile/ (two converted models). The cli corpus is hand-written.
"""
import io
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_convert_fixtures import Arch, random_state_dict, save_fixture  # noqa: E402

CORPUS = 'fuzz/corpus'
TINY = dict(stem=1, fpn=1, rep=1, mask=1, rois=2, s=1)
FEW_ANCHORS = dict(sizes=(2, 8), ratios=(0.5, 1))   # only checkpoints that carry their anchors

# name, arch, how to save (as in make_convert_fixtures.FIXTURES)
SEEDS = [
    ('seg_r18_t2_legacy_cuda', Arch('segmentation', 18, 2, **TINY, **FEW_ANCHORS),
     dict(authors=True, legacy=True, cuda_tagged=True)),
    ('cls_r18_t2_zip', Arch('classification', 18, 2, **TINY, **FEW_ANCHORS), dict(authors=True, legacy=False)),
    ('seg_r18_t1_bare_zip_tv013', Arch('segmentation', 18, 1, new_naming=True, **TINY),
     dict(plain='bare', legacy=False)),
    ('cls_r34_t2_state_dict_legacy', Arch('classification', 34, 2, nc=3, **TINY),
     dict(plain='state_dict', legacy=True)),
]


def legacy_object_pickle(data):
    """The object pickle of a legacy stream: the 4th of its pickles (magic, protocol, sys_info,
    object), cut out by letting the unpickler read them in turn."""
    f = io.BytesIO(data)
    for _ in range(3):
        pickle.load(f)
    start = f.tell()

    class Inert:
        def __init__(self, *args):
            pass

        def __setitem__(self, key, value):
            pass

        def __setstate__(self, state):
            pass

    class Reader(pickle.Unpickler):
        def persistent_load(self, pid):
            return Inert if pid[0] == 'module' else Inert()

        def find_class(self, module, name):
            return Inert

    Reader(f).load()
    return data[start:f.tell()]


def write(subdir, name, data):
    os.makedirs(os.path.join(CORPUS, subdir), exist_ok=True)
    with open(os.path.join(CORPUS, subdir, name), 'wb') as f:
        f.write(data)


def main():
    for sub in ('convert', 'pickle', 'modelfile'):
        shutil.rmtree(os.path.join(CORPUS, sub), ignore_errors=True)
    tmp = '/tmp/ctinfer_fuzz_seeds'
    os.makedirs(tmp, exist_ok=True)
    for seed, (name, arch, how) in enumerate(SEEDS, start=1):
        pth = os.path.join(tmp, name + '.pth')
        save_fixture(pth, arch, how, random_state_dict(arch, seed))
        with open(pth, 'rb') as f:
            data = f.read()
        write('convert', name + '.pth', data)
        if how['legacy']:
            write('pickle', name + '.pkl', legacy_object_pickle(data))
        else:
            with zipfile.ZipFile(pth) as z:
                pkl = [n for n in z.namelist() if n.endswith('/data.pkl')][0]
                write('pickle', name + '.pkl', z.read(pkl))
        if seed <= 2:
            out = os.path.join(CORPUS, 'modelfile', name + '.bin')
            os.makedirs(os.path.dirname(out), exist_ok=True)
            subprocess.run(['./ctconvert', pth, out], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(tmp)
    total = 0
    for root, _, files in os.walk(CORPUS):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    print('fuzz corpora: %d bytes in total' % total)


if __name__ == '__main__':
    main()

"""Writes checkpoints exactly as the authors' training scripts did (spec §14): the top-level dict
in their key order, `model_weights` with `_metadata`, an optional Adam `optimizer_state`, and the
pickled `AnchorGenerator` module, in PyTorch's legacy stream format (optionally with CUDA-tagged
storages, as 2020 files have, without needing a GPU) or in the zip format.

    from ctref.checkpoint import save_authors_checkpoint
    save_authors_checkpoint('model.pth', model.state_dict(), 'segmentation')
"""
import collections
import inspect
import os
import pickle
import sys

import torch

_REFERENCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REFERENCE_DIR not in sys.path:
    sys.path.insert(0, _REFERENCE_DIR)

from models.mask_net import rpn, rpn_segmentation  # noqa: E402  (the authors' class paths)

AUTHORS_SIZES = ((2, 4, 8, 16, 32),) * 5
AUTHORS_RATIOS = ((0.1, 0.25, 0.5, 1, 1.5, 2),) * 5

_LEGACY_MAGIC = 0x1950a86a20f9469cfc6c
_LEGACY_PROTOCOL = 1001
_BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')
_TORCH11_MODULE_FIELDS = ('_parameters', '_buffers', '_backward_hooks', '_forward_hooks',
                          '_forward_pre_hooks', '_state_dict_hooks',
                          '_load_state_dict_pre_hooks', '_modules', 'training')


class _ThnnBackend:
    """Pickles as the `_backend` attribute torch 1.1 modules carried: a call of
    `torch.nn.backends.thnn._get_thnn_function_backend()`."""

    def __reduce__(self):
        from torch.nn.backends import thnn
        return (thnn._get_thnn_function_backend, ())


def save_authors_checkpoint(path, state_dict, task, *, legacy=True, cuda_tagged=False,
                            with_optimizer=False, anchor_sizes=AUTHORS_SIZES,
                            aspect_ratios=AUTHORS_RATIOS, epoch='100', model_name=None,
                            cache_image_size=512):
    """Saves `state_dict` (name -> tensor, in module order) as the authors' `task` script
    ('segmentation' or 'classification') would have. `legacy` picks the pre-1.6 stream format
    (else zip); `cuda_tagged` makes every storage `torch.cuda.*Storage` at 'cuda:0';
    `with_optimizer` adds an Adam state over the parameters that script trained;
    `cache_image_size` is the square input size whose grid anchors sit in the generator's
    `_cache` (keep it small for tiny test models)."""
    if task not in ('segmentation', 'classification'):
        raise ValueError('task must be segmentation or classification, not %r' % (task,))
    weights = _with_metadata(state_dict)
    generator = _anchor_generator(task, weights, anchor_sizes, aspect_ratios, cache_image_size)
    optimizer = _adam_state(weights, task) if with_optimizer else None
    if task == 'segmentation':
        checkpoint = collections.OrderedDict([
            ('epoch', epoch), ('model_name', model_name), ('model_weights', weights),
            ('optimizer_state', optimizer), ('lrate', 1e-05), ('anchor_generator', generator)])
    else:
        checkpoint = collections.OrderedDict([
            ('epoch', epoch), ('model_weights', weights), ('optimizer_state', optimizer),
            ('lrate', 1e-05), ('anchor_generator', generator), ('model_name', model_name)])
    if not with_optimizer:
        del checkpoint['optimizer_state']
    checkpoint = dict(checkpoint)  # torch.save received a plain dict
    if legacy:
        with open(path, 'wb') as f:
            _legacy_save(checkpoint, f, cuda_tagged)
    else:
        _zip_save(checkpoint, path, cuda_tagged)


def _with_metadata(state_dict):
    """An OrderedDict copy of state_dict with the `_metadata` a module's state_dict() carries:
    every module prefix -> {'version': v}, 2 for BatchNorm and the torchvision >= 0.13 FPN."""
    weights = collections.OrderedDict(state_dict)
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is None:
        metadata = collections.OrderedDict([('', {'version': 1})])
        for name in weights:
            parts = name.split('.')[:-1]
            for depth in range(1, len(parts) + 1):
                metadata.setdefault('.'.join(parts[:depth]), {'version': 1})
            if parts and name.endswith('running_var'):
                metadata['.'.join(parts)] = {'version': 2}
            if '.fpn.inner_blocks.' in name and name.count('.') == 5:
                metadata['backbone.fpn'] = {'version': 2}
    weights._metadata = metadata
    return weights


def _feature_strides(weights):
    """Strides of the FPN inputs: one per lateral conv, from the deepest ResNet layer kept."""
    levels = sorted({int(k.split('.')[3]) for k in weights
                     if k.startswith('backbone.fpn.inner_blocks.')})
    if len(levels) > 1:
        return [4 * 2 ** i for i in levels]
    for layer, stride in (('layer4', 32), ('layer3', 16), ('layer2', 8)):
        if any(k.startswith('backbone.body.%s.' % layer) for k in weights):
            return [stride]
    return [4]


def _anchor_generator(task, weights, sizes, aspect_ratios, cache_image_size):
    cls = rpn_segmentation.AnchorGenerator if task == 'segmentation' else rpn.AnchorGenerator
    generator = cls(sizes, aspect_ratios)
    generator.set_cell_anchors()
    generator.fill_cache(cache_image_size, _feature_strides(weights))
    generator.eval()
    generator.__dict__ = _torch11_module_dict(generator.__dict__)
    return generator


def _torch11_module_dict(d):
    """A module __dict__ in torch 1.1's attribute order, led by its `_backend`; the fields
    torch 1.13 added (`_non_persistent_buffers_set`, ...) follow, as a newer pickle has them."""
    out = {'_backend': _ThnnBackend()}
    out.update((k, d[k]) for k in _TORCH11_MODULE_FIELDS)
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def _trained_names(weights, task):
    """Parameters (not buffers) the task's Adam optimizer covered, in module order."""
    params = [k for k in weights if k.rsplit('.', 1)[-1] not in _BN_STATS]
    if task == 'segmentation':
        return params
    return [k for k in params if k.startswith('s2new.') or 'bn' in k]


def _adam_state(weights, task):
    """torch 1.1's Adam.state_dict(): int param ids, int `step`, moment tensors."""
    gen = torch.Generator().manual_seed(7)
    names = _trained_names(weights, task)
    state = {}
    for i, name in enumerate(names):
        shape = weights[name].shape
        state[i] = {'step': 100,
                    'exp_avg': torch.randn(shape, generator=gen) * 1e-4,
                    'exp_avg_sq': torch.rand(shape, generator=gen) * 1e-8}
    group = {'lr': 1e-05, 'betas': (0.9, 0.999), 'eps': 1e-08, 'weight_decay': 0.001,
             'amsgrad': False, 'params': list(range(len(names)))}
    return {'state': state, 'param_groups': [group]}


class _LegacyPickler(pickle.Pickler):
    """torch's legacy persistent ids: ('module', cls, file, source) once per nn.Module class,
    ('storage', type, key, location, numel, None) per storage."""

    def __init__(self, f, cuda_tagged):
        super().__init__(f, protocol=2)
        self.cuda_tagged = cuda_tagged
        self.storages = {}
        self.module_classes = set()

    def persistent_id(self, obj):
        if isinstance(obj, type) and issubclass(obj, torch.nn.Module):
            if obj in self.module_classes:
                return None
            self.module_classes.add(obj)
            lines, _ = inspect.getsourcelines(obj)
            return ('module', obj, inspect.getsourcefile(obj), ''.join(lines))
        if isinstance(obj, torch.storage.TypedStorage):
            key = str(obj._storage._cdata)
            self.storages.setdefault(key, obj)
            namespace = torch.cuda if self.cuda_tagged else torch
            storage_type = getattr(namespace, obj.pickle_storage_type())
            location = 'cuda:0' if self.cuda_tagged else 'cpu'
            return ('storage', storage_type, key, location, obj.size(), None)
        return None


def _legacy_save(obj, f, cuda_tagged):
    """The stream torch < 1.6 wrote: magic, protocol, sys_info, the object pickle, the sorted
    storage keys, then each storage as int64 numel + raw little-endian bytes."""
    sys_info = {'protocol_version': _LEGACY_PROTOCOL, 'little_endian': True,
                'type_sizes': {'short': 2, 'int': 4, 'long': 4}}
    pickle.dump(_LEGACY_MAGIC, f, protocol=2)
    pickle.dump(_LEGACY_PROTOCOL, f, protocol=2)
    pickle.dump(sys_info, f, protocol=2)
    pickler = _LegacyPickler(f, cuda_tagged)
    pickler.dump(obj)
    keys = sorted(pickler.storages)
    pickle.dump(keys, f, protocol=2)
    f.flush()
    for key in keys:
        storage = pickler.storages[key]
        storage._write_file(f, False, True, storage.element_size())


def _zip_save(obj, path, cuda_tagged):
    """torch.save's zip format; cuda_tagged relabels every storage's location 'cuda:0'."""
    if not cuda_tagged:
        torch.save(obj, path, _use_new_zipfile_serialization=True)
        return
    original = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: 'cuda:0'
    try:
        torch.save(obj, path, _use_new_zipfile_serialization=True)
    finally:
        torch.serialization.location_tag = original

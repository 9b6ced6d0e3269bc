"""The anchor generator the authors' training scripts pickle into every checkpoint
(spec §5 and §14.1), written from the spec: its pickled state is what matters here."""
import torch
from torch import nn


class AnchorGeneratorBase(nn.Module):
    """Holds `sizes`, `aspect_ratios`, the per-level `cell_anchors` and a `_cache` of grid
    anchors keyed by `(torch.Size([gh, gw]), ..., (stride_h, stride_w), ...)`."""

    def __init__(self, sizes, aspect_ratios):
        super().__init__()
        self.sizes = sizes
        self.aspect_ratios = aspect_ratios
        self.cell_anchors = None
        self._cache = {}

    @staticmethod
    def base_anchors(sizes, aspect_ratios):
        """[len(ratios)*len(sizes), 4] float32 boxes centred on 0, ratio-major, half-to-even."""
        scales = torch.as_tensor(sizes, dtype=torch.float32)
        ratios = torch.as_tensor(aspect_ratios, dtype=torch.float32)
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).view(-1)
        hs = (h_ratios[:, None] * scales[None, :]).view(-1)
        return (torch.stack([-ws, -hs, ws, hs], dim=1) / 2).round()

    def set_cell_anchors(self):
        self.cell_anchors = [self.base_anchors(s, a) for s, a in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_size, stride, base):
        """[gh*gw*A, 4]: location-major, anchor-minor, origins at (j*stride_w, i*stride_h)."""
        gh, gw = grid_size
        shift_x = torch.arange(0, gw, dtype=torch.float32) * stride[1]
        shift_y = torch.arange(0, gh, dtype=torch.float32) * stride[0]
        sy, sx = torch.meshgrid(shift_y, shift_x, indexing='ij')
        sx, sy = sx.reshape(-1), sy.reshape(-1)
        shifts = torch.stack((sx, sy, sx, sy), dim=1)
        return (shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4)

    def fill_cache(self, image_size, feature_strides):
        """Records the cache entry a forward pass on a square image_size input leaves behind."""
        grids = [torch.Size([image_size // s, image_size // s]) for s in feature_strides]
        strides = [(image_size / g[0], image_size / g[1]) for g in grids]
        key = tuple(grids) + tuple(strides)
        self._cache[key] = [self.grid_anchors(g, s, b)
                            for g, s, b in zip(grids, strides, self.cell_anchors)]

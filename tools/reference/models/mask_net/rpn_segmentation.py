"""`models.mask_net.rpn_segmentation`: the segmentation scripts' AnchorGenerator class path."""
from models.mask_net.anchors import AnchorGeneratorBase


class AnchorGenerator(AnchorGeneratorBase):
    pass

"""`models.mask_net.rpn`: the classifier scripts' AnchorGenerator class path."""
from models.mask_net.anchors import AnchorGeneratorBase


class AnchorGenerator(AnchorGeneratorBase):
    pass

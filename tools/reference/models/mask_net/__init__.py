"""Stand-in for `models.mask_net`: the AnchorGenerator classes pickled in checkpoints."""

/* The ResNet body (truncated for the lightweight models) and the FPN. */
#ifndef CT_NET_BACKBONE_H
#define CT_NET_BACKBONE_H

#include "net/session.h"
#include "net/tensor.h"

/* input [3,H,W] -> the FPN outputs, one per level, finest first. */
ct_status ct_backbone_fpn(ct_session *s, const ct_fmap *input, ct_fmap levels[CT_MAX_LEVELS],
                          ct_error *err);

#endif

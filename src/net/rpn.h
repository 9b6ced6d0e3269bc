/* Region proposal network (spec §5, §6): head, anchors, top-k per level,
 * decode, clip, batched NMS by level, post-NMS top-n. */
#ifndef CT_NET_RPN_H
#define CT_NET_RPN_H

#include "net/preprocess.h"
#include "net/session.h"
#include "net/tensor.h"

typedef struct {
    int count;
    float *boxes;   /* [count,4] in resized-image coordinates, NMS order */
} ct_proposals;

ct_status ct_rpn(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                 ct_proposals *out, ct_error *err);

#endif

/* The mask branch (spec §8) and pasting into the original frame (spec §9). */
#ifndef CT_NET_MASK_HEAD_H
#define CT_NET_MASK_HEAD_H

#include "net/roi_heads.h"

#define CT_MASK_SIZE 28

/* RoIAlign 14x14 on the detections (hwc: ct_roi_features), conv(s),
 * ConvT 2x2/2, 1x1 logits; out [D,28,28]: the logits of each detection's
 * label (no sigmoid). */
ct_status ct_mask_branch(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                         const ct_detections *dets, float *out, ct_error *err);

/* boxes_orig [D,4] (original-image pixels); masks [D,28,28] -> pasted [D,H,W],
 * which must arrive zeroed (only each box's rectangle is written);
 * detections split over the session's threads. */
void ct_paste_masks(ct_session *s, const float *masks, const float *boxes_orig, int count, int H, int W,
                    float *pasted);

#endif

/* The box branch (spec §7): RoIAlign 7x7, TwoMLPHead, predictor, and the
 * post-processing that turns proposals into detections. Also the multi-scale
 * RoI pooling shared with the mask branch. */
#ifndef CT_NET_ROI_HEADS_H
#define CT_NET_ROI_HEADS_H

#include "net/preprocess.h"
#include "net/rpn.h"
#include "net/session.h"
#include "net/tensor.h"

typedef struct {
    int count;
    float *boxes;      /* [count,4] resized-image coordinates, clipped */
    float *scores;     /* [count] softmax probability of the label */
    int *labels;       /* [count] 1..n_c-1 */
    float *deltas;     /* [count,4] raw bbox_pred outputs of the label (classifier rows) */
} ct_detections;

/* The FPN levels as RoIAlign reads them: hwc[l] has the shape of levels[l]
 * and its data channels-last, [h,w,c] (arena memory). */
ct_status ct_roi_features(ct_session *s, const ct_fmap levels[CT_MAX_LEVELS], ct_fmap hwc[CT_MAX_LEVELS],
                          ct_error *err);

/* boxes [n,4] -> out [n, F, size, size]: RoIAlign(aligned=False,
 * sampling_ratio=2) on the level each box maps to (one level: the scale
 * inferred from the unpadded size; four: torchvision's LevelMapper), RoIs
 * split over the session's threads. */
void ct_roi_pool(const ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                 const float *boxes, int n, int size, float *out);

/* Proposals -> detections, sorted by descending score, at most opt.detections. */
ct_status ct_box_branch(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                        const ct_proposals *props, ct_detections *out, ct_error *err);

#endif

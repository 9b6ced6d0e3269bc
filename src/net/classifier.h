/* COVID-CT-Mask-Net's image classification (spec §10): the ranked detection
 * rows, the fixed-batch replication, and the S module. */
#ifndef CT_NET_CLASSIFIER_H
#define CT_NET_CLASSIFIER_H

#include "net/roi_heads.h"

/* Fills index[0..D) with the detection each of the D rows takes: the
 * identity when K = D, else the replication of spec §10.3 drawn from
 * torch.manual_seed(seed). K must be >= 1. scratch: room for D ints. */
void ct_replicate_rows(int K, int D, uint32_t seed, int *index, int *scratch);

/* dets (K >= 1 rows) -> logits [3]; res->rois, num_rois, num_survivors are
 * filled from the D ranked rows (boxes still in resized coordinates). */
ct_status ct_classify(ct_session *s, const ct_detections *dets, ct_result *res, ct_error *err);

#endif

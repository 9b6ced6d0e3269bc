/* The architectures ctinfer runs, as data: which tensors (names and shapes)
 * a model of a given configuration has, and the authors' test-time defaults.
 * Used by ctconvert to validate a checkpoint and by the loader to validate a
 * model file. */
#ifndef CT_MODEL_ARCH_H
#define CT_MODEL_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "model/format.h"

typedef struct {
    char     name[CTM_NAME_LEN];
    uint32_t rank;
    uint32_t dims[CTM_MAX_RANK];
} ct_tensor_spec;

/* The float tensors of cfg's architecture in PyTorch state_dict order
 * (BatchNorm running_mean/var included, num_batches_tracked excluded).
 * *specs is malloc'd; the caller frees it. Fails with CT_E_UNSUPPORTED
 * naming the field when cfg describes no architecture ctinfer runs. */
ct_status ct_arch_tensors(const ctm_config *cfg, ct_tensor_spec **specs, size_t *count,
                          ct_error *err);

/* Fills everything but the architecture fields (task, backbone_depth,
 * truncation, num_classes and the widths, which the caller sets first) with
 * the authors' test-time settings for cfg->task (spec §11): anchors, ImageNet
 * mean/std, 512/1024/32, RPN 1000/1000/0.75, and box score/NMS thresholds,
 * D, mask threshold, class names per task. */
void ct_arch_defaults(ctm_config *cfg);

/* Checks that have[0, count) (any order) is exactly cfg's tensor set with the
 * same shapes; fails with CT_E_FORMAT naming the first missing, misshapen,
 * duplicated or unexpected tensor. When order is not NULL, order[i] receives
 * the index in `have` of the i-th tensor in state_dict order. */
ct_status ct_arch_match(const ctm_config *cfg, const ct_tensor_spec *have, size_t count,
                        size_t *order, ct_error *err);

#endif

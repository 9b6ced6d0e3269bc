/* The model config of a checkpoint: architecture inferred from its tensor
 * names and shapes, anchors from its pickled generator, the authors'
 * test-time defaults (spec §11), then the user's overrides. */
#ifndef CT_CONVERT_INFER_H
#define CT_CONVERT_INFER_H

#include "checkpoint.h"
#include "model/format.h"

#define CT_MAX_NOTES 4

/* What the user gave on the command line; NaN / 0 / -1 mean "not given". */
typedef struct {
    int task;                                  /* CTM_TASK_*, or -1 to infer */
    double score_thresh, nms_thresh, rpn_nms_thresh, mask_thresh;   /* NaN: default */
    uint32_t detections, rpn_pre_nms_top_n, rpn_post_nms_top_n, min_size, max_size;  /* 0: default */
    uint32_t num_class_names;                  /* 0: default names */
    char class_names[CTM_MAX_CLASSES][CTM_CLASS_NAME_LEN];
    uint32_t num_anchor_sizes, num_aspect_ratios;   /* 0: from the checkpoint or default */
    float anchor_sizes[CTM_MAX_ANCHORS], aspect_ratios[CTM_MAX_ANCHORS];
} ct_convert_options;

/* Things the user should know that are not errors (e.g. defaulted anchors). */
typedef struct {
    int count;
    char text[CT_MAX_NOTES][256];
} ct_convert_notes;

void ct_convert_options_init(ct_convert_options *opt);

/* Fills *cfg (fully: every byte is set) for ck under opt. */
ct_status ct_infer_config(const ct_checkpoint *ck, const ct_convert_options *opt, ctm_config *cfg,
                          ct_convert_notes *notes, ct_error *err);

/* Checks ck's tensors against cfg's architecture; order[i] (of the
 * architecture's tensor count, NULL allowed) receives the checkpoint index of
 * the i-th tensor of the model file. */
ct_status ct_infer_check_tensors(const ct_checkpoint *ck, const ctm_config *cfg, size_t *order,
                                 ct_error *err);

#endif

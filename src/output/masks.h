/* Per-pixel views of a segmentation result's pasted mask logits
 * ([D, H, W] in the original image frame): the union mask, which detection
 * owns each pixel, and the raw score map. */
#ifndef CT_OUTPUT_MASKS_H
#define CT_OUTPUT_MASKS_H

#include <stdint.h>

#include "ctinfer.h"
#include "output/canvas.h"

/* union_mask[i] = 255 where any detection's logit > thresh (compared in
 * float32), else 0. union_mask: [mask_height * mask_width]. */
void ct_mask_union(const ct_result *res, float thresh, uint8_t *union_mask);

/* owner[i] = the first (highest-scoring) detection whose logit > thresh at
 * pixel i, or -1. owner: [mask_height * mask_width]. */
void ct_mask_owner(const ct_result *res, float thresh, int *owner);

/* The combined raw mask score map (the paper's Figure 2, column 2), a canvas
 * of the mask size: each pixel is viridis(max over detections of
 * sigmoid(logit)), taking only the detections whose pasted window covers the
 * pixel (logit != 0; the paste leaves exactly 0 outside it); pixels no
 * detection covers are black. */
ct_status ct_render_scoremap(const ct_result *res, ct_canvas *out, ct_error *err);

#endif

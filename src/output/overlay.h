/* The overlay picture: what the model found, drawn over the slice it saw. */
#ifndef CT_OUTPUT_OVERLAY_H
#define CT_OUTPUT_OVERLAY_H

#include <stdint.h>

#include "ctinfer.h"
#include "output/canvas.h"

typedef struct {
    int width, height, channels;     /* the slice: 8-bit gray (1) or RGB (3) */
    const uint8_t *pixels;           /* [height, width, channels] */
    const ct_model_info *model;
    const ct_result *result;         /* of this slice (masks in its frame) */
    float mask_thresh;               /* mask logits > this are drawn */
} ct_overlay_input;

#define CT_OVERLAY_TINT_ALPHA 115    /* of 256: how strongly a mask tints the slice */
#define CT_OVERLAY_MAX_REGIONS 5     /* classifier: distinct top-scoring regions drawn */

/* Style sizes, growing with the slice: labels use the font at
 * ct_overlay_scale(w, h) (1 below 400 px, 2 below 800, ...) and outlines are
 * min(scale, 2) pixels wide. */
int ct_overlay_scale(int width, int height);

/* Draws the overlay of one slice:
 * - segmentation: a canvas of the slice size; every pixel whose logit >
 *   mask_thresh for some detection is tinted, out = blend(slice, colour,
 *   CT_OVERLAY_TINT_ALPHA) (ct_blend_channel), with the colour
 *   ct_palette(d) of the highest-scoring such detection d, and drawn in
 *   that colour unblended where it borders a pixel d does not own; then each
 *   detection's box outline and a label with its score (prefixed by an
 *   abbreviation of its class when the model has more than one lesion
 *   class), lowest score first so the best ends on top;
 * - classifier: the slice with the boxes and scores of the
 *   CT_OVERLAY_MAX_REGIONS best distinct ranked regions, above a strip with
 *   a bar per image class (name, probability bar, value; the predicted
 *   class in white, the others in grey); the canvas is at least as wide as
 *   the strip needs, the slice at its top-left corner.
 * Everything else keeps the slice's pixels. */
ct_status ct_render_overlay(const ct_overlay_input *in, ct_canvas *out, ct_error *err);

#endif

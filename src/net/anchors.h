/* Anchor generation (spec §5): the base (cell) anchors and their grid. */
#ifndef CT_NET_ANCHORS_H
#define CT_NET_ANCHORS_H

#include "model/format.h"

/* base [A,4] with A = num_aspect_ratios * num_anchor_sizes, ratio-major:
 * index a = r * num_sizes + s; rounded half to even in float32. */
void ct_base_anchors(const ctm_config *cfg, float *base);

/* anchors [gh*gw*A, 4], location-major then anchor: box (i*gw + j)*A + a is
 * base[a] shifted by (j*stride_w, i*stride_h). */
void ct_grid_anchors(const float *base, int num_anchors, int gh, int gw,
                     float stride_h, float stride_w, float *anchors);

#endif

/* Anchors as the authors' AnchorGenerator makes them: float32 arithmetic,
 * torch.round (half to even), grid origins without a half-stride offset. */
#include "net/anchors.h"

#include <math.h>
#include <stddef.h>

void ct_base_anchors(const ctm_config *cfg, float *base) {
    int ns = (int)cfg->num_anchor_sizes, nr = (int)cfg->num_aspect_ratios;
    for (int r = 0; r < nr; r++) {
        float h_ratio = sqrtf(cfg->aspect_ratios[r]);
        float w_ratio = 1.0f / h_ratio;
        for (int s = 0; s < ns; s++) {
            float ws = w_ratio * cfg->anchor_sizes[s];
            float hs = h_ratio * cfg->anchor_sizes[s];
            float *b = base + 4 * (r * ns + s);
            /* rintf rounds half to even in the default rounding mode, as torch.round. */
            b[0] = rintf(-ws / 2.0f);
            b[1] = rintf(-hs / 2.0f);
            b[2] = rintf(ws / 2.0f);
            b[3] = rintf(hs / 2.0f);
        }
    }
}

void ct_grid_anchors(const float *base, int num_anchors, int gh, int gw,
                     float stride_h, float stride_w, float *anchors) {
    for (int i = 0; i < gh; i++) {
        float y = (float)i * stride_h;
        for (int j = 0; j < gw; j++) {
            float x = (float)j * stride_w;
            float *out = anchors + 4 * (size_t)(i * gw + j) * num_anchors;
            for (int a = 0; a < num_anchors; a++) {
                out[4 * a + 0] = x + base[4 * a + 0];
                out[4 * a + 1] = y + base[4 * a + 1];
                out[4 * a + 2] = x + base[4 * a + 2];
                out[4 * a + 3] = y + base[4 * a + 3];
            }
        }
    }
}

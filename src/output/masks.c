/* Union mask, mask ownership and the score map (see masks.h). */
#include "output/masks.h"

#include <math.h>

static size_t plane_size(const ct_result *res) { return (size_t)res->mask_height * (size_t)res->mask_width; }

void ct_mask_union(const ct_result *res, float thresh, uint8_t *union_mask) {
    size_t plane = plane_size(res);
    for (size_t i = 0; i < plane; i++) union_mask[i] = 0;
    for (int d = 0; d < res->num_detections; d++) {
        const float *logits = res->masks + (size_t)d * plane;   /* [H, W] */
        for (size_t i = 0; i < plane; i++)
            if (logits[i] > thresh) union_mask[i] = 255;
    }
}

void ct_mask_owner(const ct_result *res, float thresh, int *owner) {
    size_t plane = plane_size(res);
    for (size_t i = 0; i < plane; i++) owner[i] = -1;
    for (int d = res->num_detections - 1; d >= 0; d--) {
        const float *logits = res->masks + (size_t)d * plane;   /* [H, W] */
        for (size_t i = 0; i < plane; i++)
            if (logits[i] > thresh) owner[i] = d;
    }
}

/* Max over the covering detections of sigmoid(logit) at pixel i, or -1. */
static float max_score(const ct_result *res, size_t plane, size_t i) {
    float best = -1.0f;
    for (int d = 0; d < res->num_detections; d++) {
        float logit = res->masks[(size_t)d * plane + i];
        if (logit == 0.0f) continue;
        float p = 1.0f / (1.0f + expf(-logit));
        if (p > best) best = p;
    }
    return best;
}

ct_status ct_render_scoremap(const ct_result *res, ct_canvas *out, ct_error *err) {
    ct_status st = ct_canvas_new(out, res->mask_width, res->mask_height, (ct_rgb){0, 0, 0}, err);
    if (st != CT_OK) return st;
    size_t plane = plane_size(res);
    for (size_t i = 0; i < plane; i++) {
        float p = max_score(res, plane, i);
        if (p >= 0.0f)
            ct_canvas_set(out, (int)(i % (size_t)res->mask_width), (int)(i / (size_t)res->mask_width), ct_viridis(p));
    }
    return CT_OK;
}

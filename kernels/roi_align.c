/* RoIAlign exactly as torchvision 0.14's CPU kernel with aligned=False (spec
 * §7.1): same float operations in the same order, so results are bit-equal.
 * Loops run bin by bin with the channels innermost, so each sample's
 * bilinear weights are computed once and no buffer is needed. */
#include "roi_align.h"

#include <math.h>
#include <stddef.h>

/* Cap on the adaptive sampling grid (sampling_ratio <= 0) per bin side, so an
 * absurd box cannot make a near-endless loop; torchvision has no cap. Only
 * RoIs over 64 bins' worth of feature pixels per side are affected (the
 * pipeline always uses sampling_ratio 2). */
enum { ROI_ALIGN_MAX_GRID = 64 };

/* The four taps of one bilinear sample: offsets into a [h,w] plane and their
 * weights. A sample outside the map has all weights 0 at offset 0, as in
 * torchvision (its taps still read element 0). */
typedef struct {
    ptrdiff_t pos[4];
    float w[4];
} roi_sample;

/* One axis of a sample: the clamped coordinate's low and high index and the
 * fractional part, with torchvision's rule for the last row/column. */
static void sample_axis(float v, int size, int *lo, int *hi, float *frac) {
    if (v <= 0) v = 0;
    *lo = (int)v;
    if (*lo >= size - 1) {
        *lo = *hi = size - 1;
        v = (float)*lo;
    } else {
        *hi = *lo + 1;
    }
    *frac = v - (float)*lo;
}

static roi_sample bilinear_sample(float y, float x, int h, int w) {
    roi_sample s = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    /* Written negated so that NaN coordinates also count as outside. */
    if (!(y >= -1.0f && y <= (float)h && x >= -1.0f && x <= (float)w)) return s;
    int y0, y1, x0, x1;
    float ly, lx;
    sample_axis(y, h, &y0, &y1, &ly);
    sample_axis(x, w, &x0, &x1, &lx);
    float hy = 1.0f - ly, hx = 1.0f - lx;
    s.pos[0] = (ptrdiff_t)y0 * w + x0;
    s.pos[1] = (ptrdiff_t)y0 * w + x1;
    s.pos[2] = (ptrdiff_t)y1 * w + x0;
    s.pos[3] = (ptrdiff_t)y1 * w + x1;
    s.w[0] = hy * hx;
    s.w[1] = hy * lx;
    s.w[2] = ly * hx;
    s.w[3] = ly * lx;
    return s;
}

static int grid_size(int sampling_ratio, float roi_size, int out_size) {
    if (sampling_ratio > 0) return sampling_ratio;
    float g = ceilf(roi_size / (float)out_size);
    if (!(g >= 1.0f)) return 1;
    return g > ROI_ALIGN_MAX_GRID ? ROI_ALIGN_MAX_GRID : (int)g;
}

/* Output bins of one RoI: out [c, out_h, out_w]. */
static void roi_align_one(const float *feat, int c, int h, int w, const float box[4],
                          float scale, int out_h, int out_w, int sampling_ratio, float *out) {
    float x1 = box[0] * scale, y1 = box[1] * scale, x2 = box[2] * scale, y2 = box[3] * scale;
    float roi_w = x2 - x1, roi_h = y2 - y1;
    if (roi_w < 1.0f) roi_w = 1.0f;
    if (roi_h < 1.0f) roi_h = 1.0f;
    float bin_h = roi_h / (float)out_h, bin_w = roi_w / (float)out_w;
    int grid_h = grid_size(sampling_ratio, roi_h, out_h), grid_w = grid_size(sampling_ratio, roi_w, out_w);
    float count = (float)(grid_h * grid_w);
    size_t plane = (size_t)h * w, bins = (size_t)out_h * out_w;
    for (int ph = 0; ph < out_h; ph++)
        for (int pw = 0; pw < out_w; pw++) {
            float *o = out + (size_t)ph * out_w + pw;   /* channel ch at o[ch*bins] */
            for (int ch = 0; ch < c; ch++) o[ch * bins] = 0.0f;
            for (int iy = 0; iy < grid_h; iy++) {
                float y = y1 + (float)ph * bin_h + (float)(iy + 0.5f) * bin_h / (float)grid_h;
                for (int ix = 0; ix < grid_w; ix++) {
                    float x = x1 + (float)pw * bin_w + (float)(ix + 0.5f) * bin_w / (float)grid_w;
                    roi_sample s = bilinear_sample(y, x, h, w);
                    for (int ch = 0; ch < c; ch++) {
                        const float *f = feat + ch * plane;
                        o[ch * bins] += s.w[0] * f[s.pos[0]] + s.w[1] * f[s.pos[1]] +
                                        s.w[2] * f[s.pos[2]] + s.w[3] * f[s.pos[3]];
                    }
                }
            }
            for (int ch = 0; ch < c; ch++) o[ch * bins] /= count;
        }
}

void ct_roi_align(const float *feat, int c, int h, int w,
                  const float *boxes, int n, float spatial_scale,
                  int out_h, int out_w, int sampling_ratio, float *out) {
    if (c <= 0 || out_h <= 0 || out_w <= 0) return;
    size_t per_roi = (size_t)c * out_h * out_w;
    for (int r = 0; r < n; r++) {
        float *o = out + r * per_roi;
        if (h <= 0 || w <= 0) {
            for (size_t i = 0; i < per_roi; i++) o[i] = 0.0f;
            continue;
        }
        roi_align_one(feat, c, h, w, boxes + 4 * (size_t)r, spatial_scale, out_h, out_w,
                      sampling_ratio, o);
    }
}

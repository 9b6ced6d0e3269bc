/* Bilinear resampling (align_corners=False) with torch 1.13's CPU weights,
 * for the input resize and for mask pasting (paste_masks_in_image with
 * padding 1, spec §9). The paste computes only the part of the resized mask
 * that lands inside the image. */
#include "resize.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Output columns whose source indices and weights are computed at once. */
enum { RESIZE_COLUMN_CHUNK = 256 };

/* Source taps and weights of one output index along one axis. */
typedef struct {
    int lo, hi;
    float l0, l1;
} axis_tap;

/* torch's compute_source_index_and_lambda: an identity when the sizes agree,
 * otherwise src = (double)scale*(d + 0.5) - 0.5 clamped at 0. */
static axis_tap axis_tap_at(int in, int out, float scale, int64_t d) {
    axis_tap t;
    if (in == out) {
        t.lo = t.hi = (int)d;
        t.l0 = 1.0f;
        t.l1 = 0.0f;
        return t;
    }
    double src = (double)scale * ((double)d + 0.5) - 0.5;
    if (src < 0) src = 0;
    int64_t lo = (int64_t)src;
    if (lo > in - 1) lo = in - 1;   /* reachable only with a mismatched explicit scale */
    t.lo = (int)lo;
    t.hi = lo < in - 1 ? t.lo + 1 : t.lo;
    t.l1 = (float)(src - (double)lo);
    t.l0 = 1.0f - t.l1;
    return t;
}

/* scale = (float)in/out, or (float)(1/scale_factor) when one is given. */
static float axis_scale(int in, int out, double scale_factor) {
    return scale_factor > 0 ? (float)(1.0 / scale_factor) : (float)in / (float)out;
}

typedef struct {
    const float *src;       /* [hs,ws] */
    int hs, ws;
    int out_h, out_w;       /* size of the whole resampled map */
    float scale_h, scale_w;
} resample_plane;

/* Writes rows [y0,y1) x columns [x0,x1) of the resampled map to dst, whose
 * element (y0,x0) it points at, rows ld floats apart. */
static void resample_region(const resample_plane *p, int64_t y0, int64_t y1, int64_t x0, int64_t x1,
                            float *dst, ptrdiff_t ld) {
    axis_tap cols[RESIZE_COLUMN_CHUNK];
    for (int64_t c0 = x0; c0 < x1; c0 += RESIZE_COLUMN_CHUNK) {
        int n = x1 - c0 < RESIZE_COLUMN_CHUNK ? (int)(x1 - c0) : RESIZE_COLUMN_CHUNK;
        for (int i = 0; i < n; i++) cols[i] = axis_tap_at(p->ws, p->out_w, p->scale_w, c0 + i);
        for (int64_t y = y0; y < y1; y++) {
            axis_tap ty = axis_tap_at(p->hs, p->out_h, p->scale_h, y);
            const float *r0 = p->src + (ptrdiff_t)ty.lo * p->ws, *r1 = p->src + (ptrdiff_t)ty.hi * p->ws;
            float *d = dst + (y - y0) * ld + (c0 - x0);
            for (int i = 0; i < n; i++) {
                axis_tap tx = cols[i];
                d[i] = ty.l0 * (tx.l0 * r0[tx.lo] + tx.l1 * r0[tx.hi]) +
                       ty.l1 * (tx.l0 * r1[tx.lo] + tx.l1 * r1[tx.hi]);
            }
        }
    }
}

void ct_resize_bilinear(const float *src, int c, int hs, int ws,
                        float *dst, int hd, int wd, double scale_h, double scale_w) {
    if (hs <= 0 || ws <= 0 || hd <= 0 || wd <= 0) return;
    for (int ch = 0; ch < c; ch++) {
        resample_plane p = {src + (size_t)ch * hs * ws, hs, ws, hd, wd,
                            axis_scale(hs, hd, scale_h), axis_scale(ws, wd, scale_w)};
        resample_region(&p, 0, hd, 0, wd, dst + (size_t)ch * hd * wd, wd);
    }
}

/* The expanded box in whole pixels: expand_boxes with scale (m+2)/m about the
 * centre in float32, then .to(int64) (truncation). Returns 0 for a box whose
 * coordinates are not finite (nothing is pasted then); others are held to
 * +-2^29 so that sizes stay within int. */
static int paste_box(const float box[4], int m, int64_t out[4]) {
    float scale = (float)((double)(m + 2) / m);
    float w_half = (box[2] - box[0]) * 0.5f * scale, h_half = (box[3] - box[1]) * 0.5f * scale;
    float x_c = (box[2] + box[0]) * 0.5f, y_c = (box[3] + box[1]) * 0.5f;
    float e[4] = {x_c - w_half, y_c - h_half, x_c + w_half, y_c + h_half};
    for (int k = 0; k < 4; k++) {
        if (!isfinite(e[k])) return 0;
        float limit = 536870912.0f;
        out[k] = (int64_t)(e[k] < -limit ? -limit : e[k] > limit ? limit : e[k]);
    }
    return 1;
}

size_t ct_paste_scratch_floats(int m, const float box[4], int H, int W) {
    (void)box, (void)H, (void)W;
    return m > 0 ? (size_t)(m + 2) * (size_t)(m + 2) : 0;
}

void ct_paste_mask(const float *mask, int m, const float box[4], int H, int W,
                   float *canvas, float *scratch) {
    if (H <= 0 || W <= 0) return;
    int64_t b[4];
    if (m <= 0 || !paste_box(box, m, b)) return;
    int mp = m + 2;
    float *padded = scratch;   /* [m+2, m+2]: mask with a ring of zeros */
    for (int y = 0; y < mp; y++)
        for (int x = 0; x < mp; x++)
            padded[y * mp + x] = y >= 1 && y <= m && x >= 1 && x <= m ? mask[(y - 1) * m + (x - 1)] : 0.0f;
    int64_t w = b[2] - b[0] + 1 > 1 ? b[2] - b[0] + 1 : 1, h = b[3] - b[1] + 1 > 1 ? b[3] - b[1] + 1 : 1;
    int64_t x0 = b[0] > 0 ? b[0] : 0, x1 = b[2] + 1 < W ? b[2] + 1 : W;
    int64_t y0 = b[1] > 0 ? b[1] : 0, y1 = b[3] + 1 < H ? b[3] + 1 : H;
    if (x0 >= x1 || y0 >= y1) return;
    resample_plane p = {padded, mp, mp, (int)h, (int)w, (float)mp / (float)h, (float)mp / (float)w};
    resample_region(&p, y0 - b[1], y1 - b[1], x0 - b[0], x1 - b[0], canvas + y0 * W + x0, W);
}

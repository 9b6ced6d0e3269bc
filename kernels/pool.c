/* Max pooling as PyTorch's MaxPool2d (floor mode, no dilation): the window is
 * cut to the image, which is what -inf padding means, and a NaN wins. One
 * task per channel. The stem's 3x3 stride-2 window over the interior runs
 * four outputs at a time, each lane scanning its window in the same order as
 * the scalar code, so the results are identical. */
#include "conv.h"

#include <math.h>

#include "simd.h"

typedef struct {
    const float *x;         /* [c,h,w] */
    int h, w, k, stride, pad, ho, wo;
    float *y;               /* [c,ho,wo] */
} maxpool_job;

/* The scalar rule: take v when it is larger or NaN. */
static float take_max(float m, float v) { return v > m || isnan(v) ? v : m; }

static ct_vec4 take_max4(ct_vec4 m, ct_vec4 v) { return ct_select4((v > m) | (v != v), v, m); }

static float window_max(const maxpool_job *j, const float *xc, int oy, int ox) {
    int y0 = oy * j->stride - j->pad, y1 = y0 + j->k < j->h ? y0 + j->k : j->h;
    int x0 = ox * j->stride - j->pad, x1 = x0 + j->k < j->w ? x0 + j->k : j->w;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    float m = -INFINITY;
    for (int iy = y0; iy < y1; iy++)
        for (int ix = x0; ix < x1; ix++) m = take_max(m, xc[(size_t)iy * j->w + ix]);
    return m;
}

/* Elements s[0], s[2], s[4], s[6] (reads s[0..7]). */
static ct_vec4 even_lanes(const float *s) { return CT_SHUFFLE4(ct_load4(s), ct_load4(s + 4), 0, 2, 4, 6); }

/* Outputs [ox, ox+4) of row oy for a 3x3 stride-2 window inside the image. */
static void window_max_3x3s2(const maxpool_job *j, const float *xc, int oy, int ox, float *out) {
    int y0 = oy * 2 - j->pad, y1 = y0 + 3 < j->h ? y0 + 3 : j->h;
    if (y0 < 0) y0 = 0;
    ct_vec4 m = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    for (int iy = y0; iy < y1; iy++) {
        const float *row = xc + (size_t)iy * j->w + ox * 2 - j->pad;
        for (int t = 0; t < 3; t++) m = take_max4(m, even_lanes(row + t));
    }
    ct_store4(out, m);
}

static void maxpool_channel(void *arg, int ch, int thread) {
    (void)thread;
    const maxpool_job *j = arg;
    const float *xc = j->x + (size_t)ch * j->h * j->w;   /* [h,w] */
    float *yc = j->y + (size_t)ch * j->ho * j->wo;        /* [ho,wo] */
    int fast = j->k == 3 && j->stride == 2;
    for (int oy = 0; oy < j->ho; oy++) {
        float *out = yc + (size_t)oy * j->wo;
        for (int ox = 0; ox < j->wo;) {
            /* Four windows wholly inside the row: columns 2ox-pad .. 2(ox+3)-pad+2,
             * and the vector loads read one column further. */
            if (fast && ox * 2 - j->pad >= 0 && (ox + 3) * 2 - j->pad + 3 < j->w) {
                window_max_3x3s2(j, xc, oy, ox, out + ox);
                ox += 4;
            } else {
                out[ox] = window_max(j, xc, oy, ox);
                ox++;
            }
        }
    }
}

void ct_maxpool2d(ct_pool *pool, const float *x, int c, int h, int w, int k, int stride, int pad, float *y) {
    maxpool_job j = {x, h, w, k, stride, pad, ct_conv_out_size(h, k, stride, pad), ct_conv_out_size(w, k, stride, pad), y};
    ct_pool_run(pool, c, maxpool_channel, &j);
}

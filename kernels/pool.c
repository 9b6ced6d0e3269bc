/* Max pooling as PyTorch's MaxPool2d (floor mode, no dilation): the window is
 * cut to the image, which is what -inf padding means, and a NaN wins. One
 * task per channel; the stem's 3x3 stride-2 window in two passes (below). */
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

/* The 3x3 stride-2 window, separably: over a run of output columns, each
 * input column's maximum down the window's rows (rows in order), then each
 * output the maximum of its three columns (left to right), four at a time.
 * The value is the scalar scan's (the largest, or a NaN if the window has
 * one); of two equal zeros or two NaNs it may keep the other one. */
enum { RUN_OUTPUTS = 128 };

/* Columns' maxima of rows [y0, y1) for input columns x0 + i, i < n, into
 * col[i]; -inf for columns outside the map (the padding, which never wins). */
static void column_max(const maxpool_job *j, const float *xc, int y0, int y1, int x0, int n, float *col) {
    int i = 0;
    for (; i < n && x0 + i < 0; i++) col[i] = -INFINITY;
    int inside = x0 + n <= j->w ? n : j->w - x0;
    if (y0 >= y1) inside = i;   /* no rows: all -inf */
    for (; i + 4 <= inside; i += 4) {
        ct_vec4 m = ct_load4(xc + (size_t)y0 * j->w + x0 + i);
        for (int iy = y0 + 1; iy < y1; iy++) m = take_max4(m, ct_load4(xc + (size_t)iy * j->w + x0 + i));
        ct_store4(col + i, m);
    }
    for (; i < inside; i++) {
        float m = xc[(size_t)y0 * j->w + x0 + i];
        for (int iy = y0 + 1; iy < y1; iy++) m = take_max(m, xc[(size_t)iy * j->w + x0 + i]);
        col[i] = m;
    }
    for (; i < n; i++) col[i] = -INFINITY;
}

/* Outputs [ox0, ox0+n) of row oy, n <= RUN_OUTPUTS. */
static void run_3x3s2(const maxpool_job *j, const float *xc, int oy, int ox0, int n, float *out) {
    float col[2 * RUN_OUTPUTS + 10];   /* input columns 2*ox0 - pad + i, as far as the last step reads */
    int y0 = oy * 2 - j->pad, y1 = y0 + 3 < j->h ? y0 + 3 : j->h;
    if (y0 < 0) y0 = 0;
    column_max(j, xc, y0, y1, 2 * ox0 - j->pad, 2 * n + 10, col);
    for (int t = 0; t < n; t += 4) {   /* output ox0+t+i: columns 2(t+i) .. 2(t+i)+2 */
        ct_vec4 a = ct_load4(col + 2 * t), b = ct_load4(col + 2 * t + 4), c = ct_load4(col + 2 * t + 8);
        ct_vec4 left = CT_SHUFFLE4(a, b, 0, 2, 4, 6), mid = CT_SHUFFLE4(a, b, 1, 3, 5, 7);
        ct_vec4 m = take_max4(take_max4(left, mid), CT_SHUFFLE4(left, c, 1, 2, 3, 4));
        if (n - t >= 4) ct_store4(out + t, m);
        else
            for (int i = 0; i < n - t; i++) out[t + i] = m[i];
    }
}

static void maxpool_channel(void *arg, int ch, int thread) {
    (void)thread;
    const maxpool_job *j = arg;
    const float *xc = j->x + (size_t)ch * j->h * j->w;   /* [h,w] */
    float *yc = j->y + (size_t)ch * j->ho * j->wo;        /* [ho,wo] */
    for (int oy = 0; oy < j->ho; oy++) {
        float *out = yc + (size_t)oy * j->wo;
        if (j->k == 3 && j->stride == 2)
            for (int ox = 0; ox < j->wo; ox += RUN_OUTPUTS)
                run_3x3s2(j, xc, oy, ox, j->wo - ox < RUN_OUTPUTS ? j->wo - ox : RUN_OUTPUTS, out + ox);
        else
            for (int ox = 0; ox < j->wo; ox++) out[ox] = window_max(j, xc, oy, ox);
    }
}

void ct_maxpool2d(ct_pool *pool, const float *x, int c, int h, int w, int k, int stride, int pad, float *y) {
    maxpool_job j = {x, h, w, k, stride, pad, ct_conv_out_size(h, k, stride, pad), ct_conv_out_size(w, k, stride, pad), y};
    ct_pool_run(pool, c, maxpool_channel, &j);
}

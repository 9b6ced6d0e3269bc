/* 2-D convolution as GEMM: packed weights [cout, cin*kh*kw] times the input
 * patches, which are unrolled (im2col) straight into the GEMM's B panels,
 * one micro-panel at a time, by the thread that then uses them: no column
 * buffer. A panel whose taps all fall inside the map is a run of fixed-size
 * copies; panels at the edges go run by run with the zero padding. A 1x1
 * stride-1 unpadded conv on one image multiplies the input directly. Bias,
 * residual and ReLU ride on the GEMM epilogue. (3x3 stride-1 convolutions
 * have a faster route: winograd.h.) */
#include "conv.h"

#include "simd.h"

enum { NR = CT_GEMM_NR };

int ct_conv_out_size(int in, int k, int stride, int pad) {
    if (in <= 0 || k <= 0 || stride <= 0 || pad < 0 || in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / stride + 1;
}

static int patch_size(const ct_conv_params *p) { return p->cin * p->kh * p->kw; }

size_t ct_conv_packed_floats(const ct_conv_params *p) { return ct_gemm_packed_a_floats(p->cout, patch_size(p)); }

void ct_conv_pack_weight(const ct_conv_params *p, const float *weight, const float *scale, float *dst) {
    int k = patch_size(p);
    ct_gemm_pack_a(p->cout, k, weight, k, 1, scale, dst);
}

/* ---- the im2col panel provider ----------------------------------------- */

typedef struct {
    const ct_conv_params *p;
    int ho, wo;
    ptrdiff_t image_stride, channel_stride;   /* in x */
} conv_geometry;

/* Consecutive output columns of one panel that lie in one output row. */
typedef struct {
    int slot, len;          /* first column's place in the panel row, count */
    int iy0, ix0;           /* input position of tap (0,0) for the first column */
    ptrdiff_t image;        /* offset of the run's image in x */
} col_run;

/* Splits panel columns [n0, n0+cols) into runs; returns their count. */
static int panel_runs(const conv_geometry *g, int n0, int cols, col_run *runs) {
    const ct_conv_params *p = g->p;
    int hw = g->ho * g->wo, count = 0;
    for (int j = 0; j < cols;) {
        int n = n0 + j, img = n / hw, oy = n % hw / g->wo, ox = n % g->wo;
        int len = g->wo - ox < cols - j ? g->wo - ox : cols - j;
        runs[count++] = (col_run){j, len, oy * p->stride - p->pad, ox * p->stride - p->pad, img * g->image_stride};
        j += len;
    }
    return count;
}

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Short copies inline, eight floats per fixed-size move (libc calls would
 * cost more than the few dozen floats of a run). */
static void copy_floats(float *dst, const float *src, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) __builtin_memcpy(dst + i, src + i, 8 * sizeof *dst);
    for (; i < n; i++) dst[i] = src[i];
}

static void zero_floats(float *dst, int n) {
    for (int i = 0; i < n; i++) dst[i] = 0.0f;
}

/* dst[t] = src[2t] for t < n, four at a time by picking the even lanes of
 * two vectors (which read src[2t+7]: the steps stop while that is still
 * before src[2n-2], the last element needed); the last four then come from
 * the odd lanes of the eight floats ending at src[2n-2]. */
static inline void copy_even_floats(float *dst, const float *src, int n) {
    if (n < 5) {
        for (int t = 0; t < n; t++) dst[t] = src[(ptrdiff_t)t * 2];
        return;
    }
    for (int t = 0; t + 4 < n; t += 4)
        ct_store4(dst + t, CT_SHUFFLE4(ct_load4(src + 2 * t), ct_load4(src + 2 * t + 4), 0, 2, 4, 6));
    int last = n - 4;
    ct_store4(dst + last, CT_SHUFFLE4(ct_load4(src + 2 * last - 1), ct_load4(src + 2 * last + 3), 1, 3, 5, 7));
}

/* n pixels `stride` apart from src into dst; a whole panel row (one run of
 * NR) as a fixed-size move. */
static inline void copy_run(float *dst, const float *src, int n, int stride) {
    if (stride == 1 && n == NR) __builtin_memcpy(dst, src, NR * sizeof *dst);
    else if (stride == 1) copy_floats(dst, src, n);
    else if (stride == 2) copy_even_floats(dst, src, n);
    else
        for (int t = 0; t < n; t++) dst[t] = src[(ptrdiff_t)t * stride];
}

/* Columns t of a run with 0 <= ix + t*s < w: [*lo, *hi), clamped to [0, len].
 * Divisions only at the image's edges. */
static void valid_columns(int ix, int s, int w, int len, int *lo, int *hi) {
    *lo = ix >= 0 ? 0 : clamp_int((-ix + s - 1) / s, 0, len);
    *hi = ix + (len - 1) * s < w ? len : ix < w ? clamp_int((w - 1 - ix) / s + 1, *lo, len) : *lo;
}

/* One run of one B row: the pixels tap (ky, kx) of channel plane `plane`
 * reads for the run's columns, 0 in the padding. */
static inline void fill_run(const ct_conv_params *p, const col_run *r, const float *plane, int ky, int kx,
                            float *dst) {
    int iy = r->iy0 + ky, ix = r->ix0 + kx, s = p->stride, len = r->len, lo, hi;
    if (iy < 0 || iy >= p->h) {
        zero_floats(dst, len);
        return;
    }
    valid_columns(ix, s, p->w, len, &lo, &hi);
    const float *src = plane + r->image + (ptrdiff_t)iy * p->w + ix;
    zero_floats(dst, lo);
    copy_run(dst + lo, src + (ptrdiff_t)lo * s, hi - lo, s);
    zero_floats(dst + hi, len - hi);
}

/* A full panel all of whose taps lie inside the image (most panels of a
 * wide map, including those that wrap from one output row to the next):
 * row k of the panel is, run by run, input pixels `stride` apart from an
 * offset that steps with (c, ky, kx) alike for every run. */
static int panel_is_interior(const ct_conv_params *p, const col_run *runs, int nruns, int cols) {
    if (cols != NR) return 0;
    for (int r = 0; r < nruns; r++)
        if (runs[r].iy0 < 0 || runs[r].iy0 + p->kh > p->h || runs[r].ix0 < 0 ||
            runs[r].ix0 + (runs[r].len - 1) * p->stride + p->kw > p->w)
            return 0;
    return 1;
}

static void pack_interior(const conv_geometry *g, const float *x, const col_run *runs, int nruns, int k0, int kc,
                          float *dst) {
    const ct_conv_params *p = g->p;
    int taps = p->kh * p->kw, ky = k0 % taps / p->kw, kx = k0 % p->kw;
    const float *base[NR];   /* [run]: tap (0,0) of channel 0 for the run's first column */
    for (int r = 0; r < nruns; r++) base[r] = x + runs[r].image + (ptrdiff_t)runs[r].iy0 * p->w + runs[r].ix0;
    ptrdiff_t off = (k0 / taps) * g->channel_stride + (ptrdiff_t)ky * p->w + kx;   /* of tap (c, ky, kx) */
    for (int k = 0; k < kc; k++, dst += NR) {
        for (int r = 0; r < nruns; r++) copy_run(dst + runs[r].slot, base[r] + off, runs[r].len, p->stride);
        off++;
        if (++kx == p->kw) {
            kx = 0;
            off += p->w - p->kw;
            if (++ky == p->kh) ky = 0, off += g->channel_stride - (ptrdiff_t)p->kh * p->w;
        }
    }
}

/* Any panel: run by run, with the padding and the edges of the map. */
static void pack_general(const conv_geometry *g, const float *x, const col_run *runs, int nruns, int cols,
                         int k0, int kc, float *dst) {
    const ct_conv_params *p = g->p;
    int taps = p->kh * p->kw, c = k0 / taps, ky = k0 % taps / p->kw, kx = k0 % p->kw;
    for (int k = 0; k < kc; k++, dst += NR) {
        const float *plane = x + c * g->channel_stride;
        for (int r = 0; r < nruns; r++) fill_run(p, &runs[r], plane, ky, kx, dst + runs[r].slot);
        zero_floats(dst + cols, NR - cols);
        if (++kx == p->kw) {
            kx = 0;
            if (++ky == p->kh) ky = 0, c++;
        }
    }
}

static const float *im2col_panels(const ct_gemm_b *b, int k0, int kc, int n0, int nc, float *buf,
                                  ptrdiff_t *panel_stride) {
    const conv_geometry *g = b->ctx;
    col_run runs[NR];
    *panel_stride = (ptrdiff_t)kc * NR;
    for (int q = 0; q * NR < nc; q++) {
        int cols = nc - q * NR < NR ? nc - q * NR : NR, nruns = panel_runs(g, n0 + q * NR, cols, runs);
        float *dst = buf + q * *panel_stride;
        if (panel_is_interior(g->p, runs, nruns, cols)) pack_interior(g, b->data, runs, nruns, k0, kc, dst);
        else pack_general(g, b->data, runs, nruns, cols, k0, kc, dst);
    }
    return buf;
}

void ct_conv2d(const ct_gemm_ctx *ctx, const ct_conv_params *p, const float *x, const float *packed,
               const float *bias, const float *residual, int relu, float *y) {
    ptrdiff_t plane = (ptrdiff_t)p->h * p->w;
    conv_geometry g = {p, ct_conv_out_size(p->h, p->kh, p->stride, p->pad),
                       ct_conv_out_size(p->w, p->kw, p->stride, p->pad),
                       p->channel_major ? plane : plane * p->cin, p->channel_major ? plane * p->batch : plane};
    int n = p->batch * g.ho * g.wo, k = patch_size(p);
    ct_epilogue ep = {bias, NULL, residual, relu};
    ct_gemm_b b;
    if (p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0 && p->batch == 1)
        b = ct_gemm_b_matrix(x, n, 1, n);
    else
        b = (ct_gemm_b){im2col_panels, x, 0, 0, n, &g};
    ct_gemm_run(ctx, p->cout, n, k, packed, &b, y, n, &ep);
}

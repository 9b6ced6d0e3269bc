/* 2-D convolution as GEMM: weights [cout, cin*kh*kw] times the unrolled input
 * patches (im2col, a chunk of output columns at a time, in the scratch); a
 * 1x1 stride-1 unpadded conv multiplies the input directly. Bias, residual
 * and ReLU ride on the GEMM epilogue. */
#include "conv.h"
#include "gemm.h"

/* Output columns unrolled per GEMM call: bounds the scratch at
 * cin*kh*kw x 512 floats, so the unrolled chunk of the stem or of a 64-channel
 * 3x3 conv stays in L2 between im2col and GEMM, while each GEMM is still
 * several NC blocks wide. */
enum { CONV_CHUNK_COLS = 512 };

static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

int ct_conv_out_size(int in, int k, int stride, int pad) {
    if (in <= 0 || k <= 0 || stride <= 0 || pad < 0 || in + 2 * pad < k) return 0;
    return (in + 2 * pad - k) / stride + 1;
}

static int is_pointwise(const ct_conv_params *p) {
    return p->kh == 1 && p->kw == 1 && p->stride == 1 && p->pad == 0;
}

size_t ct_conv2d_scratch_floats(const ct_conv_params *p) {
    if (is_pointwise(p)) return 0;
    size_t cols = (size_t)ct_conv_out_size(p->h, p->kh, p->stride, p->pad) *
                  (size_t)ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    if (cols > CONV_CHUNK_COLS) cols = CONV_CHUNK_COLS;
    return (size_t)p->cin * (size_t)p->kh * (size_t)p->kw * cols;
}

/* One run of output row oy, columns [ox0, ox0+run), for kernel tap (ky, kx)
 * of channel plane xc [h,w]: the input pixels it reads, 0 where padded. */
static void im2col_run(const ct_conv_params *p, const float *xc /* [h,w] */,
                       int oy, int ox0, int run, int ky, int kx, float *dst) {
    int s = p->stride, iy = oy * s - p->pad + ky;
    if (iy < 0 || iy >= p->h) {
        for (int t = 0; t < run; t++) dst[t] = 0.0f;
        return;
    }
    /* Output columns whose input column ix = ox*s - pad + kx lies in [0, w). */
    int lo = p->pad - kx > 0 ? (p->pad - kx + s - 1) / s : 0;
    int hi = p->w - 1 + p->pad - kx >= 0 ? (p->w - 1 + p->pad - kx) / s + 1 : 0;
    lo = min_int(max_int(lo - ox0, 0), run);
    hi = min_int(max_int(hi - ox0, lo), run);
    ptrdiff_t at = (ptrdiff_t)iy * p->w + (ptrdiff_t)ox0 * s - p->pad + kx;   /* column ox0 */
    for (int t = 0; t < lo; t++) dst[t] = 0.0f;
    for (int t = lo; t < hi; t++) dst[t] = xc[at + (ptrdiff_t)t * s];
    for (int t = hi; t < run; t++) dst[t] = 0.0f;
}

/* col[k, n - n0] for output columns n in [n0, n0+nc) and k = (c*kh + ky)*kw + kx:
 * the input pixel tap k of output n reads (0 in the padding). */
static void im2col(const ct_conv_params *p, int wo, const float *x /* [cin,h,w] */,
                   int n0, int nc, float *col /* [cin*kh*kw, nc] */) {
    for (int c = 0; c < p->cin; c++) {
        const float *xc = x + (ptrdiff_t)c * p->h * p->w;
        for (int ky = 0; ky < p->kh; ky++)
            for (int kx = 0; kx < p->kw; kx++) {
                float *dst = col + ((ptrdiff_t)(c * p->kh + ky) * p->kw + kx) * nc;
                for (int n = n0; n < n0 + nc;) {
                    int oy = n / wo, ox = n % wo, run = min_int(wo - ox, n0 + nc - n);
                    im2col_run(p, xc, oy, ox, run, ky, kx, dst);
                    dst += run;
                    n += run;
                }
            }
    }
}

void ct_conv2d(const ct_conv_params *p, const float *x, const float *weight,
               const float *bias, const float *residual, int relu,
               float *y, float *scratch) {
    int ho = ct_conv_out_size(p->h, p->kh, p->stride, p->pad);
    int wo = ct_conv_out_size(p->w, p->kw, p->stride, p->pad);
    int n = ho * wo, k = p->cin * p->kh * p->kw;
    if (is_pointwise(p)) {
        ct_epilogue ep = {bias, NULL, residual, relu};
        ct_gemm(p->cout, n, k, weight, k, 1, x, n, 1, y, n, &ep);
        return;
    }
    for (int n0 = 0; n0 < n; n0 += CONV_CHUNK_COLS) {
        int nc = min_int(CONV_CHUNK_COLS, n - n0);
        ct_epilogue ep = {bias, NULL, residual ? residual + n0 : NULL, relu};
        im2col(p, wo, x, n0, nc, scratch);
        ct_gemm(p->cout, nc, k, weight, k, 1, scratch, nc, 1, y + n0, n, &ep);
    }
}

/* The mask predictor's ConvTranspose2d(kernel 2, stride 2, padding 0) + ReLU
 * and the 1x1 logits conv after it (contract in conv.h). A task takes a
 * chunk of pixels: one GEMM computes every output phase (u,v) of them,
 * [cmid*4, cin] x [cin, pixels], with bias and ReLU in its epilogue, into
 * its thread's workspace of the GEMM context (in L2), and the 1x1 conv of
 * each image's chosen channel reads the phases there, so the upsampled map
 * is never written out. Also the naive twins. */
#include "conv.h"
#include "simd.h"

enum { PIXEL_CHUNK = 4 * CT_GEMM_NR };   /* pixels per task: their phases [cmid*4, 96] */

typedef struct {
    const ct_gemm_ctx *ctx;
    const float *x;         /* [cin, batch*h*w] */
    const float *packed;
    int cin, batch, h, w, cmid;
    ct_epilogue ep;         /* bias per phase row, ReLU */
    const float *w1, *b1;   /* [n_c, cmid], [n_c] */
    const int *channel;     /* [batch] */
    float *out;             /* [batch, 2h, 2w] */
} deconv_job;

size_t ct_deconv_packed_floats(int cin, int cmid) {
    return ct_gemm_packed_a_floats(cmid * 4, cin) + (size_t)cmid * 4;
}

void ct_deconv_pack(int cin, int cmid, const float *weight, const float *bias, float *dst) {
    /* Row r = o*4 + u*2 + v of A is weight[:, o, u, v]: element (r, c) sits at
     * weight[c*cmid*4 + r], so A is the transposed view of weight. */
    ct_gemm_pack_a(cmid * 4, cin, weight, 1, (ptrdiff_t)cmid * 4, NULL, dst);
    float *bias4 = dst + ct_gemm_packed_a_floats(cmid * 4, cin);
    for (int r = 0; r < cmid * 4; r++) bias4[r] = bias ? bias[r / 4] : 0.0f;
}

size_t ct_deconv_workspace_floats(int cmid) { return (size_t)cmid * 4 * PIXEL_CHUNK; }

/* Pixels [i0, i1) of a chunk, all of image b, whose phases are rows
 * o*4 + uv of ph [cmid*4, np]: out = sum_o w1[l,o] * phase + b1[l] for each
 * output phase (u,v), summed over o (ascending) from 0 in registers, four
 * pixels and the four phases at a time, then placed in the [2h,2w] map. */
static void logits_run(const deconv_job *j, const float *ph, int np, int i0, int i1, int p0, int b) {
    int l = j->channel[b], hw = j->h * j->w, w2 = 2 * j->w;
    const float *wl = j->w1 + (size_t)l * j->cmid;
    float *out = j->out + (size_t)b * 4 * hw;   /* [2h, 2w] */
    for (int i = i0; i < i1; i += 4) {
        int n = i1 - i < 4 ? i1 - i : 4;
        ct_vec4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};   /* phases uv = 0..3 of pixels i..i+3 */
        const float *row = ph + i;                         /* row o*4 + uv at row + uv*np */
        for (int o = 0; o < j->cmid; o++, row += 4 * (size_t)np) {
            ct_vec4 wv = {wl[o], wl[o], wl[o], wl[o]};
            a0 += wv * ct_load4_first(row, n);
            a1 += wv * ct_load4_first(row + np, n);
            a2 += wv * ct_load4_first(row + 2 * (size_t)np, n);
            a3 += wv * ct_load4_first(row + 3 * (size_t)np, n);
        }
        ct_vec4 acc[4] = {a0, a1, a2, a3};
        for (int t = 0; t < n; t++) {
            int r = (p0 + i + t) % hw, y = r / j->w, x = r % j->w;
            for (int uv = 0; uv < 4; uv++)
                out[(size_t)(2 * y + (uv >> 1)) * w2 + 2 * x + (uv & 1)] = acc[uv][t] + j->b1[l];
        }
    }
}

static void pixel_chunk(void *arg, int chunk, int thread) {
    const deconv_job *j = arg;
    int n = j->batch * j->h * j->w, hw = j->h * j->w, p0 = chunk * PIXEL_CHUNK;
    int np = n - p0 < PIXEL_CHUNK ? n - p0 : PIXEL_CHUNK;
    float *ph = ct_gemm_ctx_workspace(j->ctx, thread);   /* [cmid*4, np] */
    ct_gemm_b b = ct_gemm_b_matrix(j->x + p0, n, 1, np);
    ct_gemm_run_here(j->ctx, thread, j->cmid * 4, np, j->cin, j->packed, &b, ph, np, &j->ep, 0, j->cmid * 4);
    for (int i0 = 0; i0 < np;) {   /* runs of pixels of one image */
        int img = (p0 + i0) / hw, i1 = (img + 1) * hw - p0;
        if (i1 > np) i1 = np;
        logits_run(j, ph, np, i0, i1, p0, img);
        i0 = i1;
    }
}

void ct_deconv_1x1(const ct_gemm_ctx *ctx, const float *x, int cin, int batch, int h, int w,
                   const float *packed, int cmid, int relu, const float *w1, const float *b1,
                   const int *channel, float *out) {
    int n = batch * h * w;
    if (n <= 0 || cmid <= 0) return;
    deconv_job job = {ctx, x, packed, cin, batch, h, w, cmid,
                      {packed + ct_gemm_packed_a_floats(cmid * 4, cin), NULL, NULL, relu}, w1, b1, channel, out};
    ct_pool_run(ct_gemm_ctx_pool(ctx), (n + PIXEL_CHUNK - 1) / PIXEL_CHUNK, pixel_chunk, &job);
}

static float bias_relu(float v, const float *bias, int o, int relu) {
    if (bias) v += bias[o];
    return relu && v < 0.0f ? 0.0f : v;
}

void ct_deconv2x2_naive(const float *x, int cin, int h, int w, const float *weight,
                        const float *bias, int cout, int relu, float *y) {
    for (int o = 0; o < cout; o++)
        for (int oy = 0; oy < 2 * h; oy++)
            for (int ox = 0; ox < 2 * w; ox++) {
                int i = oy / 2, u = oy % 2, j = ox / 2, v = ox % 2;
                float s = 0.0f;
                for (int c = 0; c < cin; c++)
                    s += x[((size_t)c * h + i) * w + j] * weight[(((size_t)c * cout + o) * 2 + u) * 2 + v];
                y[((size_t)o * 2 * h + oy) * 2 * w + ox] = bias_relu(s, bias, o, relu);
            }
}

void ct_deconv_1x1_naive(const float *x, int cin, int batch, int h, int w, const float *weight,
                         const float *bias, int cmid, int relu, const float *w1, const float *b1,
                         const int *channel, float *out) {
    size_t hw = (size_t)h * w, n = (size_t)batch * hw;
    for (int b = 0; b < batch; b++)
        for (int oy = 0; oy < 2 * h; oy++)
            for (int ox = 0; ox < 2 * w; ox++) {
                int i = oy / 2, u = oy % 2, j = ox / 2, v = ox % 2, l = channel[b];
                float logit = 0.0f;
                for (int o = 0; o < cmid; o++) {
                    float s = 0.0f;
                    for (int c = 0; c < cin; c++)
                        s += x[c * n + b * hw + (size_t)i * w + j] * weight[(((size_t)c * cmid + o) * 2 + u) * 2 + v];
                    logit += w1[(size_t)l * cmid + o] * bias_relu(s, bias, o, relu);
                }
                out[(b * 2 * (size_t)h + oy) * 2 * w + ox] = logit + b1[l];
            }
}

/* The mask predictor's ConvTranspose2d(kernel 2, stride 2, padding 0) + ReLU
 * and the 1x1 logits conv after it (contract in conv.h): one GEMM computes
 * every output phase (u,v) of every pixel, [cmid*4, cin] x [cin, pixels],
 * with bias and ReLU in its epilogue; the 1x1 conv of each image's chosen
 * channel then reads the phases in place, so the upsampled map is never
 * written out. Also the naive twins. */
#include "conv.h"
#include "simd.h"

typedef struct {
    const float *phases;    /* [cmid*4, batch*h*w] */
    int batch, h, w, cmid;
    const float *w1, *b1;   /* [n_c, cmid], [n_c] */
    const int *channel;     /* [batch] */
    float *out;             /* [batch, 2h, 2w] */
    float *scratch;         /* [threads][4][h*w] */
} logits_job;

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

/* The phases, then per thread one image's accumulators. */
size_t ct_deconv_phases_floats(int cmid, int batch, int h, int w, int threads) {
    return ((size_t)cmid * batch + (size_t)(threads > 1 ? threads : 1)) * 4 * h * w;
}

/* out[b] = sum_o w1[l,o] * up[o] + b1[l]: each output phase (u,v) summed
 * over o (ascending) in acc, four pixels at a time, then interleaved into
 * the [2h,2w] map. */
static void logits_image(void *arg, int b, int thread) {
    const logits_job *j = arg;
    size_t hw = (size_t)j->h * j->w, n = (size_t)j->batch * hw;
    int l = j->channel[b], w2 = 2 * j->w;
    const float *wl = j->w1 + (size_t)l * j->cmid;
    float *acc = j->scratch + (size_t)thread * 4 * hw;   /* [4][h*w] */
    for (int uv = 0; uv < 4; uv++) {
        float *a = acc + uv * hw;
        for (size_t i = 0; i < hw; i++) a[i] = 0.0f;
        for (int o = 0; o < j->cmid; o++) {
            const float *phase = j->phases + ((size_t)o * 4 + uv) * n + b * hw;   /* [h*w] */
            ct_vec4 wv = {wl[o], wl[o], wl[o], wl[o]};
            size_t i = 0;
            for (; i + 4 <= hw; i += 4) ct_store4(a + i, ct_load4(a + i) + wv * ct_load4(phase + i));
            for (; i < hw; i++) a[i] += wl[o] * phase[i];
        }
    }
    float *out = j->out + b * 4 * hw;   /* [2h, 2w] */
    for (int y = 0; y < j->h; y++)
        for (int x = 0; x < j->w; x++)
            for (int uv = 0; uv < 4; uv++)
                out[(size_t)(2 * y + (uv >> 1)) * w2 + 2 * x + (uv & 1)] = acc[uv * hw + (size_t)y * j->w + x] + j->b1[l];
}

void ct_deconv_1x1(const ct_gemm_ctx *ctx, const float *x, int cin, int batch, int h, int w,
                   const float *packed, int cmid, int relu, const float *w1, const float *b1,
                   const int *channel, float *out, float *phases) {
    int n = batch * h * w;
    if (n <= 0 || cmid <= 0) return;
    ct_epilogue ep = {packed + ct_gemm_packed_a_floats(cmid * 4, cin), NULL, NULL, relu};
    ct_gemm_b b = ct_gemm_b_matrix(x, n, 1, n);
    ct_gemm_run(ctx, cmid * 4, n, cin, packed, &b, phases, n, &ep);
    logits_job job = {phases, batch, h, w, cmid, w1, b1, channel, out, phases + (size_t)cmid * 4 * n};
    ct_pool_run(ct_gemm_ctx_pool(ctx), batch, logits_image, &job);
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

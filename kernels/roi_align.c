/* RoIAlign exactly as torchvision 0.14's CPU kernel with aligned=False (spec
 * §7.1): same float operations in the same order, so results are bit-equal.
 * The fast kernel reads the map channels-last: a RoI is prepared once
 * (ct_roi_prepare) and pooled bin by bin with the channels innermost
 * (sixteen at a time, in AVX2 registers where the CPU has them), each
 * sample's bilinear weights computed once per bin and channel chunk; RoIs
 * are independent tasks (and ct_roi_panels pools bins of many RoIs straight
 * into GEMM panels). The naive twin loops channel by channel over the
 * [c,h,w] map. */
#include "roi_align.h"

#include <math.h>
#include <stddef.h>

#include "simd.h"

enum {
    /* Cap on the adaptive sampling grid (sampling_ratio <= 0) per bin side, so
     * an absurd box cannot make a near-endless loop; torchvision has no cap.
     * Only RoIs over 64 bins' worth of feature pixels per side are affected
     * (the pipeline always uses sampling_ratio 2). */
    ROI_ALIGN_MAX_GRID = 64,
    /* Channels x bins accumulated at once: the partial sums (16 KB) stay in
     * L1 and go out as runs of bins; each sample's bilinear set-up serves
     * 256 channels (all of an FPN level's). */
    CHANNEL_CHUNK = 256,
    GROUP_BINS = 16,
    /* Samples of a bin pooled in one pass over the channels (sampling ratio
     * 2: all four); larger adaptive grids go in batches of this many. */
    MAX_BIN_SAMPLES = 16,
    /* Pixels per task of the channels-last copy (a 128 x 128 level: 16 tasks). */
    HWC_BLOCK_PIXELS = 1024
};

/* The four taps of one bilinear sample: pixel indices into an [h,w] plane
 * and their weights. A sample outside the map has all weights 0 at pixel 0,
 * as in torchvision (its taps still read element 0). */
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
    roi_sample s;
    /* Written negated so that NaN coordinates also count as outside. */
    if (!(y >= -1.0f && y <= (float)h && x >= -1.0f && x <= (float)w)) {
        for (int t = 0; t < 4; t++) s.pos[t] = 0, s.w[t] = 0.0f;
        return s;
    }
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

static ct_roi_geometry geometry_of(const float box[4], float scale, int out_h, int out_w, int sampling_ratio) {
    ct_roi_geometry g;
    float x1 = box[0] * scale, y1 = box[1] * scale, x2 = box[2] * scale, y2 = box[3] * scale;
    float roi_w = x2 - x1, roi_h = y2 - y1;
    if (roi_w < 1.0f) roi_w = 1.0f;
    if (roi_h < 1.0f) roi_h = 1.0f;
    g.x1 = x1, g.y1 = y1;
    g.bin_h = roi_h / (float)out_h, g.bin_w = roi_w / (float)out_w;
    g.grid_h = grid_size(sampling_ratio, roi_h, out_h), g.grid_w = grid_size(sampling_ratio, roi_w, out_w);
    g.count = (float)(g.grid_h * g.grid_w);
    return g;
}

static float sample_y(const ct_roi_geometry *g, int ph, int iy) {
    return g->y1 + (float)ph * g->bin_h + (float)(iy + 0.5f) * g->bin_h / (float)g->grid_h;
}

static float sample_x(const ct_roi_geometry *g, int pw, int ix) {
    return g->x1 + (float)pw * g->bin_w + (float)(ix + 0.5f) * g->bin_w / (float)g->grid_w;
}

/* ---- the channels-last kernel ------------------------------------------ */

typedef struct {
    const float *feat;      /* [c, pixels] */
    int c, pixels;
    float *feat_hwc;        /* [pixels, c] */
} hwc_job;

static void hwc_task(void *arg, int block, int thread) {
    (void)thread;
    const hwc_job *j = arg;
    int p0 = block * HWC_BLOCK_PIXELS, n = ct_block_end(block, HWC_BLOCK_PIXELS, j->pixels) - p0;
    ct_transpose(j->feat + p0, j->pixels, j->c, n, j->feat_hwc + (size_t)p0 * j->c, j->c);
}

void ct_roi_align_hwc(ct_pool *pool, const float *feat, int c, int h, int w, float *feat_hwc) {
    if (c <= 0 || h <= 0 || w <= 0) return;
    hwc_job j = {feat, c, h * w, feat_hwc};
    ct_pool_run(pool, ct_blocks(j.pixels, HWC_BLOCK_PIXELS), hwc_task, &j);
}

/* One bilinear sample's four taps at the channel chunk's first channel
 * (each a run of channels of one map pixel) and their weights. */
typedef struct {
    const float *tap[4];
    float w[4];
} sample_taps;

typedef float roi_vec8 __attribute__((vector_size(32)));

/* acc[k] for k < n, over samples s[0..ns) of one bin: the sum starts at 0
 * (first) or at acc[k], adds w0*t0[k] + w1*t1[k] + w2*t2[k] + w3*t3[k] for
 * each sample in order, and (last) is divided by count: torchvision's
 * operations in its order, so the same bits. Sixteen channels at a time,
 * the sums in registers across the samples. Dividing by a power of two gives
 * the same correctly rounded result as multiplying by its exact reciprocal,
 * which is much cheaper. Compiled twice (portable and AVX2) by the callers
 * below; lane-wise multiplies and adds, never fused. */
static inline __attribute__((always_inline)) void pool_bin_body(float *acc, const sample_taps *s, int ns, int n,
                                                                int first, int last, float count) {
    int pow2 = count == 1.0f || count == 2.0f || count == 4.0f || count == 8.0f || count == 16.0f;
    float inv = 1.0f / count;
    int k = 0;
    for (; k + 16 <= n; k += 16) {   /* two independent sums: the adds' latency overlaps */
        roi_vec8 sa = {0}, sb = {0}, a0, a1, a2, a3, b0, b1, b2, b3;
        if (!first) __builtin_memcpy(&sa, acc + k, sizeof sa), __builtin_memcpy(&sb, acc + k + 8, sizeof sb);
        for (int i = 0; i < ns; i++) {
            const sample_taps *t = &s[i];
            __builtin_memcpy(&a0, t->tap[0] + k, sizeof a0);
            __builtin_memcpy(&a1, t->tap[1] + k, sizeof a1);
            __builtin_memcpy(&a2, t->tap[2] + k, sizeof a2);
            __builtin_memcpy(&a3, t->tap[3] + k, sizeof a3);
            __builtin_memcpy(&b0, t->tap[0] + k + 8, sizeof b0);
            __builtin_memcpy(&b1, t->tap[1] + k + 8, sizeof b1);
            __builtin_memcpy(&b2, t->tap[2] + k + 8, sizeof b2);
            __builtin_memcpy(&b3, t->tap[3] + k + 8, sizeof b3);
            sa = sa + (t->w[0] * a0 + t->w[1] * a1 + t->w[2] * a2 + t->w[3] * a3);
            sb = sb + (t->w[0] * b0 + t->w[1] * b1 + t->w[2] * b2 + t->w[3] * b3);
        }
        if (last) sa = pow2 ? sa * inv : sa / count, sb = pow2 ? sb * inv : sb / count;
        __builtin_memcpy(acc + k, &sa, sizeof sa);
        __builtin_memcpy(acc + k + 8, &sb, sizeof sb);
    }
    for (; k < n; k++) {
        float sum = first ? 0.0f : acc[k];
        for (int i = 0; i < ns; i++)
            sum = sum + (s[i].w[0] * s[i].tap[0][k] + s[i].w[1] * s[i].tap[1][k] + s[i].w[2] * s[i].tap[2][k] +
                         s[i].w[3] * s[i].tap[3][k]);
        acc[k] = last ? (pow2 ? sum * inv : sum / count) : sum;
    }
}

static void pool_bin(float *acc, const sample_taps *s, int ns, int n, int first, int last, float count) {
    pool_bin_body(acc, s, ns, n, first, last, count);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ROI_ALIGN_AVX2 1
__attribute__((target("avx2"))) static void pool_bin_avx2(float *acc, const sample_taps *s, int ns, int n,
                                                           int first, int last, float count) {
    pool_bin_body(acc, s, ns, n, first, last, count);
}

static int cpu_has_avx2(void) { return __builtin_cpu_supports("avx2"); }
#endif

void ct_roi_prepare(const float *feat_hwc, int c, int h, int w, const float box[4], float spatial_scale,
                    int out_h, int out_w, int sampling_ratio, ct_roi *roi) {
    *roi = (ct_roi){feat_hwc, c, h, w, out_h, out_w,
                    geometry_of(box, spatial_scale, out_h, out_w, sampling_ratio)};
}

void ct_roi_pool_bin(const ct_roi *roi, int bin, int c0, int cn, float *out) {
    if (roi->h <= 0 || roi->w <= 0) {
        for (int k = 0; k < cn; k++) out[k] = 0.0f;
        return;
    }
    const ct_roi_geometry *g = &roi->g;
    int ph = bin / roi->out_w, pw = bin % roi->out_w, samples = g->grid_h * g->grid_w, ns = 0, done = 0;
#ifdef ROI_ALIGN_AVX2
    int avx2 = cpu_has_avx2();
#endif
    sample_taps taps[MAX_BIN_SAMPLES];   /* the bin's samples, pooled a batch at a time */
    for (int iy = 0; iy < g->grid_h; iy++) {
        float y = sample_y(g, ph, iy);
        for (int ix = 0; ix < g->grid_w; ix++) {
            roi_sample s = bilinear_sample(y, sample_x(g, pw, ix), roi->h, roi->w);
            for (int t = 0; t < 4; t++) taps[ns].tap[t] = roi->feat + s.pos[t] * roi->c + c0, taps[ns].w[t] = s.w[t];
            if (++ns < MAX_BIN_SAMPLES && done + ns < samples) continue;
#ifdef ROI_ALIGN_AVX2
            if (avx2) pool_bin_avx2(out, taps, ns, cn, done == 0, done + ns == samples, g->count);
            else
#endif
                pool_bin(out, taps, ns, cn, done == 0, done + ns == samples, g->count);
            done += ns, ns = 0;
        }
    }
}

/* Bins [b0, b0+nb) of the RoI, channels [c0, c0+cn): each bin's averages
 * gathered in local[bin][channel] (in L1), then written out channel by
 * channel as contiguous runs of out [c, bins]. */
static void bin_group(const ct_roi *roi, int b0, int nb, int c0, int cn, float *out) {
    _Alignas(16) float local[GROUP_BINS][CHANNEL_CHUNK];
    for (int b = 0; b < nb; b++) ct_roi_pool_bin(roi, b0 + b, c0, cn, local[b]);
    ct_transpose(&local[0][0], CHANNEL_CHUNK, nb, cn, out + (size_t)c0 * roi->out_h * roi->out_w + b0,
                 (ptrdiff_t)roi->out_h * roi->out_w);
}

void ct_roi_align_one(const ct_roi *roi, float *out) {
    int bins = roi->out_h * roi->out_w;
    for (int b0 = 0; b0 < bins; b0 += GROUP_BINS)
        for (int c0 = 0; c0 < roi->c; c0 += CHANNEL_CHUNK)
            bin_group(roi, b0, bins - b0 < GROUP_BINS ? bins - b0 : GROUP_BINS, c0,
                      roi->c - c0 < CHANNEL_CHUNK ? roi->c - c0 : CHANNEL_CHUNK, out);
}

typedef struct {
    const float *feat;      /* [h,w,c] */
    int c, h, w;
    const float *boxes;     /* [n,4] */
    float scale;
    int out_h, out_w, sampling_ratio;
    float *out;             /* [n,c,out_h,out_w] */
} roi_job;

static void roi_task(void *arg, int r, int thread) {
    (void)thread;
    const roi_job *j = arg;
    ct_roi roi;
    ct_roi_prepare(j->feat, j->c, j->h, j->w, j->boxes + 4 * (size_t)r, j->scale, j->out_h, j->out_w,
                   j->sampling_ratio, &roi);
    ct_roi_align_one(&roi, j->out + (size_t)r * j->c * j->out_h * j->out_w);
}

void ct_roi_align(ct_pool *pool, const float *feat_hwc, int c, int h, int w,
                  const float *boxes, int n, float spatial_scale,
                  int out_h, int out_w, int sampling_ratio, float *out) {
    if (c <= 0 || out_h <= 0 || out_w <= 0) return;
    roi_job j = {feat_hwc, c, h, w, boxes, spatial_scale, out_h, out_w, sampling_ratio, out};
    ct_pool_run(pool, n, roi_task, &j);
}

/* ---- the naive twin ----------------------------------------------------- */

static void roi_align_one_naive(const float *feat, int c, int h, int w, const float box[4], float scale,
                                int out_h, int out_w, int sampling_ratio, float *out) {
    ct_roi_geometry g = geometry_of(box, scale, out_h, out_w, sampling_ratio);
    size_t plane = (size_t)h * w, bins = (size_t)out_h * out_w;
    for (int ch = 0; ch < c; ch++)
        for (int ph = 0; ph < out_h; ph++)
            for (int pw = 0; pw < out_w; pw++) {
                const float *f = feat + ch * plane;
                float v = 0.0f;
                for (int iy = 0; iy < g.grid_h; iy++)
                    for (int ix = 0; ix < g.grid_w; ix++) {
                        roi_sample s = bilinear_sample(sample_y(&g, ph, iy), sample_x(&g, pw, ix), h, w);
                        v += s.w[0] * f[s.pos[0]] + s.w[1] * f[s.pos[1]] + s.w[2] * f[s.pos[2]] +
                             s.w[3] * f[s.pos[3]];
                    }
                out[ch * bins + (size_t)ph * out_w + pw] = v / g.count;
            }
}

void ct_roi_align_naive(const float *feat, int c, int h, int w,
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
        roi_align_one_naive(feat, c, h, w, boxes + 4 * (size_t)r, spatial_scale, out_h, out_w, sampling_ratio, o);
    }
}

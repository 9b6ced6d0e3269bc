/* Kernels against vectors made by PyTorch 1.13 / torchvision 0.14
 * (tools/reference/make_kernel_vectors.py, files tests/fixtures/kernels/).
 *
 * Tolerances: NMS and batched NMS keep lists exact (same indices, same
 * order); RoIAlign, box clip, max pooling and nearest upsampling bit-exact;
 * box decode within 1 ulp (torch's vectorized exp differs from expf by up to
 * 1 ulp) plus 1e-6 absolute for results near 0; bilinear resize and mask
 * pasting within 1e-5 (torch may fuse multiply-adds, which moves sums by an
 * ulp); convolution, transposed convolution and linear within 1e-5 relative
 * to the sum of |terms| (different summation order). */
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxes.h"
#include "conv.h"
#include "gemm.h"
#include "resize.h"
#include "roi_align.h"
#include "test.h"
#include "threadpool.h"

#define FIXTURES "tests/fixtures/kernels/"
#define MAX_TENSORS 96

/* ------------------------------------------------------------ fixture files */

typedef struct {
    char name[64];
    int is_int;            /* int32 data, else float32 */
    int ndim, dims[4];
    size_t count;
    float *f;              /* when !is_int */
    int *i;                /* when is_int */
} kv_tensor;

typedef struct {
    kv_tensor t[MAX_TENSORS];
    int n;
} kv_file;

static uint32_t read_u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Parses one tensor at *pos of buf[len]; 0 when the bytes do not fit. */
static int kv_parse_tensor(const unsigned char *buf, size_t len, size_t *pos, kv_tensor *t) {
    size_t p = *pos;
    if (len - p < 4) return 0;
    uint32_t name_len = read_u32(buf + p);
    p += 4;
    if (name_len >= sizeof t->name || len - p < name_len + 8) return 0;
    memcpy(t->name, buf + p, name_len);
    t->name[name_len] = 0;
    p += name_len;
    uint32_t dtype = read_u32(buf + p), ndim = read_u32(buf + p + 4);
    p += 8;
    if (dtype > 1 || ndim > 4 || len - p < 4 * (size_t)ndim) return 0;
    t->is_int = (int)dtype;
    t->ndim = (int)ndim;
    t->count = 1;
    for (uint32_t d = 0; d < ndim; d++, p += 4) {
        t->dims[d] = (int)read_u32(buf + p);
        t->count *= (size_t)t->dims[d];
    }
    if ((len - p) / 4 < t->count) return 0;
    void *data = malloc(t->count * 4 + 4);
    memcpy(data, buf + p, t->count * 4);   /* little-endian host assumed, as the engine does */
    if (t->is_int) t->i = data, t->f = NULL;
    else t->f = data, t->i = NULL;
    *pos = p + t->count * 4;
    return 1;
}

static int kv_load(const char *file, kv_file *kv) {
    char path[256];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    kv->n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, got;
    do {
        if (len == cap) buf = realloc(buf, cap = cap ? 2 * cap : 1 << 16);
        got = fread(buf + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    fclose(f);
    int ok = len >= 12 && !memcmp(buf, "CTKV", 4) && read_u32(buf + 4) == 1;
    uint32_t count = ok ? read_u32(buf + 8) : 0;
    size_t pos = 12;
    for (uint32_t k = 0; ok && k < count; k++) {
        ok = kv->n < MAX_TENSORS && kv_parse_tensor(buf, len, &pos, &kv->t[kv->n]);
        if (ok) kv->n++;
    }
    free(buf);
    return ok && pos == len;
}

static void kv_free(kv_file *kv) {
    for (int k = 0; k < kv->n; k++) free(kv->t[k].is_int ? (void *)kv->t[k].i : (void *)kv->t[k].f);
    kv->n = 0;
}

static const kv_tensor *kv_get(const kv_file *kv, const char *name) {
    for (int k = 0; k < kv->n; k++)
        if (!strcmp(kv->t[k].name, name)) return &kv->t[k];
    CHECKF(0, "fixture tensor %s missing", name);
    return NULL;
}

#define LOAD(kv, file) CHECKF(kv_load(file, kv), "cannot read " FIXTURES "%s", file)

/* Counts elements of got that differ from want by more than tol (NaN must
 * match NaN); prints the first. */
static int count_mismatches(const char *what, const float *got, const float *want, size_t n, double tol) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        int both_nan = isnan(got[i]) && isnan(want[i]);
        if (both_nan || fabs((double)got[i] - want[i]) <= tol) continue;
        if (!bad) printf("    %s[%zu]: got %.9g want %.9g\n", what, i, got[i], want[i]);
        bad++;
    }
    return bad;
}

/* ------------------------------------------------------------ RoIAlign */

static void test_roi_align_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "roi_align.bin");
    const kv_tensor *feat = kv_get(&kv, "feat"), *boxes = kv_get(&kv, "boxes");
    if (!feat || !boxes) {
        kv_free(&kv);
        return;
    }
    const char *tags[] = {"a", "b", "c", "d"};
    for (int t = 0; t < 4; t++) {
        char name[32];
        snprintf(name, sizeof name, "%s.params", tags[t]);
        const kv_tensor *params = kv_get(&kv, name);
        snprintf(name, sizeof name, "%s.scale", tags[t]);
        const kv_tensor *scale = kv_get(&kv, name);
        snprintf(name, sizeof name, "%s.out", tags[t]);
        const kv_tensor *want = kv_get(&kv, name);
        if (!params || !scale || !want) continue;
        int n = boxes->dims[0], oh = params->i[0], ow = params->i[1], sr = params->i[2];
        int c = feat->dims[0], h = feat->dims[1], w = feat->dims[2];
        float *out = malloc(want->count * sizeof *out), *hwc = malloc(feat->count * sizeof *hwc);
        CHECK(want->count == (size_t)n * c * oh * ow);
        ct_roi_align_hwc(NULL, feat->f, c, h, w, hwc);
        ct_roi_align(NULL, hwc, c, h, w, boxes->f, n, scale->f[0], oh, ow, sr, out);
        CHECKF(count_mismatches(name, out, want->f, want->count, 0.0) == 0, "roi_align case %s not bit-exact", tags[t]);
        ct_roi_align_naive(feat->f, c, h, w, boxes->f, n, scale->f[0], oh, ow, sr, out);
        CHECKF(count_mismatches(name, out, want->f, want->count, 0.0) == 0, "naive roi_align case %s not bit-exact",
               tags[t]);
        free(out), free(hwc);
    }
    kv_free(&kv);
}

/* ------------------------------------------------------------ NMS */

static void check_keep(const char *what, const int *got, int n_got, const kv_tensor *want) {
    CHECKF(n_got == (int)want->count, "%s: kept %d, torchvision kept %zu", what, n_got, want->count);
    int first = -1;
    for (int k = 0; k < n_got && k < (int)want->count; k++)
        if (got[k] != want->i[k] && first < 0) first = k;
    CHECKF(first < 0, "%s: position %d is %d, torchvision has %d", what, first, first < 0 ? 0 : got[first],
           first < 0 ? 0 : want->i[first]);
}

static void test_nms_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "nms.bin");
    const kv_tensor *boxes = kv_get(&kv, "nms.boxes"), *scores = kv_get(&kv, "nms.scores");
    if (!boxes || !scores) {
        kv_free(&kv);
        return;
    }
    int n = boxes->dims[0];
    int *keep = malloc(n * sizeof *keep), *naive_scratch = malloc(2 * n * sizeof *naive_scratch);
    void *scratch = malloc(ct_nms_scratch_bytes(n));
    const char *tags[] = {"a", "b", "c"};
    for (int t = 0; t < 3; t++) {
        char name[32];
        snprintf(name, sizeof name, "nms_%s.thresh", tags[t]);
        const kv_tensor *thr = kv_get(&kv, name);
        snprintf(name, sizeof name, "nms_%s.keep", tags[t]);
        const kv_tensor *want = kv_get(&kv, name);
        if (!thr || !want) continue;
        int k = ct_nms(boxes->f, scores->f, n, (double)thr->f[0], keep, scratch);
        check_keep(name, keep, k, want);
        k = ct_nms_naive(boxes->f, scores->f, n, (double)thr->f[0], keep, naive_scratch);
        check_keep(name, keep, k, want);
    }
    free(keep), free(scratch), free(naive_scratch);
    kv_free(&kv);
}

static void check_batched(const kv_file *kv, const char *tag) {
    char name[40];
    snprintf(name, sizeof name, "%s.thresh", tag);
    const kv_tensor *thresh = kv_get(kv, name);
    snprintf(name, sizeof name, "%s.boxes", tag);
    const kv_tensor *boxes = kv_get(kv, name);
    snprintf(name, sizeof name, "%s.scores", tag);
    const kv_tensor *scores = kv_get(kv, name);
    snprintf(name, sizeof name, "%s.groups", tag);
    const kv_tensor *groups = kv_get(kv, name);
    snprintf(name, sizeof name, "%s.keep", tag);
    const kv_tensor *want = kv_get(kv, name);
    if (!thresh || !boxes || !scores || !groups || !want) return;
    int n = boxes->dims[0];
    int *keep = malloc(n * sizeof *keep);
    void *scratch = malloc(ct_batched_nms_scratch_bytes(n));
    ct_pool *pool = ct_pool_new(2);
    for (int pooled = 0; pooled <= 1; pooled++) {   /* the groups in order, then as tasks on two threads */
        int k = ct_batched_nms(boxes->f, scores->f, groups->i, n, (double)thresh->f[0], keep, scratch,
                               pooled ? pool : NULL);
        check_keep(name, keep, k, want);
    }
    ct_pool_free(pool);
    free(keep), free(scratch);
}

/* Each set contains a pair on which torchvision's two paths disagree (see
 * the generator), so this also checks that the right path is taken. */
static void test_batched_nms_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "nms.bin");
    check_batched(&kv, "bat_small");   /* n*4 <= 4000: coordinate-offset path */
    check_batched(&kv, "bat_large");   /* n*4 > 4000: per-group path */
    kv_free(&kv);
}

/* ------------------------------------------------------------ decode / clip */

static void test_decode_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "decode.bin");
    const kv_tensor *ref = kv_get(&kv, "ref"), *deltas = kv_get(&kv, "deltas"), *clip = kv_get(&kv, "clip");
    const kv_tensor *hw = kv_get(&kv, "clip_hw");
    if (!ref || !deltas || !clip || !hw) {
        kv_free(&kv);
        return;
    }
    int n = ref->dims[0], stride = deltas->dims[1], classes = stride / 4;
    const char *tags[] = {"w10", "w1"};
    for (int t = 0; t < 2; t++) {
        char name[32];
        snprintf(name, sizeof name, "%s.weights", tags[t]);
        const kv_tensor *weights = kv_get(&kv, name);
        snprintf(name, sizeof name, "%s.decoded", tags[t]);
        const kv_tensor *want = kv_get(&kv, name);
        snprintf(name, sizeof name, "%s.clipped", tags[t]);
        const kv_tensor *want_clip = kv_get(&kv, name);
        if (!weights || !want || !want_clip) continue;
        float *out = malloc((size_t)n * classes * 4 * sizeof *out), *one = malloc((size_t)n * 4 * sizeof *one);
        for (int c = 0; c < classes; c++) {
            ct_box_decode(ref->f, deltas->f + 4 * c, stride, n, weights->f, clip->f[0], one);
            for (int i = 0; i < n; i++) memcpy(out + ((size_t)i * classes + c) * 4, one + 4 * i, 4 * sizeof *one);
        }
        /* Where dw = dh = 0 no exp rounding is involved: bit-exact there.
         * Elsewhere torch's exp may differ from expf by 1 ulp, which moves
         * pcx -/+ pw/2 by up to ~2.5 ulp of the larger coordinate on that axis. */
        int bad = 0, exact_rows = 0;
        for (size_t i = 0; i < want->count; i++) {
            const float *d = deltas->f + (i / 4) * 4;   /* [n, classes*4] row-major = [n*classes, 4] */
            const float *box = want->f + i / 4 * 4;
            int exact = d[2] == 0.0f && d[3] == 0.0f, axis = i % 2;
            double span = fmax(fabs(box[axis]), fabs(box[axis + 2]));
            exact_rows += exact && i % 4 == 0;
            if (exact ? out[i] == want->f[i] : fabs((double)out[i] - want->f[i]) <= 4 * FLT_EPSILON * span)
                continue;
            if (!bad) printf("    %s[%zu]: got %.9g want %.9g\n", name, i, out[i], want->f[i]);
            bad++;
        }
        CHECKF(bad == 0, "decode %s: %d values off", tags[t], bad);
        CHECK(exact_rows >= 150);
        /* Clip torch's own decoded boxes: bit-exact. */
        memcpy(out, want->f, want->count * sizeof *out);
        ct_box_clip(out, (int)(want->count / 4), (float)hw->i[1], (float)hw->i[0]);
        CHECKF(count_mismatches(name, out, want_clip->f, want_clip->count, 0.0) == 0, "clip %s", tags[t]);
        free(out), free(one);
    }
    kv_free(&kv);
}

/* ------------------------------------------------------------ resize / paste */

static void check_resize(const char *name, const float *src, int c, int hs, int ws, const kv_tensor *want,
                         double scale_h, double scale_w) {
    int hd = want->dims[1], wd = want->dims[2];
    float *out = malloc(want->count * sizeof *out);
    ct_resize_bilinear(src, c, hs, ws, out, hd, wd, scale_h, scale_w);
    CHECKF(count_mismatches(name, out, want->f, want->count, 1e-5) == 0, "resize %s (%dx%d)", name, hd, wd);
    free(out);
}

static void test_resize_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "resize.bin");
    const kv_tensor *src = kv_get(&kv, "src"), *pad = kv_get(&kv, "pad30");
    if (!src || !pad) {
        kv_free(&kv);
        return;
    }
    char name[32];
    for (int i = 0; i < 7; i++) {
        snprintf(name, sizeof name, "size%d.out", i);
        const kv_tensor *want = kv_get(&kv, name);
        if (want) check_resize(name, src->f, src->dims[0], src->dims[1], src->dims[2], want, 0, 0);
    }
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "scale%d.factors", i);
        const kv_tensor *factors = kv_get(&kv, name);
        snprintf(name, sizeof name, "scale%d.out", i);
        const kv_tensor *want = kv_get(&kv, name);
        if (factors && want)
            check_resize(name, src->f, src->dims[0], src->dims[1], src->dims[2], want, factors->f[0], factors->f[1]);
    }
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "pad%d.out", i);
        const kv_tensor *want = kv_get(&kv, name);
        if (want) check_resize(name, pad->f, 1, 30, 30, want, 0, 0);
    }
    kv_free(&kv);
}

static void test_paste_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "paste.bin");
    const kv_tensor *hw = kv_get(&kv, "hw"), *boxes = kv_get(&kv, "boxes");
    if (!hw || !boxes) {
        kv_free(&kv);
        return;
    }
    int H = hw->i[0], W = hw->i[1], n = boxes->dims[0];
    const char *tags[] = {"m28", "m5"};
    for (int t = 0; t < 2; t++) {
        char name[32];
        snprintf(name, sizeof name, "%s.masks", tags[t]);
        const kv_tensor *masks = kv_get(&kv, name);
        snprintf(name, sizeof name, "%s.pasted", tags[t]);
        const kv_tensor *want = kv_get(&kv, name);
        if (!masks || !want) continue;
        int m = masks->dims[1];
        float *canvas = malloc((size_t)H * W * sizeof *canvas);
        for (int i = 0; i < n; i++) {
            const float *box = boxes->f + 4 * i;
            float *scratch = malloc(ct_paste_scratch_floats(m, box, H, W) * sizeof *scratch);
            for (int k = 0; k < H * W; k++) canvas[k] = 0.0f;   /* the contract: a zeroed canvas */
            ct_paste_mask(masks->f + (size_t)i * m * m, m, box, H, W, canvas, scratch);
            snprintf(name, sizeof name, "%s box %d", tags[t], i);
            CHECKF(count_mismatches(name, canvas, want->f + (size_t)i * H * W, (size_t)H * W, 1e-5) == 0,
                   "paste %s box %d [%g %g %g %g]", tags[t], i, box[0], box[1], box[2], box[3]);
            free(scratch);
        }
        free(canvas);
    }
    kv_free(&kv);
}

/* ------------------------------------------------------------ pool / nearest */

static void test_maxpool_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "pool.bin");
    const kv_tensor *x = kv_get(&kv, "x");
    if (!x) {
        kv_free(&kv);
        return;
    }
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d.ksp", i);
        const kv_tensor *ksp = kv_get(&kv, name);
        snprintf(name, sizeof name, "p%d.out", i);
        const kv_tensor *want = kv_get(&kv, name);
        if (!ksp || !want) continue;
        CHECK(want->dims[1] == ct_conv_out_size(x->dims[1], ksp->i[0], ksp->i[1], ksp->i[2]));
        float *y = malloc(want->count * sizeof *y);
        ct_maxpool2d(NULL, x->f, x->dims[0], x->dims[1], x->dims[2], ksp->i[0], ksp->i[1], ksp->i[2], y);
        CHECKF(count_mismatches(name, y, want->f, want->count, 0.0) == 0, "maxpool k=%d s=%d p=%d", ksp->i[0],
               ksp->i[1], ksp->i[2]);
        free(y);
    }
    kv_free(&kv);
}

static void test_nearest_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "nearest.bin");
    const kv_tensor *src = kv_get(&kv, "src");
    if (!src) {
        kv_free(&kv);
        return;
    }
    for (int i = 0; i < 5; i++) {
        char name[32];
        snprintf(name, sizeof name, "n%d.base", i);
        const kv_tensor *base = kv_get(&kv, name);
        snprintf(name, sizeof name, "n%d.out", i);
        const kv_tensor *want = kv_get(&kv, name);
        if (!base || !want) continue;
        float *dst = malloc(base->count * sizeof *dst);
        memcpy(dst, base->f, base->count * sizeof *dst);
        ct_upsample_nearest_add(src->f, src->dims[0], src->dims[1], src->dims[2], dst, base->dims[1], base->dims[2]);
        CHECKF(count_mismatches(name, dst, want->f, want->count, 0.0) == 0, "nearest to %dx%d", base->dims[1],
               base->dims[2]);
        free(dst);
    }
    kv_free(&kv);
}

/* ------------------------------------------------------------ conv / deconv / linear */

/* |got - want| <= 1e-5 * (|want| + 1): the terms are N(0,1) products, so
 * their absolute sum is of the order of the fan-in; this is well below it. */
static int count_rel(const char *what, const float *got, const float *want, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)got[i] - want[i]) <= 1e-5 * (fabs(want[i]) + 1.0))) {
            if (!bad) printf("    %s[%zu]: got %.9g want %.9g\n", what, i, got[i], want[i]);
            bad++;
        }
    return bad;
}

static void test_conv_vs_torch(void) {
    kv_file kv;
    LOAD(&kv, "conv.bin");
    ct_gemm_ctx *ctx = ct_gemm_ctx_new(NULL, NULL);
    for (int c = 0; c < 4; c++) {
        char name[5][16];
        const char *parts[] = {"shape", "x", "w", "b", "y"};
        const kv_tensor *t[5];
        for (int k = 0; k < 5; k++) {
            snprintf(name[k], sizeof name[k], "c%d.%s", c, parts[k]);
            t[k] = kv_get(&kv, name[k]);
        }
        if (!t[0] || !t[1] || !t[2] || !t[3] || !t[4]) continue;
        const int *s = t[0]->i;
        ct_conv_params p = {s[0], s[1], s[2], s[3], s[4], s[4], s[5], s[6], 1, 0};
        float *y = malloc(t[4]->count * sizeof *y), *yn = malloc(t[4]->count * sizeof *yn);
        float *packed = malloc(ct_conv_packed_floats(&p) * sizeof *packed);
        ct_conv_pack_weight(&p, t[2]->f, NULL, packed);
        ct_conv2d(ctx, &p, t[1]->f, packed, t[3]->f, NULL, 0, y);
        ct_conv2d_naive(&p, t[1]->f, t[2]->f, t[3]->f, NULL, 0, yn);
        CHECKF(count_rel(name[4], y, t[4]->f, t[4]->count) == 0, "conv case %d", c);
        CHECKF(count_rel(name[4], yn, t[4]->f, t[4]->count) == 0, "naive conv case %d", c);
        free(y), free(yn), free(packed);
    }
    const kv_tensor *ds = kv_get(&kv, "d.shape"), *dx = kv_get(&kv, "d.x"), *dw = kv_get(&kv, "d.w");
    const kv_tensor *db = kv_get(&kv, "d.b"), *dy = kv_get(&kv, "d.y");
    if (ds && dx && dw && db && dy) {
        /* The transposed conv alone: the fused kernel with an identity 1x1
         * conv picks output channel o exactly (the other terms are 0 * x). */
        int cin = ds->i[0], h = ds->i[1], w = ds->i[2], cout = ds->i[3];
        size_t plane = (size_t)4 * h * w;
        float *y = malloc(dy->count * sizeof *y), *yn = malloc(dy->count * sizeof *yn);
        float *packed = malloc(ct_deconv_packed_floats(cin, cout) * sizeof *packed);
        float *eye = calloc((size_t)cout * cout, sizeof *eye), *zero = calloc((size_t)cout, sizeof *zero);
        for (int o = 0; o < cout; o++) eye[(size_t)o * cout + o] = 1.0f;
        ct_deconv_pack(cin, cout, dw->f, db->f, packed);
        CHECK(ct_gemm_ctx_reserve(ctx, ct_deconv_workspace_floats(cout)));
        for (int o = 0; o < cout; o++)
            ct_deconv_1x1(ctx, dx->f, cin, 1, h, w, packed, cout, 0, eye, zero, &o, y + o * plane);
        ct_deconv2x2_naive(dx->f, cin, h, w, dw->f, db->f, cout, 0, yn);
        CHECKF(count_rel("d.y", y, dy->f, dy->count) == 0, "deconv");
        CHECKF(count_rel("d.y", yn, dy->f, dy->count) == 0, "naive deconv");
        free(y), free(yn), free(packed), free(eye), free(zero);
    }
    /* Linear: y = x W^T + b, W read transposed through B's strides. */
    const kv_tensor *lx = kv_get(&kv, "l.x"), *lw = kv_get(&kv, "l.w"), *lb = kv_get(&kv, "l.b");
    const kv_tensor *ly = kv_get(&kv, "l.y");
    if (lx && lw && lb && ly) {
        int rows = lx->dims[0], in = lx->dims[1], out = lw->dims[0];
        float *y = malloc(ly->count * sizeof *y);
        ct_epilogue ep = {NULL, lb->f, NULL, 0};
        ct_gemm(rows, out, in, lx->f, in, 1, lw->f, 1, in, y, out, &ep);
        CHECKF(count_rel("l.y", y, ly->f, ly->count) == 0, "linear");
        free(y);
    }
    ct_gemm_ctx_free(ctx);
    kv_free(&kv);
}

int main(void) {
    RUN(test_roi_align_vs_torch);
    RUN(test_nms_vs_torch);
    RUN(test_batched_nms_vs_torch);
    RUN(test_decode_vs_torch);
    RUN(test_resize_vs_torch);
    RUN(test_paste_vs_torch);
    RUN(test_maxpool_vs_torch);
    RUN(test_nearest_vs_torch);
    RUN(test_conv_vs_torch);
    return TEST_SUMMARY();
}

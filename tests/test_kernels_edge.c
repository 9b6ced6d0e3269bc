/* Kernel semantics on hand-made cases and hostile inputs: the top-k
 * selection against the full stable sort, NMS ties, zero-area boxes and
 * group separation, RoIAlign/paste/resize/pool on degenerate maps
 * and non-finite boxes (no crash, no hang, defined output; the two RoIAlign
 * kernels agree bit for bit; a paste writes only its box's rectangle). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boxes.h"
#include "conv.h"
#include "resize.h"
#include "roi_align.h"
#include "sort.h"
#include "test.h"
#include "threadpool.h"

#include <math.h>

/* ct_topk_desc gives the first k of ct_argsort_desc's order: scores drawn
 * from a few values (many ties, both zeros, infinities), with and without a
 * NaN, presorted ascending (a bad order for quickselect) or shuffled, for k
 * from 0 past n. */
static void test_topk_is_the_sorted_prefix(void) {
    static const float pool[] = {1.0f, -1.0f, 0.0f, -0.0f, 2.5f, INFINITY, -INFINITY, 1e-30f, 7.0f};
    unsigned seed = 7;
    int bad = 0, cases = 0;
    for (int t = 0; t < 400; t++) {
        int n = 1 + t % 97 * (t % 3 == 0 ? 40 : 1), distinct = 1 + t % 9;
        float *s = malloc((size_t)n * sizeof *s), *values = malloc((size_t)n * sizeof *values);
        int *full = malloc((size_t)n * sizeof *full), *top = malloc((size_t)n * sizeof *top);
        int *tmp = malloc((size_t)n * sizeof *tmp);
        for (int i = 0; i < n; i++) {
            seed = seed * 1664525u + 1013904223u;
            s[i] = t % 4 == 1 ? (float)i : pool[(seed >> 8) % (unsigned)distinct];
        }
        if (t % 5 == 2) s[(seed >> 4) % (unsigned)n] = NAN;
        ct_argsort_desc(s, n, full, tmp);
        for (int k = 0; k <= n + 1; k += k < 5 ? 1 : 1 + n / 7) {
            int got = ct_topk_desc(s, n, k, top, tmp, values), want = k < n ? k : n;
            cases++;
            bad += got != want || memcmp(top, full, (size_t)want * sizeof *top) != 0;
        }
        free(s), free(values), free(full), free(top), free(tmp);
    }
    CHECKF(bad == 0, "%d of %d top-k cases differ from the sorted prefix", bad, cases);
}

static int run_nms(const float *boxes, const float *scores, int n, double thr, int *keep) {
    void *scratch = malloc(ct_nms_scratch_bytes(n) + 1);
    int k = ct_nms(boxes, scores, n, thr, keep, scratch);
    free(scratch);
    return k;
}

/* ct_nms against its naive twin on random clusters of boxes: exact
 * duplicates, touching edges, zero areas, non-finite coordinates, tied
 * scores, and thresholds that float32 cannot hold, negative or NaN. */
static void test_nms_vs_naive(void) {
    static const double thresholds[] = {0.7, 0.5, 0.3, 0.0, -0.25, 1.0, NAN};
    unsigned seed = 11;
    int bad = 0, cases = 0;
    for (int t = 0; t < 120; t++) {
        int n = 1 + (t * 37) % 300;
        float *boxes = malloc((size_t)n * 16), *scores = malloc((size_t)n * 4);
        int *got = malloc((size_t)n * 4), *want = malloc((size_t)n * 4), *scratch = malloc((size_t)n * 8);
        void *vscratch = malloc(ct_nms_scratch_bytes(n));
        for (int i = 0; i < n; i++) {
            float v[6];
            for (int k = 0; k < 6; k++) seed = seed * 1664525u + 1013904223u, v[k] = (float)(seed >> 12 & 31);
            float *b = boxes + 4 * i;
            b[0] = v[0], b[1] = v[1], b[2] = v[0] + v[2] * (t % 3 ? 1.0f : 0.25f), b[3] = v[1] + v[3];
            if (i > 0 && v[4] < 4) memcpy(b, boxes + 4 * (i - 1), 16);   /* a duplicate */
            if (v[4] == 5) b[v[5] < 16 ? 0 : 3] = v[5] < 8 ? NAN : INFINITY;
            scores[i] = (float)(seed >> 20 & 15) / 16.0f;                 /* many ties */
        }
        double thr = thresholds[t % 7];
        int k = ct_nms(boxes, scores, n, thr, got, vscratch), kn = ct_nms_naive(boxes, scores, n, thr, want, scratch);
        bad += k != kn || memcmp(got, want, (size_t)k * 4) != 0;
        cases++;
        free(boxes), free(scores), free(got), free(want), free(scratch), free(vscratch);
    }
    CHECKF(bad == 0, "%d of %d NMS cases differ from the naive twin", bad, cases);
}

/* ct_batched_nms on its own and with its groups on a pool of three
 * threads: -1 when the two disagree. */
static int run_batched(const float *boxes, const float *scores, const int *groups, int n, double thr, int *keep) {
    void *scratch = malloc(ct_batched_nms_scratch_bytes(n) + 1);
    int *pooled = malloc((size_t)(n > 0 ? n : 1) * sizeof *pooled);
    ct_pool *pool = ct_pool_new(3);
    int k = ct_batched_nms(boxes, scores, groups, n, thr, keep, scratch, NULL);
    int kp = ct_batched_nms(boxes, scores, groups, n, thr, pooled, scratch, pool);
    if (kp != k || memcmp(keep, pooled, (size_t)k * sizeof *keep) != 0) k = -1;
    ct_pool_free(pool);
    free(scratch), free(pooled);
    return k;
}

static void test_nms_order_and_ties(void) {
    /* Equal scores: ascending index first; identical boxes suppress each other. */
    float boxes[] = {0, 0, 10, 10, 20, 20, 30, 30, 0, 0, 10, 10, 20, 20, 30, 30, 50, 50, 60, 60};
    float scores[] = {0.5f, 0.5f, 0.5f, 0.9f, 0.1f};
    int keep[5];
    int k = run_nms(boxes, scores, 5, 0.5, keep);
    CHECK(k == 3);
    CHECK(keep[0] == 3 && keep[1] == 0 && keep[2] == 4);
    CHECK(run_nms(boxes, scores, 0, 0.5, keep) == 0);
}

static void test_nms_threshold_is_strict(void) {
    /* IoU exactly 0.5 ([0,0,10,10] vs [0,0,10,5]): kept at 0.5, dropped below. */
    float boxes[] = {0, 0, 10, 10, 0, 0, 10, 5};
    float scores[] = {0.9f, 0.8f};
    int keep[2];
    CHECK(run_nms(boxes, scores, 2, 0.5, keep) == 2);
    CHECK(run_nms(boxes, scores, 2, 0.4999, keep) == 1);
}

static void test_nms_zero_area_never_suppressed(void) {
    /* 0/0 IoU is NaN, and NaN > thr is false: all survive, even identical ones. */
    float boxes[] = {5, 5, 5, 20, 5, 5, 5, 20, 3, 3, 3, 3, 0, 0, 10, 0};
    float scores[] = {0.4f, 0.3f, 0.2f, 0.1f};
    int keep[4];
    CHECK(run_nms(boxes, scores, 4, 0.0, keep) == 4);
    CHECK(keep[0] == 0 && keep[1] == 1 && keep[2] == 2 && keep[3] == 3);
}

/* Three identical boxes, two groups: one survivor per group, in score order,
 * for both of torchvision's batched paths (small n and n*4 > 4000). */
static void check_groups_separate(int n) {
    float *boxes = malloc((size_t)n * 4 * sizeof *boxes), *scores = malloc((size_t)n * sizeof *scores);
    int *groups = malloc((size_t)n * sizeof *groups), *keep = malloc((size_t)n * sizeof *keep);
    for (int i = 0; i < n; i++) {   /* far apart filler boxes, each its own group-0 survivor */
        float x = 20.0f * (float)(i % 100), y = 20.0f * (float)(i / 100);
        float b[4] = {x, y + 1000, x + 10, y + 1010};
        memcpy(boxes + 4 * i, b, sizeof b);
        scores[i] = 0.5f * (float)(n - i) / (float)n;
        groups[i] = 0;
    }
    float same[4] = {0, 0, 10, 10};
    for (int i = 0; i < 3; i++) memcpy(boxes + 4 * i, same, sizeof same);
    scores[0] = 0.9f, scores[1] = 0.8f, scores[2] = 0.7f;
    groups[0] = 0, groups[1] = 1, groups[2] = 0;
    int k = run_batched(boxes, scores, groups, n, 0.05, keep);
    CHECKF(k == n - 1, "n=%d: kept %d", n, k);
    CHECKF(k >= 2 && keep[0] == 0 && keep[1] == 1, "n=%d: keep starts %d %d", n, keep[0], keep[1]);
    if (n > 3) CHECKF(keep[2] == 3, "n=%d: third kept %d", n, keep[2]);
    int sorted = 1;
    for (int i = 1; i < k; i++) sorted &= scores[keep[i - 1]] >= scores[keep[i]];
    CHECK(sorted);
    free(boxes), free(scores), free(groups), free(keep);
}

/* Many interleaved groups, per-group path (n*4 > 4000): the kept set is
 * the naive NMS of each group on its own, merged by descending score, ties
 * by ascending index. */
static void test_batched_nms_many_groups_vs_naive(void) {
    enum { N = 1500, GROUPS = 7 };
    static float boxes[N * 4], scores[N], gb[N * 4], gs[N];
    static int groups[N], keep[N], want[N], members[N], gkeep[N], scratch[2 * N];
    uint32_t seed = 12345;
    for (int i = 0; i < N; i++) {
        float v[4];
        for (int k = 0; k < 4; k++) v[k] = (float)((seed = seed * 1664525u + 1013904223u) >> 24);
        float b[4] = {v[0], v[1], v[0] + 8 + v[2] / 4, v[1] + 8 + v[3] / 4};
        memcpy(boxes + 4 * i, b, sizeof b);
        scores[i] = (float)((seed = seed * 1664525u + 1013904223u) >> 26) / 64.0f;   /* many ties */
        groups[i] = (i * 5 + i / 3) % GROUPS;
    }
    int count = 0;
    for (int g = 0; g < GROUPS; g++) {
        int m = 0;
        for (int i = 0; i < N; i++)
            if (groups[i] == g) {
                members[m] = i;
                memcpy(gb + 4 * m, boxes + 4 * i, 4 * sizeof *gb);
                gs[m++] = scores[i];
            }
        int kept = ct_nms_naive(gb, gs, m, 0.3, gkeep, scratch);
        for (int a = 0; a < kept; a++) want[count++] = members[gkeep[a]];
    }
    for (int a = 1; a < count; a++)   /* insertion sort: descending score, ascending index */
        for (int b = a; b > 0 && (scores[want[b]] > scores[want[b - 1]] ||
                                  (scores[want[b]] == scores[want[b - 1]] && want[b] < want[b - 1])); b--) {
            int t = want[b];
            want[b] = want[b - 1], want[b - 1] = t;
        }
    int k = run_batched(boxes, scores, groups, N, 0.3, keep);
    CHECKF(k == count, "kept %d, want %d", k, count);
    CHECK(k == count && memcmp(keep, want, (size_t)count * sizeof *keep) == 0);
}

static void test_batched_nms_groups_separate(void) {
    check_groups_separate(3);
    check_groups_separate(900);    /* coordinate-offset path */
    check_groups_separate(1200);   /* per-group path */
}

static void test_decode_and_clip_edges(void) {
    float ref[8] = {10, 20, 30, 60, 0, 0, 0, 0};
    float deltas[8] = {0, 0, 0, 0, 1, 1, 50, -50};
    float w[4] = {1, 1, 1, 1}, out[8];
    ct_box_decode(ref, deltas, 4, 2, w, 4.135166556742356f, out);
    CHECK(out[0] == 10 && out[1] == 20 && out[2] == 30 && out[3] == 60);   /* zero deltas: same box */
    CHECK(out[4] == 0 && out[5] == 0 && out[6] == 0 && out[7] == 0);       /* zero-size reference */
    float nan_delta[4] = {NAN, 0, 0, 0};
    ct_box_decode(ref, nan_delta, 4, 1, w, 4.1f, out);
    CHECK(isnan(out[0]) && isnan(out[2]) && out[1] == 20 && out[3] == 60);
    float boxes[8] = {-5, 3, 120, 70, NAN, -1, 50, 1e30f};
    ct_box_clip(boxes, 2, 100, 50);
    CHECK(boxes[0] == 0 && boxes[1] == 3 && boxes[2] == 100 && boxes[3] == 50);
    CHECK(isnan(boxes[4]) && boxes[5] == 0 && boxes[6] == 50 && boxes[7] == 50);
}

/* Both RoIAlign kernels (channels-last fast one, naive twin) on the same case. */
static void roi_align_both(const float *feat, int c, int h, int w, const float *boxes, int n, float scale,
                           int oh, int ow, int sr, float *out, float *out_naive) {
    float hwc[64];
    ct_roi_align_hwc(NULL, feat, c, h, w, hwc);
    ct_roi_align(NULL, hwc, c, h, w, boxes, n, scale, oh, ow, sr, out);
    ct_roi_align_naive(feat, c, h, w, boxes, n, scale, oh, ow, sr, out_naive);
}

static void test_roi_align_hostile(void) {
    float feat[2 * 3 * 4];
    for (int i = 0; i < 24; i++) feat[i] = (float)i;
    float boxes[] = {NAN, 0, 4, 3, 0, 0, INFINITY, 3, -1e30f, -1e30f, 1e30f, 1e30f, 1, 1, 2, 2};
    float out[4 * 2 * 7 * 7], ref[4 * 2 * 7 * 7];
    roi_align_both(feat, 2, 3, 4, boxes, 4, 1.0f, 7, 7, 0, out, ref);   /* adaptive grid, capped */
    int finite = 1;
    for (int i = 0; i < 4 * 2 * 49; i++) finite &= isfinite(out[i]) && out[i] == ref[i];
    CHECK(finite);
    /* A box covering one pixel centre of a constant map gives that constant. */
    float flat[9] = {3, 3, 3, 3, 3, 3, 3, 3, 3}, one[4] = {0.5f, 0.5f, 1.5f, 1.5f}, o[4], on[4];
    roi_align_both(flat, 1, 3, 3, one, 1, 1.0f, 2, 2, 2, o, on);
    CHECK(o[0] == 3 && o[1] == 3 && o[2] == 3 && o[3] == 3);
    CHECK(!memcmp(o, on, sizeof o));
    /* An empty map gives zeros, not a crash. */
    for (int i = 0; i < 4; i++) o[i] = on[i] = 7;
    roi_align_both(flat, 1, 0, 3, one, 1, 1.0f, 2, 2, 2, o, on);
    CHECK(o[0] == 0 && o[3] == 0 && on[0] == 0 && on[3] == 0);
}

static void test_paste_hostile(void) {
    float mask[4] = {1, 2, 3, 4}, canvas[6 * 5], scratch[16];
    CHECK(ct_paste_scratch_floats(2, mask, 6, 5) == 16);
    float boxes[][4] = {{NAN, 0, 3, 3}, {0, 0, INFINITY, 3}, {40, 40, 50, 50}, {-50, -50, -40, -40},
                        {3, 3, 1, 1}, {-1e30f, -1e30f, 1e30f, 1e30f}};
    for (size_t b = 0; b < sizeof boxes / sizeof *boxes; b++) {
        for (int i = 0; i < 30; i++) canvas[i] = 7.0f;   /* a marker: pixels not pasted keep it */
        ct_paste_mask(mask, 2, boxes[b], 6, 5, canvas, scratch);
        int ok = 1;
        for (int i = 0; i < 30; i++) ok &= b == 5 ? canvas[i] != 7.0f && !isnan(canvas[i]) : canvas[i] == 7.0f;
        CHECKF(ok, "box %zu", b);
    }
    /* A box inside the image writes its rectangle and nothing else. */
    float inner[4] = {1, 1, 2, 2};
    for (int i = 0; i < 30; i++) canvas[i] = 7.0f;
    ct_paste_mask(mask, 2, inner, 6, 5, canvas, scratch);
    int outside_kept = 1, inside_written = 1;
    for (int y = 0; y < 6; y++)
        for (int x = 0; x < 5; x++) {
            int in = x <= 2 && y <= 2;   /* [1,2] expanded by 30/28 about 1.5 and truncated: [0,2] */
            if (!in) outside_kept &= canvas[y * 5 + x] == 7.0f;
            if (x >= 1 && x <= 2 && y >= 1 && y <= 2) inside_written &= canvas[y * 5 + x] != 7.0f;
        }
    CHECK(outside_kept);
    CHECK(inside_written);
    /* A box over the whole (tiny) image pastes something non-zero inside it. */
    float whole[4] = {0, 0, 5, 6};
    for (int i = 0; i < 30; i++) canvas[i] = 0.0f;
    ct_paste_mask(mask, 2, whole, 6, 5, canvas, scratch);
    float sum = 0;
    for (int i = 0; i < 30; i++) sum += canvas[i];
    CHECK(sum > 0);
}

static void test_resize_identity_and_degenerate(void) {
    float src[6] = {1, 2, 3, 4, 5, 6}, dst[6];
    ct_resize_bilinear(src, 1, 2, 3, dst, 2, 3, 0, 0);
    CHECK(!memcmp(src, dst, sizeof src));   /* equal sizes copy exactly */
    float big[4 * 5];
    ct_resize_bilinear(src, 1, 1, 1, big, 4, 5, 0, 0);   /* one pixel spreads everywhere */
    int same = 1;
    for (int i = 0; i < 20; i++) same &= big[i] == 1.0f;
    CHECK(same);
    dst[0] = 9;
    ct_resize_bilinear(src, 1, 0, 3, dst, 2, 3, 0, 0);   /* empty source: nothing written */
    CHECK(dst[0] == 9);
}

static void test_pool_and_upsample_edges(void) {
    float x[4] = {-INFINITY, -5, -7, -6}, y[4];
    ct_maxpool2d(NULL, x, 1, 2, 2, 3, 2, 1, y);   /* one window covering all: -inf padding never wins */
    CHECK(y[0] == -5);
    float src[2] = {1, 2}, dst[3] = {0, 0, 0};
    ct_upsample_nearest_add(src, 1, 1, 2, dst, 1, 3);   /* 2 -> 3: indices 0, 0, 1 */
    CHECK(dst[0] == 1 && dst[1] == 1 && dst[2] == 2);
    ct_upsample_nearest_add(src, 1, 0, 2, dst, 1, 3);   /* empty source: unchanged */
    CHECK(dst[0] == 1);
}

int main(void) {
    RUN(test_topk_is_the_sorted_prefix);
    RUN(test_nms_order_and_ties);
    RUN(test_nms_vs_naive);
    RUN(test_nms_threshold_is_strict);
    RUN(test_nms_zero_area_never_suppressed);
    RUN(test_batched_nms_groups_separate);
    RUN(test_batched_nms_many_groups_vs_naive);
    RUN(test_decode_and_clip_edges);
    RUN(test_roi_align_hostile);
    RUN(test_paste_hostile);
    RUN(test_resize_identity_and_degenerate);
    RUN(test_pool_and_upsample_edges);
    return TEST_SUMMARY();
}

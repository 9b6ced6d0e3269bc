/* Box branch and detection post-processing, in the authors' order: decode,
 * softmax, clip, drop background, area > 0, score > thr, batched NMS, top D. */
#include "net/roi_heads.h"

#include <math.h>
#include <string.h>

#include "boxes.h"
#include "roi_align.h"
#include "roi_panels.h"
#include "util/error.h"

#define BOX_BBOX_CLIP 4.135166556742356f   /* log(1000/16) */
#define ROI_SAMPLING_RATIO 2

static const float BOX_WEIGHTS[4] = {10.0f, 10.0f, 5.0f, 5.0f};

/* 2**round(log2(feature size / image size)), as MultiScaleRoIAlign infers it
 * (torch.round in float32 on the height ratio). */
static float infer_scale(int feat, int image) {
    float approx = (float)((double)feat / (double)image);
    return (float)pow(2.0, (double)rintf(log2f(approx)));
}

ct_status ct_roi_features(ct_session *s, const ct_fmap levels[CT_MAX_LEVELS], ct_fmap hwc[CT_MAX_LEVELS],
                          ct_error *err) {
    for (int l = 0; l < s->model->net.num_levels; l++) {
        const ct_fmap *f = &levels[l];
        hwc[l] = *f;
        if (!(hwc[l].data = ct_arena_floats(&s->arena, (size_t)f->c * f->h * f->w)))
            return ct_fail(err, CT_E_NOMEM, "out of memory for the RoI features");
        ct_roi_align_hwc(s->pool, f->data, f->c, f->h, f->w, hwc[l].data);
    }
    return CT_OK;
}

/* Where RoIs of one run are pooled from: the levels channels-last and the
 * scale of each. */
typedef struct {
    const ct_fmap *hwc;
    int num_levels;
    float scale[CT_MAX_LEVELS];
    float k_min, k_max;     /* LevelMapper's level range */
    int size;               /* bins per side */
} roi_levels;

static roi_levels levels_of(const ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS], int size) {
    roi_levels L = {hwc, s->model->net.num_levels, {0}, 0, 0, size};
    for (int l = 0; l < L.num_levels; l++) L.scale[l] = infer_scale(hwc[l].h, in->h);
    L.k_min = -log2f(L.scale[0]);
    L.k_max = -log2f(L.scale[L.num_levels - 1]);
    return L;
}

/* The RoI of box b on its level: the only one, or LevelMapper's (canonical
 * size 224 at level 4; eps inside the log2 as in the torchvision 0.3/0.4
 * the authors used). */
static void prepare_roi(const roi_levels *L, const float b[4], ct_roi *roi) {
    int l = 0;
    if (L->num_levels > 1) {
        float area = (b[2] - b[0]) * (b[3] - b[1]);
        float lvl = floorf(4.0f + log2f(sqrtf(area) / 224.0f + 1e-6f));
        l = (int)fminf(fmaxf(lvl, L->k_min), L->k_max) - (int)L->k_min;
    }
    const ct_fmap *f = &L->hwc[l];
    ct_roi_prepare(f->data, f->c, f->h, f->w, b, L->scale[l], L->size, L->size, ROI_SAMPLING_RATIO, roi);
}

typedef struct {
    roi_levels levels;
    const float *boxes;     /* [n,4] */
    float *out;             /* [n, c, size, size] */
} roi_pool_job;

static void roi_pool_task(void *arg, int i, int thread) {
    (void)thread;
    const roi_pool_job *j = arg;
    ct_roi roi;
    prepare_roi(&j->levels, j->boxes + 4 * (size_t)i, &roi);
    ct_roi_align_one(&roi, j->out + (size_t)i * roi.c * j->levels.size * j->levels.size);
}

void ct_roi_pool(const ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                 const float *boxes, int n, int size, float *out) {
    roi_pool_job j = {levels_of(s, in, hwc, size), boxes, out};
    ct_pool_run(s->pool, n, roi_pool_task, &j);
}

/* fc6/fc7 over all RoIs, then the merged predictor: logits [P,n_c], deltas
 * [P,4n_c]. The layers run transposed, features [R, P]. fc6 pools its input
 * itself (ct_roi_panels: its weights are packed bin-major to match), so the
 * pooled features never exist whole; a trace hook sees them computed apart. */
static ct_status box_head(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                          const ct_proposals *props, float *logits, float *regression, ct_error *err) {
    const ct_network *net = &s->model->net;
    int P = props->count, R = net->fc6.out, C = (int)net->cfg.num_classes, F = net->fc6.in;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    ct_roi *rois = ct_arena_alloc(&s->arena, (size_t)P * sizeof *rois + 1);              /* [P] */
    float *h6 = ct_arena_floats(&s->arena, (size_t)R * P + 1);                           /* [R,P] */
    float *h7 = ct_arena_floats(&s->arena, (size_t)R * P + 1);                           /* [R,P] */
    float *pred = ct_arena_floats(&s->arena, (size_t)net->predictor.out * P + 1);        /* [5 n_c, P] */
    float *pooled = s->trace ? ct_arena_floats(&s->arena, (size_t)P * F + 1) : NULL;     /* [P,F] */
    if (!rois || !h6 || !h7 || !pred || (s->trace && !pooled))
        return ct_fail(err, CT_E_NOMEM, "out of memory in the box head");
    if (pooled) {
        ct_roi_pool(s, in, hwc, props->boxes, P, CT_BOX_POOL_SIZE, pooled);
        ct_trace(s, "box_roi_pool", pooled, 2, P, F);
    }
    roi_levels levels = levels_of(s, in, hwc, CT_BOX_POOL_SIZE);
    for (int p = 0; p < P; p++) prepare_roi(&levels, props->boxes + 4 * (size_t)p, &rois[p]);
    s->flops += 2.0 * P * F * (double)R;
    ct_epilogue ep = {.bias_m = net->fc6.bias, .relu = 1};
    ct_gemm_b pooled_b = ct_roi_panels(rois, P);
    ct_gemm_run(s->gemm, R, P, F, net->fc6.packed, &pooled_b, h6, P, &ep);
    ct_linear_run(s, &net->fc7, h6, P, 1, P, 1, h7, P);
    ct_linear_run(s, &net->predictor, h7, P, 1, P, 0, pred, P);
    for (int p = 0; p < P; p++) {
        for (int c = 0; c < C; c++) logits[(size_t)p * C + c] = pred[(size_t)c * P + p];
        for (int k = 0; k < 4 * C; k++) regression[(size_t)p * 4 * C + k] = pred[(size_t)(C + k) * P + p];
    }
    ct_arena_release(&s->arena, mark);
    ct_trace(s, "box_class_logits", logits, 2, P, C);
    ct_trace(s, "box_regression", regression, 2, P, 4 * C);
    return CT_OK;
}

/* softmax over one row of n logits: exp(x - max) * (1 / sum), as ATen. */
static void softmax_row(const float *x, int n, float *y) {
    float m = x[0];
    for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += (y[i] = expf(x[i] - m));
    float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) y[i] *= inv;
}

ct_status ct_box_branch(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                        const ct_proposals *props, ct_detections *out, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    int P = props->count, C = (int)net->cfg.num_classes, n = P * (C - 1);
    int D = s->opt.detections;

    int cap = n < D ? n : D;
    out->boxes = ct_arena_floats(arena, (size_t)cap * 4 + 1);
    out->scores = ct_arena_floats(arena, (size_t)cap + 1);
    out->labels = (int *)ct_arena_floats(arena, (size_t)cap + 1);
    out->deltas = ct_arena_floats(arena, (size_t)cap * 4 + 1);
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *logits = ct_arena_floats(arena, (size_t)P * C + 1);          /* [P,C] */
    float *regression = ct_arena_floats(arena, (size_t)P * C * 4 + 1);  /* [P,C*4] */
    float *prob = ct_arena_floats(arena, (size_t)C);                    /* [C] */
    float *boxes = ct_arena_floats(arena, (size_t)n * 4 + 1);          /* [n,4] candidates */
    float *scores = ct_arena_floats(arena, (size_t)n + 1);
    int *labels = (int *)ct_arena_floats(arena, (size_t)n + 1);
    int *source = (int *)ct_arena_floats(arena, (size_t)n + 1);        /* candidate -> p*C + c */
    int *keep = (int *)ct_arena_floats(arena, (size_t)n + 1);
    if (!out->boxes || !out->scores || !out->labels || !out->deltas || !logits || !regression ||
        !prob || !boxes || !scores || !labels || !source || !keep)
        return ct_fail(err, CT_E_NOMEM, "out of memory in the box branch");
    ct_status st = box_head(s, in, hwc, props, logits, regression, err);
    if (st != CT_OK) return st;

    /* Candidates, proposal-major then class, background dropped; keep area > 0
     * first, then score > threshold (compared in float32). */
    float thresh = (float)s->opt.score_thresh;
    int m = 0;
    for (int p = 0; p < P; p++) {
        softmax_row(logits + (size_t)p * C, C, prob);
        for (int c = 1; c < C; c++) {
            float *b = boxes + 4 * (size_t)m;
            ct_box_decode(props->boxes + 4 * (size_t)p, regression + ((size_t)p * C + c) * 4, 4, 1,
                          BOX_WEIGHTS, BOX_BBOX_CLIP, b);
            ct_box_clip(b, 1, (float)in->w, (float)in->h);
            float area = (b[2] - b[0]) * (b[3] - b[1]);
            if (!(area > 0.0f) || !(prob[c] > thresh)) continue;
            scores[m] = prob[c];
            labels[m] = c;
            source[m] = p * C + c;
            m++;
        }
    }
    void *scratch = ct_arena_alloc(arena, ct_batched_nms_scratch_bytes(m));
    if (!scratch) return ct_fail(err, CT_E_NOMEM, "out of memory in the box branch");
    int k = ct_batched_nms(boxes, scores, labels, m, s->opt.nms_thresh, keep, scratch, s->pool);
    if (k > D) k = D;
    for (int i = 0; i < k; i++) {
        int j = keep[i];
        memcpy(out->boxes + 4 * i, boxes + 4 * j, 4 * sizeof(float));
        out->scores[i] = scores[j];
        out->labels[i] = labels[j];
        memcpy(out->deltas + 4 * i, regression + (size_t)source[j] * 4, 4 * sizeof(float));
    }
    out->count = k;
    ct_arena_release(arena, mark);
    ct_trace(s, "det_boxes", out->boxes, 2, k, 4);
    ct_trace(s, "det_scores", out->scores, 1, k);
    return CT_OK;
}

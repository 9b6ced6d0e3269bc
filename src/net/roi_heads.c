/* Box branch and detection post-processing, in the authors' order: decode,
 * softmax, clip, drop background, area > 0, score > thr, batched NMS, top D. */
#include "net/roi_heads.h"

#include <math.h>
#include <string.h>

#include "boxes.h"
#include "roi_align.h"
#include "util/error.h"

#define BOX_BBOX_CLIP 4.135166556742356f   /* log(1000/16) */
#define ROI_SAMPLING_RATIO 2
/* RoIs pooled per fc6 GEMM: 240 x 12544 floats (12 MB) at the authors' widths. */
#define BOX_ROI_CHUNK 240

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
        ct_roi_align_hwc(f->data, f->c, f->h, f->w, hwc[l].data);
    }
    return CT_OK;
}

/* Several levels: each RoI is a task that pools from its own level. */
typedef struct {
    const ct_fmap *hwc;
    const float *scale;         /* [levels] */
    float k_min, k_max;
    const float *boxes;
    int size;
    float *out;
} level_pool_job;

/* LevelMapper (canonical size 224 at level 4; eps inside the log2 as in
 * the torchvision 0.3/0.4 the authors used). */
static void level_pool_roi(void *arg, int i, int thread) {
    (void)thread;
    const level_pool_job *j = arg;
    const float *b = j->boxes + 4 * i;
    float area = (b[2] - b[0]) * (b[3] - b[1]);
    float lvl = floorf(4.0f + log2f(sqrtf(area) / 224.0f + 1e-6f));
    lvl = fminf(fmaxf(lvl, j->k_min), j->k_max);
    int l = (int)lvl - (int)j->k_min;
    const ct_fmap *f = &j->hwc[l];
    ct_roi_align(NULL, f->data, f->c, f->h, f->w, b, 1, j->scale[l], j->size, j->size, ROI_SAMPLING_RATIO,
                 j->out + (size_t)i * f->c * j->size * j->size);
}

void ct_roi_pool(const ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                 const float *boxes, int n, int size, float *out) {
    int num_levels = s->model->net.num_levels;
    if (num_levels == 1) {
        const ct_fmap *f = &hwc[0];
        ct_roi_align(s->pool, f->data, f->c, f->h, f->w, boxes, n, infer_scale(f->h, in->h), size, size,
                     ROI_SAMPLING_RATIO, out);
        return;
    }
    float scale[CT_MAX_LEVELS];
    for (int l = 0; l < num_levels; l++) scale[l] = infer_scale(hwc[l].h, in->h);
    level_pool_job j = {hwc, scale, -log2f(scale[0]), -log2f(scale[num_levels - 1]), boxes, size, out};
    ct_pool_run(s->pool, n, level_pool_roi, &j);
}

/* fc6/fc7 over all RoIs (RoIAlign and fc6 a chunk of RoIs at a time, so the
 * pooled features never exist for all of them at once), then the merged
 * predictor: logits [P,n_c], deltas [P,4n_c]. The layers run transposed,
 * features [R, P]. A trace hook sees the pooled features whole. */
static ct_status box_head(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                          const ct_proposals *props, float *logits, float *regression, ct_error *err) {
    const ct_network *net = &s->model->net;
    int P = props->count, R = net->fc6.out, C = (int)net->cfg.num_classes, F = net->fc6.in;
    int chunk = s->trace || P < BOX_ROI_CHUNK ? P : BOX_ROI_CHUNK;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    float *pooled = ct_arena_floats(&s->arena, (size_t)chunk * F + 1);             /* [chunk,F*7*7] */
    float *h6 = ct_arena_floats(&s->arena, (size_t)R * P + 1);                     /* [R,P] */
    float *h7 = ct_arena_floats(&s->arena, (size_t)R * P + 1);                     /* [R,P] */
    float *pred = ct_arena_floats(&s->arena, (size_t)net->predictor.out * P + 1);  /* [5 n_c, P] */
    if (!pooled || !h6 || !h7 || !pred) return ct_fail(err, CT_E_NOMEM, "out of memory in the box head");
    for (int r0 = 0; r0 < P; r0 += chunk) {
        int n = P - r0 < chunk ? P - r0 : chunk;
        ct_roi_pool(s, in, hwc, props->boxes + 4 * (size_t)r0, n, 7, pooled);
        if (s->trace) ct_trace(s, "box_roi_pool", pooled, 2, P, F);
        ct_linear_run(s, &net->fc6, pooled, 1, F, n, 1, h6 + r0, P);
    }
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
    int k = ct_batched_nms(boxes, scores, labels, m, s->opt.nms_thresh, keep, scratch);
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

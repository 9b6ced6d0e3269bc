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

static const float BOX_WEIGHTS[4] = {10.0f, 10.0f, 5.0f, 5.0f};

/* 2**round(log2(feature size / image size)), as MultiScaleRoIAlign infers it
 * (torch.round in float32 on the height ratio). */
static float infer_scale(int feat, int image) {
    float approx = (float)((double)feat / (double)image);
    return (float)pow(2.0, (double)rintf(log2f(approx)));
}

void ct_roi_pool(const ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                 const float *boxes, int n, int size, float *out) {
    int num_levels = s->model->net.num_levels;
    if (num_levels == 1) {
        const ct_fmap *f = &levels[0];
        ct_roi_align(f->data, f->c, f->h, f->w, boxes, n, infer_scale(f->h, in->h), size, size,
                     ROI_SAMPLING_RATIO, out);
        return;
    }
    /* LevelMapper (canonical size 224 at level 4; eps inside the log2 as in
     * the torchvision 0.3/0.4 the authors used). */
    float scale[CT_MAX_LEVELS];
    for (int l = 0; l < num_levels; l++) scale[l] = infer_scale(levels[l].h, in->h);
    float k_min = -log2f(scale[0]), k_max = -log2f(scale[num_levels - 1]);
    size_t per_roi = (size_t)levels[0].c * size * size;
    for (int i = 0; i < n; i++) {
        const float *b = boxes + 4 * i;
        float area = (b[2] - b[0]) * (b[3] - b[1]);
        float lvl = floorf(4.0f + log2f(sqrtf(area) / 224.0f + 1e-6f));
        lvl = fminf(fmaxf(lvl, k_min), k_max);
        int l = (int)lvl - (int)k_min;
        const ct_fmap *f = &levels[l];
        ct_roi_align(f->data, f->c, f->h, f->w, b, 1, scale[l], size, size, ROI_SAMPLING_RATIO,
                     out + (size_t)i * per_roi);
    }
}

/* fc6/fc7 over all RoIs, then the predictor: logits [P,n_c], deltas [P,4n_c]. */
static ct_status box_head(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                          const ct_proposals *props, float *logits, float *regression, ct_error *err) {
    const ct_network *net = &s->model->net;
    int P = props->count, R = net->fc6.out;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    float *pooled = ct_arena_floats(&s->arena, (size_t)P * net->fc6.in);  /* [P,F*7*7] */
    float *h6 = ct_arena_floats(&s->arena, (size_t)P * R);                /* [P,R] */
    float *h7 = ct_arena_floats(&s->arena, (size_t)P * R);                /* [P,R] */
    if (!pooled || !h6 || !h7) return ct_fail(err, CT_E_NOMEM, "out of memory in the box head");
    ct_roi_pool(s, in, levels, props->boxes, P, 7, pooled);
    ct_trace(s, "box_roi_pool", pooled, 2, P, net->fc6.in);
    ct_linear_run(s, &net->fc6, pooled, P, 1, h6);
    ct_linear_run(s, &net->fc7, h6, P, 1, h7);
    ct_linear_run(s, &net->cls_score, h7, P, 0, logits);
    ct_linear_run(s, &net->bbox_pred, h7, P, 0, regression);
    ct_arena_release(&s->arena, mark);
    ct_trace(s, "box_class_logits", logits, 2, P, net->cls_score.out);
    ct_trace(s, "box_regression", regression, 2, P, net->bbox_pred.out);
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

ct_status ct_box_branch(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
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
    ct_status st = box_head(s, in, levels, props, logits, regression, err);
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

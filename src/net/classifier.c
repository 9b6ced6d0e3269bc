/* Ranked rows [score, dx, dy, dw, dh] in NMS order -> S: Linear, ReLU,
 * Linear, ReLU, Linear -> 3 logits. */
#include "net/classifier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/mt19937.h"

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void ct_replicate_rows(int K, int D, uint32_t seed, int *index, int *scratch) {
    if (K >= D) {
        for (int i = 0; i < D; i++) index[i] = i;
        return;
    }
    /* b = unique(cat([0], sort(randperm(D-2)[:K-1]) + 1, [D])): K+1 boundaries. */
    ct_mt19937 mt;
    ct_mt19937_seed(&mt, seed);
    int *perm = scratch;  /* [D-2] */
    ct_randperm(&mt, D - 2, perm);
    qsort(perm, (size_t)(K - 1), sizeof *perm, cmp_int);
    int start = 0;
    for (int i = 0; i < K; i++) {
        int end = i + 1 < K ? perm[i] + 1 : D;
        for (int j = start; j < end; j++) index[j] = i;
        start = end;
    }
}

ct_status ct_classify(ct_session *s, const ct_detections *dets, ct_result *res, ct_error *err) {
    const ct_network *net = &s->model->net;
    int D = s->opt.detections, K = dets->count;
    if (K < 1)
        return ct_fail(err, CT_E_NO_SURVIVORS,
                       "no detection survived to rank for the classifier (K = 0)");
    if (5 * D != net->s_fc1.in)
        return ct_fail(err, CT_E_ARG, "the classifier ranks exactly %d rows (its S module takes %d inputs), not %d",
                       net->s_fc1.in / 5, net->s_fc1.in, D);
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    int *index = (int *)ct_arena_floats(&s->arena, (size_t)D);
    int *scratch = (int *)ct_arena_floats(&s->arena, (size_t)D);
    float *rows = ct_arena_floats(&s->arena, (size_t)D * 5);  /* [D,5] */
    float *h1 = ct_arena_floats(&s->arena, (size_t)net->s_fc1.out);
    float *h2 = ct_arena_floats(&s->arena, (size_t)net->s_fc2.out);
    res->rois = calloc((size_t)D, sizeof *res->rois);
    if (!index || !scratch || !rows || !h1 || !h2 || !res->rois)
        return ct_fail(err, CT_E_NOMEM, "out of memory in the classifier");
    ct_replicate_rows(K, D, s->opt.seed, index, scratch);
    for (int i = 0; i < D; i++) {
        int j = index[i];
        float *row = rows + 5 * i;
        row[0] = dets->scores[j];
        memcpy(row + 1, dets->deltas + 4 * j, 4 * sizeof(float));
        ct_ranked_roi *roi = &res->rois[i];
        roi->score = row[0];
        memcpy(roi->deltas, row + 1, sizeof roi->deltas);
        memcpy(roi->box, dets->boxes + 4 * j, sizeof roi->box);
        roi->label = dets->labels[j];
        roi->index = j;
    }
    res->num_rois = D;
    res->num_survivors = K;
    ct_trace(s, "ranked_rows", rows, 2, D, 5);

    /* One column vector each: x [5D] -> h1 [512] -> h2 [512] -> logits [3]. */
    ct_linear_run(s, &net->s_fc1, rows, 1, 1, 1, 1, h1, 1);
    ct_linear_run(s, &net->s_fc2, h1, 1, 1, 1, 1, h2, 1);
    ct_linear_run(s, &net->s_fc3, h2, 1, 1, 1, 0, res->logits, 1);
    ct_trace(s, "logits", res->logits, 1, 3);

    float m = fmaxf(res->logits[0], fmaxf(res->logits[1], res->logits[2])), sum = 0.0f;
    for (int c = 0; c < 3; c++) sum += (res->probabilities[c] = expf(res->logits[c] - m));
    res->class_index = 0;
    for (int c = 0; c < 3; c++) {
        res->probabilities[c] /= sum;
        res->sigmoid[c] = 1.0f / (1.0f + expf(-res->logits[c]));
        if (res->logits[c] > res->logits[res->class_index]) res->class_index = c;
    }
    ct_arena_release(&s->arena, mark);
    return CT_OK;
}

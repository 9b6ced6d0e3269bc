/* RPN proposals: objectness stays a raw logit (no sigmoid, no score
 * threshold) and min_size is 0, as in the authors' code. */
#include "net/rpn.h"

#include <math.h>
#include <string.h>

#include "boxes.h"
#include "net/anchors.h"
#include "sort.h"
#include "util/error.h"

#define RPN_BBOX_CLIP 4.135166556742356f   /* log(1000/16) */

static const float RPN_WEIGHTS[4] = {1.0f, 1.0f, 1.0f, 1.0f};

/* Every level's head outputs and anchors, concatenated in level order, each
 * level flattened in anchor order (location-major, then anchor). */
typedef struct {
    int total;
    int offset[CT_MAX_LEVELS + 1];   /* level l holds [offset[l], offset[l+1]) */
    float *objectness;               /* [total] */
    float *deltas;                   /* [total,4] */
    float *anchors;                  /* [total,4] */
} rpn_outputs;

/* Level outputs [A,H,W] objectness and [A*4,H,W] deltas, flattened to
 * anchor order from `first` on, FLATTEN_PIXELS locations per task. */
typedef struct {
    const float *obj, *reg;
    int A, HW, first;
    rpn_outputs *o;
} flatten_job;

enum { FLATTEN_PIXELS = 2048 };

static void flatten_task(void *arg, int task, int thread) {
    (void)thread;
    const flatten_job *j = arg;
    for (int p = task * FLATTEN_PIXELS, p1 = ct_block_end(task, FLATTEN_PIXELS, j->HW); p < p1; p++)
        for (int a = 0; a < j->A; a++) {
            size_t i = (size_t)j->first + (size_t)p * j->A + a;
            j->o->objectness[i] = j->obj[(size_t)a * j->HW + p];
            for (int k = 0; k < 4; k++) j->o->deltas[i * 4 + k] = j->reg[((size_t)a * 4 + k) * j->HW + p];
        }
}

/* The head on one level, flattened: [A,H,W] -> [H,W,A] and [A*4,H,W] -> [H,W,A,4]. */
static ct_status run_head(ct_session *s, const ct_input *in, const ct_fmap *feat, const float *base,
                          rpn_outputs *o, int level, ct_error *err) {
    const ct_network *net = &s->model->net;
    int A = net->num_anchors, HW = feat->h * feat->w, first = o->offset[level];
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    ct_fmap t, out;   /* out: objectness [A,H,W], then deltas [A*4,H,W] */
    ct_status st;
    if ((st = ct_conv_layer_run(s, &net->rpn_conv, feat, NULL, 1, &t, err)) != CT_OK ||
        (st = ct_conv_layer_run(s, &net->rpn_out, &t, NULL, 0, &out, err)) != CT_OK)
        return st;
    flatten_job flat = {out.data, out.data + (size_t)A * HW, A, HW, first, o};
    ct_pool_run(s->pool, ct_blocks(HW, FLATTEN_PIXELS), flatten_task, &flat);
    /* stride = padded size / grid size (true division, as the repo). */
    ct_grid_anchors(base, A, feat->h, feat->w, (float)in->padded_h / (float)feat->h,
                    (float)in->padded_w / (float)feat->w, o->anchors + 4 * (size_t)first);
    ct_arena_release(&s->arena, mark);
    return CT_OK;
}

/* Each level's top pre_nms_top_n anchors by objectness (descending, ties
 * by index), decoded against their anchors: level l's go to [start[l],
 * start[l+1]) of the candidates, and it sorts in its own part of the
 * scratch arrays, so the levels run as independent tasks. */
typedef struct {
    const rpn_outputs *o;
    int top_n;
    const int *start;          /* [L+1] */
    float *boxes, *scores;     /* [cap,4], [cap] candidates */
    int *levels;               /* [cap] */
    int *order, *tmp;          /* [total] each: level l at o->offset[l] */
    float *values;             /* [total] */
} top_k_job;

static void level_top_k(void *arg, int level, int thread) {
    (void)thread;
    const top_k_job *j = arg;
    const rpn_outputs *o = j->o;
    int first = o->offset[level], n = o->offset[level + 1] - first, at = j->start[level];
    int *order = j->order + first;
    int k = ct_topk_desc(o->objectness + first, n, j->top_n, order, j->tmp + first, j->values + first);
    for (int i = 0; i < k; i++) {
        size_t a = (size_t)first + order[i];
        ct_box_decode(o->anchors + 4 * a, o->deltas + 4 * a, 4, 1, RPN_WEIGHTS, RPN_BBOX_CLIP,
                      j->boxes + 4 * (size_t)(at + i));
        j->scores[at + i] = o->objectness[a];
        j->levels[at + i] = level;
    }
}

/* clip_boxes_to_image, then remove_small_boxes(min_size=0): keeps w >= 0 and
 * h >= 0, i.e. drops only NaN boxes. Returns the count kept (compacted). */
static int clip_and_filter(const ct_input *in, float *boxes, float *scores, int *levels, int count) {
    ct_box_clip(boxes, count, (float)in->w, (float)in->h);
    int kept = 0;
    for (int i = 0; i < count; i++) {
        const float *b = boxes + 4 * i;
        if (!(b[2] - b[0] >= 0.0f && b[3] - b[1] >= 0.0f)) continue;
        memmove(boxes + 4 * kept, b, 4 * sizeof *b);
        scores[kept] = scores[i];
        levels[kept] = levels[i];
        kept++;
    }
    return kept;
}

ct_status ct_rpn(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                 ct_proposals *out, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    int A = net->num_anchors, L = net->num_levels, top_n = s->opt.rpn_pre_nms_top_n;
    rpn_outputs o = {0};
    int start[CT_MAX_LEVELS + 1] = {0};   /* level l's candidates: [start[l], start[l+1]) */
    for (int l = 0; l < L; l++) {
        int n = levels[l].h * levels[l].w * A;
        o.offset[l + 1] = o.offset[l] + n;
        start[l + 1] = start[l] + (n < top_n ? n : top_n);
    }
    o.total = o.offset[L];
    int cap = start[L];
    float base[4 * CTM_MAX_ANCHORS * CTM_MAX_ANCHORS];  /* [A,4] */
    ct_base_anchors(&net->cfg, base);

    /* The final proposals first; everything after the mark is temporary. */
    out->boxes = ct_arena_floats(arena, (size_t)cap * 4 + 1);
    ct_arena_mark mark = ct_arena_get_mark(arena);
    o.objectness = ct_arena_floats(arena, (size_t)o.total);
    o.deltas = ct_arena_floats(arena, (size_t)o.total * 4);
    o.anchors = ct_arena_floats(arena, (size_t)o.total * 4);
    float *boxes = ct_arena_floats(arena, (size_t)cap * 4 + 1);  /* [cap,4] candidates */
    float *scores = ct_arena_floats(arena, (size_t)cap + 1);
    int *lvl = (int *)ct_arena_floats(arena, (size_t)cap + 1);
    int *keep = (int *)ct_arena_floats(arena, (size_t)cap + 1);
    int *order = (int *)ct_arena_floats(arena, (size_t)o.total);
    int *tmp = (int *)ct_arena_floats(arena, (size_t)o.total);
    float *values = ct_arena_floats(arena, (size_t)o.total);
    if (!out->boxes || !o.objectness || !o.deltas || !o.anchors || !boxes || !scores || !lvl || !keep ||
        !order || !tmp || !values)
        return ct_fail(err, CT_E_NOMEM, "out of memory in the RPN");
    ct_status st;
    for (int l = 0; l < L; l++)
        if ((st = run_head(s, in, &levels[l], base, &o, l, err)) != CT_OK) return st;
    ct_trace(s, "rpn_objectness", o.objectness, 1, o.total);
    ct_trace(s, "rpn_deltas", o.deltas, 2, o.total, 4);
    ct_trace(s, "anchors", o.anchors, 2, o.total, 4);

    top_k_job top_k = {&o, top_n, start, boxes, scores, lvl, order, tmp, values};
    ct_pool_run(s->pool, L, level_top_k, &top_k);
    int count = clip_and_filter(in, boxes, scores, lvl, cap);
    void *scratch = ct_arena_alloc(arena, ct_batched_nms_scratch_bytes(count));
    if (!scratch) return ct_fail(err, CT_E_NOMEM, "out of memory in the RPN");
    int nk = ct_batched_nms(boxes, scores, lvl, count, s->opt.rpn_nms_thresh, keep, scratch, s->pool);
    if (nk > s->opt.rpn_post_nms_top_n) nk = s->opt.rpn_post_nms_top_n;
    float *proposal_scores = scores;  /* reordered in place below: keep[] is increasing-free, so copy first */
    for (int i = 0; i < nk; i++) memcpy(out->boxes + 4 * i, boxes + 4 * keep[i], 4 * sizeof(float));
    out->count = nk;
    ct_trace(s, "proposals", out->boxes, 2, nk, 4);
    if (s->trace) {
        for (int i = 0; i < nk; i++) tmp[i] = keep[i];
        for (int i = 0; i < nk; i++) ((float *)order)[i] = proposal_scores[tmp[i]];
        ct_trace(s, "proposal_scores", (float *)order, 1, nk);
    }
    ct_arena_release(arena, mark);
    return CT_OK;
}

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

/* One level's candidates, appended at *count: the top pre_nms_top_n anchors
 * by objectness, decoded against their anchors. */
static ct_status level_candidates(ct_session *s, const ct_input *in, const ct_fmap *feat, int level,
                                  const float *base, float *boxes, float *scores, int *levels,
                                  int *count, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    int A = net->num_anchors, HW = feat->h * feat->w, n = HW * A;
    ct_arena_mark mark = ct_arena_get_mark(arena);
    ct_fmap t, obj, reg;
    ct_status st;
    if ((st = ct_conv_layer_run(s, &net->rpn_conv, feat, NULL, 1, &t, err)) != CT_OK ||
        (st = ct_conv_layer_run(s, &net->rpn_cls, &t, NULL, 0, &obj, err)) != CT_OK ||
        (st = ct_conv_layer_run(s, &net->rpn_bbox, &t, NULL, 0, &reg, err)) != CT_OK)
        return st;

    /* Flatten [A,H,W] -> [H,W,A] and [A*4,H,W] -> [H,W,A,4]: the anchor order. */
    float *objectness = ct_arena_floats(arena, (size_t)n);   /* [n] */
    float *deltas = ct_arena_floats(arena, (size_t)n * 4);   /* [n,4] */
    float *anchors = ct_arena_floats(arena, (size_t)n * 4);  /* [n,4] */
    int *order = (int *)ct_arena_floats(arena, (size_t)n);
    int *tmp = (int *)ct_arena_floats(arena, (size_t)n);
    if (!objectness || !deltas || !anchors || !order || !tmp)
        return ct_fail(err, CT_E_NOMEM, "out of memory in the RPN");
    for (int p = 0; p < HW; p++)
        for (int a = 0; a < A; a++) {
            objectness[p * A + a] = obj.data[(size_t)a * HW + p];
            for (int k = 0; k < 4; k++) deltas[((size_t)p * A + a) * 4 + k] = reg.data[((size_t)a * 4 + k) * HW + p];
        }
    /* stride = padded size / grid size (true division, as the repo). */
    float stride_h = (float)in->padded_h / (float)feat->h, stride_w = (float)in->padded_w / (float)feat->w;
    ct_grid_anchors(base, A, feat->h, feat->w, stride_h, stride_w, anchors);
    if (level == 0) {
        ct_trace(s, "rpn_objectness", objectness, 1, n);
        ct_trace(s, "rpn_deltas", deltas, 2, n, 4);
        ct_trace(s, "anchors", anchors, 2, n, 4);
    }

    int k = n < s->opt.rpn_pre_nms_top_n ? n : s->opt.rpn_pre_nms_top_n;
    ct_argsort_desc(objectness, n, order, tmp);
    for (int i = 0; i < k; i++) {
        int a = order[i];
        ct_box_decode(anchors + 4 * (size_t)a, deltas + 4 * (size_t)a, 4, 1, RPN_WEIGHTS, RPN_BBOX_CLIP,
                      boxes + 4 * (size_t)(*count + i));
        scores[*count + i] = objectness[a];
        levels[*count + i] = level;
    }
    *count += k;
    ct_arena_release(arena, mark);
    return CT_OK;
}

ct_status ct_rpn(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                 ct_proposals *out, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_arena *arena = &s->arena;
    int A = net->num_anchors, cap = 0;
    for (int l = 0; l < net->num_levels; l++) {
        int n = levels[l].h * levels[l].w * A;
        cap += n < s->opt.rpn_pre_nms_top_n ? n : s->opt.rpn_pre_nms_top_n;
    }
    float base[4 * CTM_MAX_ANCHORS * CTM_MAX_ANCHORS];  /* [A,4] */
    ct_base_anchors(&net->cfg, base);

    /* Candidates live above the final proposals, which are allocated first. */
    out->boxes = ct_arena_floats(arena, (size_t)cap * 4);
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *boxes = ct_arena_floats(arena, (size_t)cap * 4);  /* [cap,4] */
    float *scores = ct_arena_floats(arena, (size_t)cap);
    int *lvl = (int *)ct_arena_floats(arena, (size_t)cap);
    int *keep = (int *)ct_arena_floats(arena, (size_t)cap);
    if (!out->boxes || !boxes || !scores || !lvl || !keep)
        return ct_fail(err, CT_E_NOMEM, "out of memory in the RPN");
    int count = 0;
    ct_status st;
    for (int l = 0; l < net->num_levels; l++)
        if ((st = level_candidates(s, in, &levels[l], l, base, boxes, scores, lvl, &count, err)) != CT_OK)
            return st;

    /* Clip to the unpadded resized image, then remove_small_boxes(min_size=0):
     * keeps w >= 0 and h >= 0 (drops only NaN boxes). */
    ct_box_clip(boxes, count, (float)in->w, (float)in->h);
    int kept = 0;
    for (int i = 0; i < count; i++) {
        const float *b = boxes + 4 * i;
        if (b[2] - b[0] >= 0.0f && b[3] - b[1] >= 0.0f) {
            memmove(boxes + 4 * kept, b, 4 * sizeof *b);
            scores[kept] = scores[i];
            lvl[kept] = lvl[i];
            kept++;
        }
    }
    void *scratch = ct_arena_alloc(arena, ct_batched_nms_scratch_bytes(kept));
    if (!scratch) return ct_fail(err, CT_E_NOMEM, "out of memory in the RPN");
    int nk = ct_batched_nms(boxes, scores, lvl, kept, s->opt.rpn_nms_thresh, keep, scratch);
    if (nk > s->opt.rpn_post_nms_top_n) nk = s->opt.rpn_post_nms_top_n;
    for (int i = 0; i < nk; i++) memcpy(out->boxes + 4 * i, boxes + 4 * keep[i], 4 * sizeof(float));
    out->count = nk;
    ct_arena_release(arena, mark);
    ct_trace(s, "proposals", out->boxes, 2, nk, 4);
    return CT_OK;
}

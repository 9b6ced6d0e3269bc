/* Mask logits for the final detections, and their paste into the image. */
#include "net/mask_head.h"

#include <string.h>

#include "conv.h"
#include "resize.h"
#include "util/error.h"

#define MASK_POOL_SIZE 14

/* One detection's mask head: [F,14,14] -> [n_c,28,28]. */
static ct_status mask_one(ct_session *s, const float *pooled, int F, float *logits, ct_error *err) {
    const ct_network *net = &s->model->net;
    ct_fmap x = {F, MASK_POOL_SIZE, MASK_POOL_SIZE, (float *)pooled};
    ct_status st;
    for (int i = 0; i < net->num_mask_convs; i++) {
        ct_fmap y;
        if ((st = ct_conv_layer_run(s, &net->mask_conv[i], &x, NULL, 1, &y, err)) != CT_OK)
            return st;
        x = y;
    }
    ct_fmap up = {net->deconv_cout, 2 * x.h, 2 * x.w, NULL};
    up.data = ct_arena_floats(&s->arena, (size_t)up.c * up.h * up.w);
    if (!up.data) return ct_fail(err, CT_E_NOMEM, "out of memory in the mask head");
    ct_deconv2x2(x.data, x.c, x.h, x.w, net->deconv_weight, net->deconv_bias, up.c, 1, up.data);
    s->flops += 2.0 * x.c * up.c * (double)up.h * up.w;
    ct_conv_params p = {up.c, up.h, up.w, net->mask_logits.cout, 1, 1, 1, 0};
    ct_conv2d(&p, up.data, net->mask_logits.weight, net->mask_logits.bias, NULL, 0, logits, NULL);
    s->flops += 2.0 * up.c * p.cout * (double)up.h * up.w;
    return CT_OK;
}

ct_status ct_mask_branch(ct_session *s, const ct_input *in, const ct_fmap levels[CT_MAX_LEVELS],
                         const ct_detections *dets, float *out, ct_error *err) {
    const ct_network *net = &s->model->net;
    int D = dets->count, F = levels[0].c, C = net->mask_logits.cout;
    size_t plane = (size_t)CT_MASK_SIZE * CT_MASK_SIZE;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    float *pooled = ct_arena_floats(&s->arena, (size_t)D * F * MASK_POOL_SIZE * MASK_POOL_SIZE + 1);
    float *logits = ct_arena_floats(&s->arena, (size_t)C * plane);  /* [n_c,28,28] */
    if (!pooled || !logits) return ct_fail(err, CT_E_NOMEM, "out of memory in the mask head");
    ct_roi_pool(s, in, levels, dets->boxes, D, MASK_POOL_SIZE, pooled);
    for (int i = 0; i < D; i++) {
        ct_arena_mark inner = ct_arena_get_mark(&s->arena);
        ct_status st = mask_one(s, pooled + (size_t)i * F * MASK_POOL_SIZE * MASK_POOL_SIZE, F, logits, err);
        if (st != CT_OK) return st;
        memcpy(out + i * plane, logits + (size_t)dets->labels[i] * plane, plane * sizeof(float));
        ct_arena_release(&s->arena, inner);
    }
    ct_arena_release(&s->arena, mark);
    ct_trace(s, "mask_logits", out, 3, D, CT_MASK_SIZE, CT_MASK_SIZE);
    return CT_OK;
}

ct_status ct_paste_masks(ct_session *s, const float *masks, const float *boxes_orig, int count,
                         int H, int W, float *pasted, ct_error *err) {
    for (int i = 0; i < count; i++) {
        ct_arena_mark mark = ct_arena_get_mark(&s->arena);
        float *scratch = ct_arena_floats(&s->arena, ct_paste_scratch_floats(CT_MASK_SIZE, boxes_orig + 4 * i, H, W));
        if (!scratch) return ct_fail(err, CT_E_NOMEM, "out of memory pasting masks");
        ct_paste_mask(masks + (size_t)i * CT_MASK_SIZE * CT_MASK_SIZE, CT_MASK_SIZE, boxes_orig + 4 * i, H,
                      W, pasted + (size_t)i * H * W, scratch);
        ct_arena_release(&s->arena, mark);
    }
    return CT_OK;
}

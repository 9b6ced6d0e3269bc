/* Mask logits for the final detections, and their paste into the image.
 * The head runs over a chunk of detections at once: RoIAlign, each conv as
 * one GEMM over every detection's pixels ([C, n, 14, 14]), then the
 * transposed conv and the 1x1 logits of each detection's label (conv.h). */
#include "net/mask_head.h"

#include "conv.h"
#include "resize.h"
#include "util/error.h"

#define MASK_POOL_SIZE 14
/* Detections per pass: bounds the head's buffers (about 0.9 MB per
 * detection at the authors' widths) while every GEMM stays thousands of
 * columns wide. */
#define MASK_CHUNK 24

/* Chunk memory: the pooled features and the conv outputs (two, ping-pong
 * for the four-conv head). */
typedef struct {
    float *pooled;   /* [n, F, 14, 14] */
    float *conv[2];  /* [C_i, n, 14, 14] */
} mask_buffers;

static ct_status alloc_buffers(ct_session *s, int n, int F, mask_buffers *b, ct_error *err) {
    const ct_network *net = &s->model->net;
    size_t pix = (size_t)n * MASK_POOL_SIZE * MASK_POOL_SIZE, widest = 0;
    for (int i = 0; i < net->num_mask_convs; i++)
        if ((size_t)net->mask_conv[i].cout > widest) widest = (size_t)net->mask_conv[i].cout;
    b->pooled = ct_arena_floats(&s->arena, pix * F);
    b->conv[0] = ct_arena_floats(&s->arena, pix * widest);
    b->conv[1] = ct_arena_floats(&s->arena, pix * widest);
    if (!b->pooled || !b->conv[0] || !b->conv[1])
        return ct_fail(err, CT_E_NOMEM, "out of memory in the mask head");
    return CT_OK;
}

/* Detections [d0, d0+n): logits of their labels into out [n,28,28]. */
static void mask_chunk(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                       const ct_detections *dets, int d0, int n, const mask_buffers *b, float *out) {
    const ct_network *net = &s->model->net;
    int F = hwc[0].c, side = MASK_POOL_SIZE;
    ct_roi_pool(s, in, hwc, dets->boxes + 4 * (size_t)d0, n, side, b->pooled);
    const float *x = b->pooled;
    int c = F;
    /* The first conv reads n images [F,14,14]; later ones the previous [C,n,14,14]. */
    for (int i = 0; i < net->num_mask_convs; i++) {
        const ct_conv_layer *l = &net->mask_conv[i];
        ct_conv_params p = {c, side, side, l->cout, l->kh, l->kw, l->stride, l->pad, n, i > 0};
        float *y = b->conv[i % 2];
        ct_conv_layer_apply(s, l, &p, x, NULL, 1, y);
        x = y;
        c = l->cout;
    }
    ct_deconv_1x1(s->gemm, x, c, n, side, side, net->deconv_packed, net->deconv_cout, 1, net->mask_logits_weight,
                  net->mask_logits_bias, dets->labels + d0, out);
    s->flops += 2.0 * n * 4.0 * side * side * net->deconv_cout * ((double)c + 1.0);
}

ct_status ct_mask_branch(ct_session *s, const ct_input *in, const ct_fmap hwc[CT_MAX_LEVELS],
                         const ct_detections *dets, float *out, ct_error *err) {
    int D = dets->count, chunk = D < MASK_CHUNK ? D : MASK_CHUNK;
    ct_arena_mark mark = ct_arena_get_mark(&s->arena);
    mask_buffers b;
    ct_status st = alloc_buffers(s, chunk > 0 ? chunk : 1, hwc[0].c, &b, err);
    if (st != CT_OK) return st;
    for (int d0 = 0; d0 < D; d0 += chunk) {
        int n = D - d0 < chunk ? D - d0 : chunk;
        mask_chunk(s, in, hwc, dets, d0, n, &b, out + (size_t)d0 * CT_MASK_SIZE * CT_MASK_SIZE);
    }
    ct_arena_release(&s->arena, mark);
    ct_trace(s, "mask_logits", out, 3, D, CT_MASK_SIZE, CT_MASK_SIZE);
    return CT_OK;
}

typedef struct {
    const float *masks, *boxes;   /* [D,28,28], [D,4] */
    int H, W;
    float *pasted;                /* [D,H,W], zeroed */
} paste_job;

static void paste_one(void *arg, int i, int thread) {
    (void)thread;
    const paste_job *j = arg;
    float scratch[(CT_MASK_SIZE + 2) * (CT_MASK_SIZE + 2)];
    ct_paste_mask(j->masks + (size_t)i * CT_MASK_SIZE * CT_MASK_SIZE, CT_MASK_SIZE, j->boxes + 4 * i, j->H, j->W,
                  j->pasted + (size_t)i * j->H * j->W, scratch);
}

void ct_paste_masks(ct_session *s, const float *masks, const float *boxes_orig, int count, int H, int W,
                    float *pasted) {
    paste_job j = {masks, boxes_orig, H, W, pasted};
    ct_pool_run(s->pool, count, paste_one, &j);
}

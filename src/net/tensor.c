/* Layer helpers shared by the network stages. */
#include "net/tensor.h"

#include "conv.h"
#include "gemm.h"
#include "util/error.h"

ct_status ct_conv_layer_run(ct_session *s, const ct_conv_layer *layer, const ct_fmap *x,
                            const ct_fmap *residual, int relu, ct_fmap *y, ct_error *err) {
    ct_arena *arena = &s->arena;
    ct_conv_params p = {x->c, x->h, x->w, layer->cout, layer->kh, layer->kw, layer->stride, layer->pad};
    y->c = layer->cout;
    y->h = ct_conv_out_size(x->h, layer->kh, layer->stride, layer->pad);
    y->w = ct_conv_out_size(x->w, layer->kw, layer->stride, layer->pad);
    y->data = ct_arena_floats(arena, (size_t)y->c * y->h * y->w);
    ct_arena_mark mark = ct_arena_get_mark(arena);
    float *scratch = ct_arena_floats(arena, ct_conv2d_scratch_floats(&p));
    if (!y->data || !scratch)
        return ct_fail(err, CT_E_NOMEM, "out of memory for a %dx%dx%d feature map", y->c, y->h, y->w);
    ct_conv2d(&p, x->data, layer->weight, layer->bias, residual ? residual->data : NULL, relu,
              y->data, scratch);
    ct_arena_release(arena, mark);
    s->flops += 2.0 * y->c * y->h * y->w * (double)p.cin * p.kh * p.kw;
    return CT_OK;
}

void ct_linear_run(ct_session *s, const ct_linear_layer *layer, const float *x, int rows, int relu,
                   float *y) {
    s->flops += 2.0 * rows * layer->in * (double)layer->out;
    ct_epilogue ep = {.bias_n = layer->bias, .relu = relu};
    /* B(k,j) = W[j,k]: row stride 1, column stride in. */
    ct_gemm(rows, layer->out, layer->in, x, layer->in, 1, layer->weight, 1, layer->in,
            y, layer->out, &ep);
}
